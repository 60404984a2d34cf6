/**
 * Free TCP ports for the nodes a launcher starts: any free port (tests, chaos), a run of
 * consecutive ones (`rlog cluster`'s --base-port layout) or the first free ones of a range (the
 * benches, which keep clear of the nodes' defaults and of each other).
 */
import { createServer } from 'node:net';

const ATTEMPTS = 50;

/** Ports used by others on this machine (the nodes' defaults, the benches' ranges): never handed out. */
function forbiddenPort(port: number): boolean {
  return (port >= 8000 && port <= 8002) || (port >= 9100 && port <= 9199);
}

/** Ports `freePort` gave out in this process: none is given twice, even once closed again. */
const handedOut = new Set<number>();

/** True when nothing listens on `port` at `host` (checked by listening on it for a moment). */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => {
      resolve(false);
    });
    probe.listen(port, host, () => {
      probe.close(() => {
        resolve(true);
      });
    });
  });
}

/** A port the kernel says is free now (bind port 0, read it, close), never one given before. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, host, () => {
        const address = server.address();
        const found = typeof address === 'object' && address !== null ? address.port : 0;
        server.close(() => {
          resolve(found);
        });
      });
    });
    if (port > 0 && !forbiddenPort(port) && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${ATTEMPTS} attempts; free some ports and retry`);
}

/** A base port in 20000..39999 with the next `count - 1` ports free too (as `rlog cluster` needs). */
export async function consecutiveFreePorts(count: number, host: string): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const checks = await Promise.all(
      Array.from({ length: count }, (_, i) => isPortFree(base + i, host)),
    );
    if (checks.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports found in ${ATTEMPTS} attempts`);
}

/** A range of ports, both ends included. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** The first `count` free ports of `range`, skipping `taken` (ports the caller holds already). */
export async function freePortsIn(
  range: PortRange,
  count: number,
  host: string,
  taken: readonly number[] = [],
): Promise<number[]> {
  const ports: number[] = [];
  for (let port = range.min; port <= range.max && ports.length < count; port++) {
    if (!taken.includes(port) && (await isPortFree(port, host))) ports.push(port);
  }
  if (ports.length < count) {
    throw new Error(
      `needed ${count} free ports in ${range.min}-${range.max}, found ${ports.length}; stop what holds them and retry`,
    );
  }
  return ports;
}
