/**
 * `rlog cluster`'s options, checked, and the ports checked free before any node is started: a
 * second `npm start` beside a running cluster says which ports are taken and starts nothing.
 */
import { resolve } from 'node:path';
import { isPortFree } from '../launcher/ports.js';
import { runCluster } from './cluster.js';

const MAX_SECONDARIES = 64;

export interface ClusterFlags {
  readonly secondaries: string;
  readonly basePort: string;
  readonly host: string;
  readonly dataDir: string;
  readonly inMemory?: boolean;
  /** False with --no-failover. */
  readonly failover: boolean;
  readonly fsync?: string;
  readonly heartbeatIntervalMs?: string;
  readonly logLevel?: string;
  readonly json?: boolean;
}

export async function cluster(flags: ClusterFlags): Promise<number> {
  const secondaries = Number(flags.secondaries);
  const basePort = Number(flags.basePort);
  if (!Number.isInteger(secondaries) || secondaries < 0 || secondaries > MAX_SECONDARIES) {
    process.stderr.write(
      `rlog cluster: --secondaries must be an integer from 0 to ${MAX_SECONDARIES}; got "${flags.secondaries}"\n`,
    );
    return 2;
  }
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + secondaries > 65535) {
    process.stderr.write(
      `rlog cluster: --base-port must leave room for ${secondaries + 1} ports; got "${flags.basePort}"\n`,
    );
    return 2;
  }
  const ports = Array.from({ length: secondaries + 1 }, (_, index) => basePort + index);
  const taken = await takenPorts(ports, flags.host);
  if (taken.length > 0) {
    process.stderr.write(`rlog cluster: ${takenText(taken, ports, flags.host)}\n`);
    return 1;
  }
  const env: Record<string, string> = {};
  const masterEnv: Record<string, string> = {};
  if (flags.heartbeatIntervalMs !== undefined)
    masterEnv['HEARTBEAT_INTERVAL_MS'] = flags.heartbeatIntervalMs;
  if (flags.logLevel !== undefined) env['LOG_LEVEL'] = flags.logLevel;
  if (flags.fsync !== undefined) env['FSYNC'] = flags.fsync;
  return runCluster({
    secondaries,
    basePort,
    host: flags.host,
    json: flags.json === true,
    env,
    masterEnv,
    dataDir: flags.inMemory === true ? undefined : resolve(flags.dataDir),
    failover: flags.failover,
  });
}

async function takenPorts(ports: readonly number[], host: string): Promise<number[]> {
  const free = await Promise.all(ports.map((port) => isPortFree(port, host)));
  return ports.filter((_, index) => free[index] !== true);
}

/** Which ports are taken, the likely reason, and the two fixes. */
export function takenText(
  taken: readonly number[],
  ports: readonly number[],
  host: string,
): string {
  const next = Math.max(...ports) + 1;
  const which = taken.length === 1 ? `port ${taken[0]} is` : `ports ${taken.join(', ')} are`;
  return (
    `${which} already taken on ${host}, so no node was started (is another rlog cluster running? ` +
    `"rlog health --master http://${host}:${ports[0]}" asks it). Stop what holds ${taken.length === 1 ? 'it' : 'them'} ` +
    `(Ctrl-C in the other cluster's terminal), or start this one elsewhere with --base-port ${next}`
  );
}
