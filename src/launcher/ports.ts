/**
 * Free TCP ports for the nodes a launcher starts: any free port (tests, chaos), a run of
 * consecutive ones (`rlog cluster`'s --base-port layout) or the first free ones of a range (the
 * benches, which keep clear of the nodes' defaults and of each other).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchRefuses } from '../config/bad-ports.js';

const ATTEMPTS = 50;

/** Ports used by others on this machine (the nodes' defaults, the benches' ranges): never handed out. */
function forbiddenPort(port: number): boolean {
  return (port >= 8000 && port <= 8002) || (port >= 9100 && port <= 9199) || fetchRefuses(port);
}

/** Ports `freePort` gave out in this process: none is given twice, even once closed again. */
const handedOut = new Set<number>();

/**
 * Where `freePort` is drawn from: below Linux's ephemeral range (32768-60999), so that no
 * outgoing connection takes a port between the moment it is chosen and the moment a node
 * listens on it, and below `consecutiveFreePorts`' 20000-39999.
 */
const FREE_PORT_RANGE: PortRange = { min: 10_000, max: 19_999 };

/**
 * Claims on ports across the processes of this machine (test files run in parallel, each in its
 * own process): one file per port, created exclusively, holding the claimer's pid. A claim whose
 * process is gone is taken over; this process's claims are removed when it exits.
 */
const CLAIM_DIR = join(tmpdir(), 'rlog-port-claims');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function claim(port: number): boolean {
  const path = join(CLAIM_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

let claimsReleasedOnExit = false;

function releaseClaimsOnExit(): void {
  if (claimsReleasedOnExit) return;
  claimsReleasedOnExit = true;
  process.once('exit', () => {
    for (const port of handedOut) rmSync(join(CLAIM_DIR, String(port)), { force: true });
  });
}

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

/**
 * A free port no other process of this machine was given by `freePort` (a claim file) and that
 * this one never gave before: two test files starting clusters at once never share one.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  mkdirSync(CLAIM_DIR, { recursive: true });
  releaseClaimsOnExit();
  const span = FREE_PORT_RANGE.max - FREE_PORT_RANGE.min + 1;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = FREE_PORT_RANGE.min + Math.floor(Math.random() * span);
    if (forbiddenPort(port) || handedOut.has(port)) continue;
    if (!(await isPortFree(port, host)) || !claim(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(
    `no free port found in ${FREE_PORT_RANGE.min}-${FREE_PORT_RANGE.max} in ${ATTEMPTS} attempts; free some ports (or remove stale claims in ${CLAIM_DIR}) and retry`,
  );
}

/** A base port in 20000..39999 with the next `count - 1` ports free too (as `rlog cluster` needs). */
export async function consecutiveFreePorts(count: number, host: string): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some(fetchRefuses)) continue;
    const checks = await Promise.all(ports.map((port) => isPortFree(port, host)));
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
    if (taken.includes(port) || fetchRefuses(port)) continue;
    if (await isPortFree(port, host)) ports.push(port);
  }
  if (ports.length < count) {
    throw new Error(
      `needed ${count} free ports in ${range.min}-${range.max}, found ${ports.length}; stop what holds them and retry`,
    );
  }
  return ports;
}
