/**
 * One node as a real child process: `node dist/cli/main.js master|secondary` with the node's
 * options in its environment, exactly as a container starts it (or another program serving GET
 * /health, such as the bench's no-op server). Waits for readiness on GET /health, keeps a bounded
 * tail of its output for error messages, and kills (-9), pauses (SIGSTOP), resumes (SIGCONT),
 * stops (SIGTERM, then SIGKILL) and restarts it on the same port and data directory. Every wait is
 * bounded, and no child outlives this process: each is killed when this process exits, and each
 * node exits by itself when this process dies without a chance to (see exit-with-parent.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { NodeOutput } from './node-output.js';

/**
 * dist/cli/main.js, the bundle `rlog` ships as (src/build/bundle.ts), resolved from this module's
 * URL: dist/launcher/node-process.js, or the bundle itself when `rlog cluster` starts nodes.
 */
export const MAIN_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url));
export const LOOPBACK = '127.0.0.1';

const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3000;
/** How long a SIGKILLed process may take to be reaped before we give up on it. */
const KILL_WAIT_MS = 10_000;
const HEALTH_POLL_MS = 25;
const HEALTH_REQUEST_TIMEOUT_MS = 1000;
const TAIL_LINES = 60;
const LINES_KEPT = 3000;

/** What a node inherits with `inherit: 'minimal'`: enough to run, nothing that changes it. */
const MINIMAL_ENV = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_OPTIONS', 'GLIBC_TUNABLES'];

/**
 * A launched process's GLIBC_TUNABLES unless the caller's environment has its own: glibc's malloc
 * (2.35 and later) then asks the kernel for transparent huge pages for its large blocks, where
 * Node keeps Buffers (the in-memory log, frames, a catch-up's entries). Growing the log then
 * faults in a 2 MiB page where it faulted 512 pages of 4 KiB, each ~10 us on a VM. It takes
 * effect where the kernel's THP mode is `madvise` or `always`, and is ignored elsewhere (THP
 * `never`, older glibc, musl). The image sets the same (Dockerfile).
 */
export const MALLOC_TUNABLES = 'glibc.malloc.hugetlb=1';

/** Variables that say which node a process is; never inherited (they would put all in one place). */
const NODE_IDENTITY = [
  'ROLE',
  'NODE_NAME',
  'HOST',
  'PORT',
  'SECONDARIES',
  'MASTER_URL',
  'DATA_DIR',
];

export type Role = 'master' | 'secondary';
export type Env = Readonly<Record<string, string>>;

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NodeProcessOptions {
  readonly name: string;
  /** Runs `rlog <role>` (dist/cli/main.js). Without it, `script` is run instead. */
  readonly role?: Role;
  /** Another program that takes HOST and PORT and serves GET /health. */
  readonly script?: string;
  /** Where it listens (HOST); default 127.0.0.1. */
  readonly host?: string;
  readonly port: number;
  /**
   * Its options (DATA_DIR, LOG_LEVEL, ...). ROLE, NODE_NAME, HOST and PORT are set from the above;
   * LOG_FORMAT is always json, as its lines are parsed.
   */
  readonly env?: Env;
  /**
   * What it inherits from this process: `minimal` (PATH, HOME, TMPDIR, LANG, NODE_OPTIONS,
   * GLIBC_TUNABLES; the default: an option left in the shell must not change a test or a
   * measurement) or `all` but the variables naming a node (as `rlog cluster` does, for a person's
   * own settings).
   */
  readonly inherit?: 'minimal' | 'all';
  /** Options for node itself, before the script (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** A command prefix, e.g. ['ip', 'netns', 'exec', 'ns1'] (it must exec, so signals reach node). */
  readonly wrap?: readonly string[];
  /** Called with each line the process prints, as it prints it. */
  readonly onLine?: (line: string) => void;
  /** Called when the process has ended, with how (`code 1`, `SIGKILL`, `failed to start: ...`). */
  readonly onExit?: (how: string) => void;
  /** Output lines kept for `output` and `tail` (default 3000; past it the older half goes). */
  readonly linesKept?: number;
  /** Pause between two GET /health while it starts (default 25 ms). */
  readonly healthPollMs?: number;
}

/** Every process started and not yet reaped, so that every way out can kill them. */
const living = new Set<NodeProcess>();
process.once('exit', killAllNow);

/** SIGKILLs every launched process still running, synchronously: for exit handlers. */
export function killAllNow(): void {
  for (const node of living) node.killNow();
}

/** Stops every launched process still running (SIGTERM, then SIGKILL), bounded. */
export async function stopAll(graceMs = STOP_GRACE_MS): Promise<void> {
  await Promise.all([...living].map((node) => node.stop(graceMs)));
}

export class NodeProcess {
  readonly name: string;
  readonly role: Role | undefined;
  readonly host: string;
  readonly port: number;
  /** http://HOST:PORT, or https:// when the node has TLS_CERT. */
  readonly url: string;
  readonly env: Env;
  /** Its stderr lines alone (also in `output`), since the last start. */
  readonly stderr: string[] = [];
  /** How the last run ended; undefined while running or before the first start. */
  lastExit: ExitStatus | undefined;
  /** The same, in words (`code 1`, `SIGKILL`, `failed to start: ...`). */
  exitText: string | undefined;
  starts = 0;
  readonly #output: NodeOutput;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #paused = false;

  constructor(readonly options: NodeProcessOptions) {
    this.name = options.name;
    this.role = options.role;
    this.host = options.host ?? LOOPBACK;
    this.port = options.port;
    this.env = options.env ?? {};
    this.url = `${this.env['TLS_CERT'] === undefined ? 'http' : 'https'}://${this.host}:${this.port}`;
    this.#output = new NodeOutput(options.linesKept ?? LINES_KEPT);
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Its DATA_DIR, if it has one. */
  get dataDir(): string | undefined {
    return this.env['DATA_DIR'];
  }

  /** Every kept output line (stdout and stderr interleaved, with the launcher's notes). */
  get output(): string[] {
    return this.#output.all();
  }

  /** Lines the process printed since it was first started. */
  get lineCount(): number {
    return this.#output.lineCount;
  }

  /** The process's lines printed after the first `count` (as far as the kept lines reach back). */
  linesSince(count: number): string[] {
    return this.#output.linesSince(count);
  }

  /** Spawns it and waits until GET /health answers 200; throws if it exits or the time is up. */
  async start(timeoutMs = START_TIMEOUT_MS, signal?: AbortSignal): Promise<void> {
    if (this.#child !== undefined)
      throw new Error(`${this.name} is already running (pid ${this.pid ?? '?'})`);
    this.starts++;
    this.lastExit = undefined;
    this.exitText = undefined;
    this.stderr.length = 0;
    this.#paused = false;
    this.#output.note(`--- start #${this.starts} of ${this.name} at ${this.url}`);
    const child = this.#spawn();
    await this.#waitForHealth(child, timeoutMs, signal);
  }

  /** kill -9 (a paused process dies too) and wait for the exit. */
  async kill(): Promise<void> {
    if (this.#child === undefined) return;
    this.#child.kill('SIGKILL');
    await this.#reaped(KILL_WAIT_MS, 'SIGKILL');
  }

  /** SIGTERM (after SIGCONT if paused), then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.resume();
    child.kill('SIGTERM');
    if (await exitsWithin(this.#exited, graceMs)) return;
    this.#output.note(`--- ${this.name} still running ${graceMs} ms after SIGTERM: SIGKILL`);
    await this.kill();
  }

  /** For exit handlers, where nothing can be awaited. */
  killNow(): void {
    this.#child?.kill('SIGKILL');
  }

  /** kill -9, then start again on the same port (and the same DATA_DIR, if it has one). */
  async restart(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    await this.kill();
    await this.start(timeoutMs);
  }

  pause(): void {
    this.#signal('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT; nothing when it is not running (a process that is gone has nothing to continue). */
  resume(): void {
    if (this.#child === undefined) return;
    this.#signal('SIGCONT');
    this.#paused = false;
  }

  /** Settles once the current run has ended (at once when it is not running). Unbounded. */
  whenExited(): Promise<void> {
    return this.#exited;
  }

  /** Waits until the process exits by itself (bounded); returns how it ended. */
  async waitForExit(timeoutMs: number): Promise<ExitStatus> {
    const exited = await exitsWithin(this.#exited, timeoutMs);
    if (!exited || this.lastExit === undefined)
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms`);
    return this.lastExit;
  }

  /** Its JSON log lines (as far as kept) whose `event` is `event`, parsed. */
  events(event: string): Record<string, unknown>[] {
    const found: Record<string, unknown>[] = [];
    for (const line of this.#output.all()) {
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

  /** Recent output lines, compact, for failure messages. */
  tail(lines = TAIL_LINES): string {
    return this.#output.tail(lines);
  }

  /** Whether it runs, and its last lines: for an error message. */
  report(lines = 30): string {
    const state = this.running ? 'is running' : `exited (${this.exitText ?? 'never started'})`;
    const tail = this.tail(lines);
    return `${this.name} ${state}; its last output:\n${tail === '' ? '(none)' : tail.replace(/^/gm, '  | ')}`;
  }

  #spawn(): ChildProcess {
    const wrap = this.options.wrap ?? [];
    const script = this.options.script ?? MAIN_JS;
    const argv = [...wrap, process.execPath, ...(this.options.nodeArgs ?? []), script];
    if (this.role !== undefined) argv.push(this.role);
    const child = spawn(argv[0]!, argv.slice(1), {
      env: this.#environment(),
      // The IPC channel only tells the child when this process is gone (exit-with-parent.ts); a
      // wrapper such as `ip netns exec` might not pass it on, so wrapped children go without.
      stdio: ['ignore', 'pipe', 'pipe', ...(wrap.length === 0 ? (['ipc'] as const) : [])],
    });
    this.#child = child;
    living.add(this);
    this.#exited = new Promise((resolve) => {
      const ended = (status: ExitStatus, text: string): void => {
        if (this.#child !== child) return;
        living.delete(this);
        this.#child = undefined;
        this.#paused = false;
        this.lastExit = status;
        this.exitText = text;
        this.#output.note(`--- ${this.name} exited (${text})`);
        resolve();
        this.options.onExit?.(text);
      };
      // 'close', not 'exit': by then every line it printed has been read.
      child.once('close', (code, signal) => {
        ended({ code, signal }, signal === null ? `code ${code ?? '?'}` : signal);
      });
      child.once('error', (error) => {
        this.#output.note(`--- ${this.name}: ${error.message}`);
        if (child.pid === undefined)
          ended({ code: null, signal: null }, `failed to start: ${error.message}`);
      });
    });
    this.#readLines(child);
    return child;
  }

  #environment(): Record<string, string> {
    const mode = this.options.inherit ?? 'minimal';
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      const wanted = mode === 'all' ? !NODE_IDENTITY.includes(key) : MINIMAL_ENV.includes(key);
      if (value !== undefined && wanted) env[key] = value;
    }
    env['PATH'] ??= '/usr/sbin:/usr/bin:/sbin:/bin';
    env['GLIBC_TUNABLES'] ??= MALLOC_TUNABLES;
    Object.assign(env, this.env, {
      // Its lines are read as JSON (events, rlog cluster's pretty form), whatever the caller's.
      LOG_FORMAT: 'json',
      NODE_NAME: this.name,
      HOST: this.host,
      PORT: String(this.port),
    });
    if (this.role !== undefined) env['ROLE'] = this.role;
    return env;
  }

  #readLines(child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (line === '') return;
        this.#output.add(line);
        if (stream === child.stderr) {
          this.stderr.push(line);
          if (this.stderr.length > LINES_KEPT) this.stderr.splice(0, this.stderr.length / 2);
        }
        this.options.onLine?.(line);
      });
    }
  }

  async #waitForHealth(
    child: ChildProcess,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const deadlineMs = performance.now() + timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      signal?.throwIfAborted();
      if (this.#child !== child) {
        await this.#exited;
        throw new Error(
          `${this.name} exited during start (${this.exitText ?? '?'}):\n${this.tail()}`,
        );
      }
      try {
        const response = await fetch(`${this.url}/health`, {
          signal: AbortSignal.timeout(HEALTH_REQUEST_TIMEOUT_MS),
        });
        await response.body?.cancel();
        if (response.status === 200) return;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (performance.now() >= deadlineMs) {
        throw new Error(
          `${this.name} did not answer GET ${this.url}/health with 200 within ${timeoutMs} ms ` +
            `(last: ${last}); give it a longer start timeout if the machine is slow. ${this.report()}`,
        );
      }
      await sleep(this.options.healthPollMs ?? HEALTH_POLL_MS);
    }
  }

  async #reaped(timeoutMs: number, after: string): Promise<void> {
    if (await exitsWithin(this.#exited, timeoutMs)) return;
    throw new Error(
      `${this.name} (pid ${this.pid ?? '?'}) has not exited ${timeoutMs} ms after ${after}`,
    );
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (child === undefined) throw new Error(`${this.name} is not running`);
    this.#output.note(`--- ${signal} to ${this.name}`);
    child.kill(signal);
  }
}

/** True when `exited` settles within `timeoutMs`. */
async function exitsWithin(exited: Promise<void>, timeoutMs: number): Promise<boolean> {
  const timeout = new AbortController();
  const done = await Promise.race([
    exited.then(() => true),
    sleep(timeoutMs, false, { signal: timeout.signal }).catch(() => false),
  ]);
  timeout.abort();
  return done;
}
