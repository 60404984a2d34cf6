/**
 * Real-process end-to-end harness: starts a master and secondaries as child processes of
 * `dist/cli/main.js` on loopback with free ports, captures their output for failure messages,
 * and kills, pauses, resumes and restarts them. Every wait is bounded.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/cli/main.js, resolved from this compiled file (dist/e2e/harness.js). */
export const MAIN_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export const HOST = '127.0.0.1';
export const HEARTBEAT_MS = 100;

const OUTPUT_LINES_KEPT = 3000;
const OUTPUT_LINES_SHOWN = 60;
const REQUEST_TIMEOUT_MS = 15_000;

/** Ports used by others on this machine: never hand them out. */
function forbiddenPort(port: number): boolean {
  return (port >= 8000 && port <= 8002) || (port >= 9100 && port <= 9199);
}

const handedOut = new Set<number>();

/** A port nobody listens on now: bind port 0, read it, close. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, HOST, () => {
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
  throw new Error('no free port found in 50 attempts');
}

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
// Processes

const living = new Set<ChildProcess>();
/** Temporary data directories of clusters not yet stopped. */
const temporaryDirs = new Set<string>();
process.once('exit', () => {
  for (const child of living) child.kill('SIGKILL');
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/** A new temporary directory, removed by `removeTemporaryDir` or when this process exits. */
export function makeTemporaryDir(prefix = 'rlog-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporaryDirs.add(dir);
  return dir;
}

export function removeTemporaryDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  temporaryDirs.delete(dir);
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class NodeProcess {
  readonly url: string;
  readonly output: string[] = [];
  /** The stderr lines alone (also in `output`), since the last start. */
  readonly stderr: string[] = [];
  /** How the last run ended; undefined while running or before the first start. */
  lastExit: ExitStatus | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #starts = 0;

  constructor(
    readonly name: string,
    readonly role: 'master' | 'secondary',
    readonly port: number,
    readonly env: Readonly<Record<string, string>>,
  ) {
    // A node started with TLS_CERT serves HTTPS only.
    this.url = `${env['TLS_CERT'] === undefined ? 'http' : 'https'}://${HOST}:${port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The node's DATA_DIR, if it has one. */
  get dataDir(): string | undefined {
    return this.env['DATA_DIR'];
  }

  /** Spawns the node and waits until it answers GET /health. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.#child !== undefined) throw new Error(`${this.name} is already running`);
    this.#starts++;
    this.lastExit = undefined;
    this.stderr.length = 0;
    this.#note(`--- start #${this.#starts} of ${this.name} on port ${this.port}`);
    const child = spawn(process.execPath, [MAIN_JS, this.role], {
      env: {
        PATH: process.env['PATH'] ?? '',
        ROLE: this.role,
        NODE_NAME: this.name,
        HOST,
        PORT: String(this.port),
        LOG_LEVEL: 'info',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    living.add(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        living.delete(child);
        if (this.#child === child) this.#child = undefined;
        this.lastExit = { code, signal };
        this.#note(`--- ${this.name} exited (code ${code ?? 'null'}, signal ${signal ?? 'none'})`);
        resolve();
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') continue;
          this.#note(line);
          if (stream === child.stderr) this.stderr.push(line);
        }
      });
      stream.on('end', () => {
        if (partial === '') return;
        this.#note(partial);
        if (stream === child.stderr) this.stderr.push(partial);
        partial = '';
      });
    }
    const state = await waitFor(
      async () => {
        if (this.#child !== child) return 'exited';
        const answer = await request(`${this.url}/health`, { timeoutMs: 1000 });
        return answer.status === 200 && 'up';
      },
      timeoutMs,
      `${this.name} to answer /health on port ${this.port}`,
      25,
    );
    if (state === 'exited') throw new Error(`${this.name} exited during start:\n${this.tail()}`);
  }

  /** kill -9 and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  pause(): void {
    this.#signal('SIGSTOP');
  }

  resume(): void {
    this.#signal('SIGCONT');
  }

  /** Waits until the process exits by itself (bounded); returns how it ended. */
  async waitForExit(timeoutMs: number): Promise<ExitStatus> {
    const exited = this.#exited;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, timeoutMs);
    });
    const outcome = await Promise.race([exited.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout' || this.lastExit === undefined)
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms`);
    return this.lastExit;
  }

  /**
   * The JSON log lines of this node (since it was first started, as far as kept) whose `event`
   * is `event`, parsed.
   */
  events(event: string): Record<string, unknown>[] {
    const found: Record<string, unknown>[] = [];
    for (const line of this.output) {
      if (!line.startsWith('{') || !line.includes(`"${event}"`)) continue;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record['event'] === event) found.push(record);
      } catch {
        // Not a log line.
      }
    }
    return found;
  }

  /** kill -9, then start again on the same port (empty unless the node has a DATA_DIR). */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Recent output lines, compact, for failure messages. */
  tail(lines = OUTPUT_LINES_SHOWN): string {
    return this.output.slice(-lines).map(compactLine).join('\n');
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (child === undefined) throw new Error(`${this.name} is not running`);
    this.#note(`--- ${signal} to ${this.name}`);
    child.kill(signal);
  }

  #note(line: string): void {
    this.output.push(line);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.splice(0, this.output.length / 2);
  }
}

function compactLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const { time, level, node, msg, event, ...fields } = record;
    const rest = Object.fromEntries(
      Object.entries(fields).filter(([key]) => !['role', 'pid', 'hostname'].includes(key)),
    );
    const extra = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
    const clock = typeof time === 'string' ? time.slice(11, 23) : '';
    return `${clock} ${String(node)} ${String(level)} ${String(event)}: ${String(msg)}${extra}`;
  } catch {
    return line;
  }
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
}

export class Cluster {
  private constructor(
    readonly master: NodeProcess,
    readonly secondaries: readonly NodeProcess[],
    readonly token: string | undefined,
    /** The temporary directory holding the nodes' data directories, if `dataDirs` was set. */
    readonly dataRoot: string | undefined,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const count = options.secondaries ?? 2;
    const masterPort = await freePort();
    const scheme = options.env?.['TLS_CERT'] === undefined ? 'http' : 'https';
    const masterUrl = `${scheme}://${HOST}:${masterPort}`;
    const common: Record<string, string> = { ...options.env };
    if (options.token !== undefined) common['CLUSTER_TOKEN'] = options.token;
    const dataRoot = options.dataDirs === true ? makeTemporaryDir('rlog-e2e-data-') : undefined;
    const own = (name: string): Record<string, string> => ({
      ...(dataRoot === undefined ? {} : { DATA_DIR: join(dataRoot, name) }),
      ...options.nodeEnv?.[name],
    });
    const subs: NodeProcess[] = [];
    for (let index = 1; index <= count; index++) {
      const port = await freePort();
      const name = `sub${index}`;
      subs.push(
        new NodeProcess(name, 'secondary', port, {
          MASTER_URL: masterUrl,
          ...common,
          ...options.secondaryEnv,
          ...own(name),
        }),
      );
    }
    const master = new NodeProcess('master', 'master', masterPort, {
      SECONDARIES: subs.map((sub) => `${sub.name}=${sub.url}`).join(','),
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
      RETRY_BASE_MS: '10',
      RETRY_MAX_MS: '200',
      REPLICATION_TIMEOUT_MS: '1000',
      ...common,
      ...options.masterEnv,
      ...own('master'),
    });
    const cluster = new Cluster(master, subs, options.token, dataRoot);
    try {
      const down = new Set(options.down ?? []);
      await Promise.all(subs.filter((sub) => !down.has(sub.name)).map((sub) => sub.start()));
      await master.start();
    } catch (error) {
      await cluster.stop();
      if (error instanceof Error)
        error.message = `cluster start failed: ${error.message}\n${cluster.dump()}`;
      throw error;
    }
    return cluster;
  }

  get nodes(): NodeProcess[] {
    return [this.master, ...this.secondaries];
  }

  node(name: string): NodeProcess {
    const found = this.nodes.find((node) => node.name === name);
    if (found === undefined) throw new Error(`no node ${name}`);
    return found;
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
    return this.nodes.map((node) => `===== ${node.name} (${node.url})\n${node.tail()}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      if (node.running) node.resume();
    }
    await Promise.all(this.nodes.map((node) => node.kill()));
    if (this.dataRoot !== undefined) removeTemporaryDir(this.dataRoot);
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
  readonly #closedAt: Promise<void>;

  /** `allowHalfOpen`: the client never closes its side by itself, as some stuck clients do. */
  constructor(url: string, options: { readonly allowHalfOpen?: boolean } = {}) {
    const { hostname, port } = new URL(url);
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
