/**
 * The Redis anchor: redis-server (Debian's) as 1 master and 2 replicas on loopback, in memory
 * (`--save '' --appendonly no`), each a child with its own temporary directory. A request is
 * `XADD bench * m <message>` then `WAIT <n> 0`, pipelined in one write on the client's own
 * connection; its answer is both replies. `WAIT 2` must answer 2 (both replicas have the entry),
 * else the request counts as an error.
 */
import { HOST } from '../bench-cluster.js';
import { makeTemporaryDir, removeTemporaryDir } from '../../launcher/temporary-dir.js';
import type { Connect } from '../load-generator.js';
import { RespConnection } from '../resp-connection.js';
import { encodeCommand, RespError, type RespValue } from '../resp.js';
import { AnchorProcess, findExecutable, waitReady } from './anchor-process.js';

export const REDIS_MISSING =
  'redis-server not found: apt-get install redis-server to add the Redis anchors';
const READY_TIMEOUT_MS = 15_000;
const PROBE_TIMEOUT_MS = 1000;

export interface RedisCluster {
  readonly port: number;
  readonly processes: readonly AnchorProcess[];
  stop(): Promise<void>;
}

/** The path of redis-server, or undefined when it is not installed. */
export function redisServerPath(): string | undefined {
  return findExecutable('redis-server');
}

function redisArgs(port: number, dir: string, masterPort?: number): string[] {
  return [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--logfile', '',
    '--daemonize', 'no',
    // The first full sync starts at once, not after the default 5 s wait for more replicas.
    '--repl-diskless-sync-delay', '0',
    ...(masterPort === undefined ? [] : ['--replicaof', HOST, String(masterPort)]),
  ]; // prettier-ignore
}

/**
 * Starts a master on `ports[0]` and replicas on `ports[1]` and `ports[2]`; resolves once both
 * replicas report `master_link_status:up`. Stops everything it started when it fails.
 */
export async function startRedis(
  executable: string,
  ports: readonly number[],
  signal: AbortSignal,
): Promise<RedisCluster> {
  const [masterPort, ...replicaPorts] = ports;
  if (masterPort === undefined || replicaPorts.length !== 2)
    throw new Error(`startRedis needs 3 ports (a master, 2 replicas); got ${ports.length}`);
  const dirs = ports.map(() => makeTemporaryDir('rlog-bench-redis-'));
  const processes = ports.map(
    (port, index) =>
      new AnchorProcess(
        index === 0 ? 'redis-master' : `redis-replica${index}`,
        executable,
        redisArgs(port, dirs[index]!, index === 0 ? undefined : masterPort),
      ),
  );
  const stop = async (): Promise<void> => {
    try {
      await Promise.all(processes.map((child) => child.stop()));
    } finally {
      for (const dir of dirs) removeTemporaryDir(dir);
    }
  };
  try {
    for (const child of processes) child.start();
    await waitReady(
      'the Redis replicas did not report master_link_status:up',
      processes,
      () => replicasUp(replicaPorts),
      READY_TIMEOUT_MS,
      signal,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port: masterPort, processes, stop };
}

async function replicasUp(ports: readonly number[]): Promise<string | true> {
  for (const port of ports) {
    const connection = new RespConnection(HOST, port, PROBE_TIMEOUT_MS);
    try {
      const [info] = await connection.request(encodeCommand(['INFO', 'replication']), 1);
      if (typeof info !== 'string')
        return `replica on ${port}: INFO answered ${JSON.stringify(info)}`;
      if (!info.includes('master_link_status:up'))
        return `replica on ${port}: ${/master_link_status:\w+/.exec(info)?.[0] ?? 'no link status'}`;
    } finally {
      connection.close();
    }
  }
  return true;
}

/**
 * Each client: its own connection; each request `XADD` + `WAIT <replicas> 0` in one write,
 * encoded once. A failure is an error reply, or `WAIT` acknowledging fewer replicas than asked.
 */
export function redisConnect(port: number, message: string, replicas: 0 | 2): Connect {
  const payload = Buffer.concat([
    encodeCommand(['XADD', 'bench', '*', 'm', message]),
    encodeCommand(['WAIT', String(replicas), '0']),
  ]);
  return (signal, requestTimeoutMs) => {
    const connection = new RespConnection(HOST, port, requestTimeoutMs);
    const onAbort = (): void => {
      connection.close();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return {
      send: async () => checkReplies(await connection.request(payload, 2), replicas),
      close: () => {
        signal.removeEventListener('abort', onAbort);
        connection.close();
        return Promise.resolve();
      },
    };
  };
}

function checkReplies(replies: readonly RespValue[], replicas: number): string | undefined {
  const [id, acknowledged] = replies;
  if (id instanceof RespError) return `XADD: ${id.message}`;
  if (typeof id !== 'string') return `XADD answered ${JSON.stringify(id)}, not an entry id`;
  if (acknowledged instanceof RespError) return `WAIT: ${acknowledged.message}`;
  if (typeof acknowledged !== 'number') return `WAIT answered ${JSON.stringify(acknowledged)}`;
  if (acknowledged < replicas) return `WAIT ${replicas} 0 answered ${acknowledged}`;
  return undefined;
}
