/**
 * Real-process end-to-end harness: a master and secondaries as child processes of
 * `dist/cli/main.js` on loopback with free ports (started, killed, paused, resumed and restarted
 * by src/launcher/), HTTP helpers, and the nodes' recent output added to failure messages. Every
 * wait is bounded.
 */
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { LocalCluster } from '../launcher/cluster.js';
import { MAIN_JS, type NodeProcess } from '../launcher/node-process.js';

export { LocalCluster } from '../launcher/cluster.js';
export {
  LOOPBACK as HOST,
  MAIN_JS,
  NodeProcess,
  type ExitStatus,
} from '../launcher/node-process.js';
export { freePort } from '../launcher/ports.js';
export { makeTemporaryDir, removeTemporaryDir } from '../launcher/temporary-dir.js';

export const HEARTBEAT_MS = 100;

const REQUEST_TIMEOUT_MS = 15_000;

/** The master's tuning in tests: fast heartbeats and retries, so that failures show quickly. */
const MASTER_TUNING = {
  HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  RETRY_BASE_MS: '10',
  RETRY_MAX_MS: '200',
  REPLICATION_TIMEOUT_MS: '1000',
};

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `rlog ARGS` to its end without blocking this process: a synchronous spawn would stop it
 * from reading the cluster's output meanwhile, and a node whose output pipe fills up stalls.
 */
export function runRlog(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 20_000,
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN_JS, ...args],
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: timeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({
          status: error === null ? 0 : typeof code === 'number' ? code : null,
          stdout,
          stderr,
        });
      },
    );
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` until it returns something other than undefined/false (returned), or throws
 * after `timeoutMs` with `what` and the last value/error seen.
 */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
  readonly ms: number;
}

export interface RequestOptions {
  readonly method?: string;
  /** An object/array/string is sent as JSON; use `raw` to send text as it is. */
  readonly json?: unknown;
  readonly raw?: string;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

export async function request<T = unknown>(
  url: string,
  options: RequestOptions = {},
): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.json !== undefined) body = JSON.stringify(options.json);
  if (body !== undefined && headers['content-type'] === undefined)
    headers['content-type'] = 'application/json';
  const started = Date.now();
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return {
    status: response.status,
    headers: response.headers,
    body: parsed as T,
    text,
    ms: Date.now() - started,
  };
}

export interface LogEntry {
  readonly id: number;
  readonly message: string;
}

export interface ErrorBody {
  readonly status: 'error';
  readonly error: { readonly code: string; readonly message: string };
  readonly [key: string]: unknown;
}

export interface AppendBody {
  readonly status: string;
  readonly log: LogEntry;
  readonly w: number;
  readonly acks: number;
}

export interface BatchBody {
  readonly status: string;
  readonly logs: LogEntry[];
  readonly w: number;
  readonly acks: number;
}

export interface PeerHealth {
  readonly name: string;
  readonly url: string;
  readonly status: 'Healthy' | 'Suspected' | 'Unhealthy';
  readonly ackedId: number;
  readonly lag: number;
  readonly lastContactMs: number | null;
  readonly lastError: string | null;
}

export interface MasterHealth {
  readonly node: string;
  readonly role: 'master';
  readonly status: 'ok' | 'read-only';
  readonly readOnly: boolean;
  readonly quorum: { readonly size: number; readonly required: number; readonly healthy: number };
  readonly log: { readonly lastId: number };
  readonly waitingAppends: number;
  readonly secondaries: PeerHealth[];
}

export interface SecondaryHealth {
  readonly node: string;
  readonly role: 'secondary';
  readonly status: string;
  readonly log: { readonly lastId: number; readonly pending: number };
  readonly master: { readonly url: string | null; readonly lastContactMs: number | null };
}

// ---------------------------------------------------------------------------------------------
// Clusters

export interface ClusterOptions {
  /** Number of secondaries (sub1..subN); default 2. */
  readonly secondaries?: number;
  /** Names of secondaries whose port is reserved but which are not started. */
  readonly down?: readonly string[];
  readonly masterEnv?: Record<string, string>;
  /** Environment for every secondary. */
  readonly secondaryEnv?: Record<string, string>;
  /** Environment for every node. */
  readonly env?: Record<string, string>;
  /** Extra environment per node name (`master`, `sub1`, ...), applied last. */
  readonly nodeEnv?: Readonly<Record<string, Record<string, string>>>;
  /**
   * Give every node a DATA_DIR of its own (`<temporary dir>/<node name>`) that survives its
   * restarts; the temporary directory is removed by `stop()`.
   */
  readonly dataDirs?: boolean;
  readonly token?: string;
  /** Automatic failover (every node on PEERS, `master` leading epoch 1); needs `dataDirs`. */
  readonly failover?: boolean;
}

export class Cluster {
  private constructor(
    /** The processes. */
    readonly local: LocalCluster,
    readonly token: string | undefined,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const common: Record<string, string> = { ...options.env };
    if (options.token !== undefined) common['CLUSTER_TOKEN'] = options.token;
    const local = await LocalCluster.create({
      secondaries: options.secondaries ?? 2,
      env: { LOG_LEVEL: 'info', ...common },
      masterEnv: { ...MASTER_TUNING, ...common, ...options.masterEnv },
      ...(options.secondaryEnv === undefined ? {} : { secondaryEnv: options.secondaryEnv }),
      ...(options.nodeEnv === undefined ? {} : { nodeEnv: options.nodeEnv }),
      ...(options.dataDirs === true ? { dataDirs: { temporary: 'rlog-e2e-data-' } } : {}),
      ...(options.failover === true ? { failover: true } : {}),
    });
    const cluster = new Cluster(local, options.token);
    try {
      await local.start({ down: options.down ?? [] });
    } catch (error) {
      await cluster.stop();
      if (error instanceof Error)
        error.message = `cluster start failed: ${error.message}\n${cluster.dump()}`;
      throw error;
    }
    return cluster;
  }

  get master(): NodeProcess {
    return this.local.master;
  }

  get secondaries(): readonly NodeProcess[] {
    return this.local.secondaries;
  }

  /** The temporary directory holding the nodes' data directories, if `dataDirs` was set. */
  get dataRoot(): string | undefined {
    return this.local.dataRoot;
  }

  get nodes(): NodeProcess[] {
    return [this.master, ...this.secondaries];
  }

  node(name: string): NodeProcess {
    return this.local.node(name);
  }

  authHeaders(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  /** POST /logs on the master. */
  append<T = AppendBody>(
    json: unknown,
    options: Omit<RequestOptions, 'json'> & { readonly path?: string } = {},
  ): Promise<HttpAnswer<T>> {
    return request<T>(`${this.master.url}${options.path ?? '/logs'}`, {
      ...options,
      method: 'POST',
      json,
    });
  }

  async logs(node: NodeProcess | string = this.master): Promise<LogEntry[]> {
    const target = typeof node === 'string' ? this.node(node) : node;
    const answer = await request<LogEntry[]>(`${target.url}/logs`, { timeoutMs: 5000 });
    if (answer.status !== 200) throw new Error(`GET /logs on ${target.name}: ${answer.status}`);
    return answer.body;
  }

  async health(): Promise<MasterHealth> {
    const answer = await request<MasterHealth>(`${this.master.url}/health`, { timeoutMs: 5000 });
    if (answer.status !== 200) throw new Error(`GET /health on master: ${answer.status}`);
    return answer.body;
  }

  async peer(name: string): Promise<PeerHealth> {
    const health = await this.health();
    const peer = health.secondaries.find((candidate) => candidate.name === name);
    if (peer === undefined) throw new Error(`master /health has no secondary ${name}`);
    return peer;
  }

  /** Waits until the master's /health shows `name` with `status`; returns the time it took. */
  async waitForStatus(
    name: string,
    status: PeerHealth['status'],
    timeoutMs: number,
  ): Promise<number> {
    const started = Date.now();
    await waitFor(
      async () => (await this.peer(name)).status === status,
      timeoutMs,
      `${name} to be ${status} on master /health`,
      10,
    );
    return Date.now() - started;
  }

  /**
   * Waits until the master has logged `name` turning `status` (its `health-changed` events), and
   * returns the changes it logged for `name` since it last left Healthy, as 'Healthy -> Suspected'
   * and so on. A state that lasts a heartbeat or two can be missed by polls of /health on a busy
   * machine; the master's own log has every change, in order.
   */
  async loggedHealthChanges(
    name: string,
    status: Exclude<PeerHealth['status'], 'Healthy'>,
    timeoutMs: number,
  ): Promise<string[]> {
    return waitFor(
      () => {
        const changes = this.master
          .events('health-changed')
          .filter((event) => event['peer'] === name)
          .map((event) => `${String(event['from'])} -> ${String(event['to'])}`);
        const left = changes.findLastIndex((change) => change.startsWith('Healthy -> '));
        const since = left < 0 ? changes : changes.slice(left);
        return since.at(-1)?.endsWith(` -> ${status}`) === true ? since : undefined;
      },
      timeoutMs,
      `the master to log ${name} ${status}`,
    );
  }

  async setFaults(name: string, faults: Record<string, unknown>): Promise<void> {
    const answer = await request(`${this.node(name).url}/admin/faults`, {
      method: 'PUT',
      json: faults,
      headers: this.authHeaders(),
    });
    if (answer.status !== 200)
      throw new Error(`PUT /admin/faults on ${name}: ${answer.status} ${answer.text}`);
  }

  /**
   * Waits until every running secondary (of `secondaries`) shows the master's log and the master's log has at least
   * `minLength` entries; returns the master's log.
   */
  async converged(
    minLength: number,
    timeoutMs = 15_000,
    secondaries: readonly NodeProcess[] = this.secondaries,
  ): Promise<LogEntry[]> {
    let last = '';
    try {
      return await waitFor(
        async () => {
          const master = await this.logs(this.master);
          if (master.length < minLength) {
            last = `master has ${master.length} < ${minLength}`;
            return undefined;
          }
          const expected = JSON.stringify(master);
          for (const sub of secondaries.filter((node) => node.running)) {
            const theirs = await this.logs(sub);
            if (JSON.stringify(theirs) !== expected) {
              last = `${sub.name} has ${theirs.length} entries, master ${master.length}`;
              return undefined;
            }
          }
          return master;
        },
        timeoutMs,
        `convergence to >= ${minLength} entries`,
        50,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; ${last}`);
    }
  }

  /** Every node's recent output, for failure messages. */
  dump(): string {
    return this.local.dump();
  }

  /** kill -9 of every node; removes the data directories. */
  async stop(): Promise<void> {
    await this.local.stop();
  }
}

/**
 * Runs `body` against a fresh cluster, always stops every process afterwards, and adds the
 * nodes' recent output to the failure message.
 */
export async function withCluster(
  options: ClusterOptions,
  body: (cluster: Cluster) => Promise<void>,
): Promise<void> {
  const cluster = await Cluster.start(options);
  try {
    await annotated(cluster, () => body(cluster));
  } finally {
    await cluster.stop();
  }
}

/** Runs `body`; on failure, adds the cluster's recent output to the error message. */
export async function annotated(cluster: Cluster, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const annotation = `\n\n--- node output (most recent last) ---\n${cluster.dump()}`;
    // Some errors (a DOMException such as fetch's TimeoutError) have a read-only message.
    if (error instanceof Error && Object.getOwnPropertyDescriptor(error, 'message')?.writable) {
      error.message = `${error.message}${annotation}`;
      throw error;
    }
    throw new Error(`${String(error)}${annotation}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Ids exactly 1..len, in order. */
export function gapFree(log: readonly LogEntry[]): boolean {
  return log.every((entry, index) => entry.id === index + 1);
}

/** `a` is a prefix of `b` (same ids, same messages). */
export function isPrefix(a: readonly LogEntry[], b: readonly LogEntry[]): boolean {
  if (a.length > b.length) return false;
  return a.every((entry, index) => {
    const other = b[index];
    return other !== undefined && other.id === entry.id && other.message === entry.message;
  });
}

/** A promise whose settlement can be checked without awaiting it. */
export function track<T>(promise: Promise<T>): {
  readonly promise: Promise<T>;
  settled: () => boolean;
} {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  // A pending request rejected by the cleanup must not become an unhandled rejection.
  tracked.catch(() => undefined);
  return { promise: tracked, settled: () => done };
}

/** Runs `count` tasks, at most `parallel` at a time. */
export async function pool<T>(
  count: number,
  parallel: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Raw connections

/** A raw TCP connection, recording what the server sends and when it closes. */
export class RawConnection {
  readonly socket: Socket;
  received = '';
  closed = false;
  /**
   * performance.now() before the connection was opened: the server took it in later, so any of
   * its timeouts counts from after this.
   */
  readonly openedAtMs: number;
  /** performance.now() when this side saw the connection close. */
  closedAtMs: number | undefined;
  readonly #closedAt: Promise<void>;

  /** `allowHalfOpen`: the client never closes its side by itself, as some stuck clients do. */
  constructor(url: string, options: { readonly allowHalfOpen?: boolean } = {}) {
    const { hostname, port } = new URL(url);
    this.openedAtMs = performance.now();
    this.socket = connect({
      port: Number(port),
      host: hostname,
      allowHalfOpen: options.allowHalfOpen ?? false,
    });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.received += chunk;
    });
    this.socket.on('error', () => undefined);
    this.#closedAt = new Promise((resolve) => {
      this.socket.once('close', () => {
        this.closed = true;
        this.closedAtMs = performance.now();
        resolve();
      });
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connecting) {
        resolve();
        return;
      }
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /**
   * How long the connection was open, from before it was opened until this side saw it close:
   * at least as long as the server kept it (undefined while it is open).
   */
  openMs(): number | undefined {
    return this.closedAtMs === undefined ? undefined : this.closedAtMs - this.openedAtMs;
  }

  /** Resolves once the server closed the connection; throws after `timeoutMs`. */
  async closedWithin(timeoutMs: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${what}: still open after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([this.#closedAt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once what the server sent matches `pattern`; throws after `timeoutMs`. */
  async receivedWithin(pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onData: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        onData = () => {
          if (pattern.test(this.received)) resolve();
        };
        this.socket.on('data', onData);
        onData();
        timer = setTimeout(() => {
          reject(
            new Error(
              `${what}: got ${JSON.stringify(this.received.slice(0, 80))} after ${timeoutMs} ms, not ${pattern}`,
            ),
          );
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      if (onData !== undefined) this.socket.off('data', onData);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export async function openConnections(
  url: string,
  count: number,
  options: { readonly allowHalfOpen?: boolean } = {},
): Promise<RawConnection[]> {
  const connections = Array.from({ length: count }, () => new RawConnection(url, options));
  await Promise.all(connections.map((connection) => connection.connected().catch(() => undefined)));
  return connections;
}
