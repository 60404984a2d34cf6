/**
 * A node of the chaos cluster as a real child process of `dist/cli/main.js`, optionally started
 * inside a network namespace (`ip netns exec <ns> node ...`, which execs, so signals reach node
 * itself). Kill -9, SIGSTOP/SIGCONT and restarts on the same port and data directory. Every wait is
 * bounded. Adapted from src/e2e/harness.ts (which always binds 127.0.0.1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN_JS, request, waitFor } from '../e2e/harness.js';

const OUTPUT_LINES_KEPT = 2000;

const living = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of living) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

export interface ChaosNodeOptions {
  readonly name: string;
  readonly role: 'master' | 'secondary';
  /** Address to listen on (HOST). */
  readonly host: string;
  readonly port: number;
  readonly env: Readonly<Record<string, string>>;
  /** Command prefix, e.g. ['ip', 'netns', 'exec', 'rlogchaos-1-master']. */
  readonly wrap?: readonly string[];
}

export class ChaosNode {
  readonly name: string;
  readonly role: 'master' | 'secondary';
  readonly url: string;
  readonly output: string[] = [];
  starts = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #paused = false;

  constructor(readonly options: ChaosNodeOptions) {
    this.name = options.name;
    this.role = options.role;
    this.url = `http://${options.host}:${options.port}`;
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

  /** Spawns the node and waits (bounded) until it answers GET /health. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.#child !== undefined) throw new Error(`${this.name} is already running`);
    this.starts++;
    this.#paused = false;
    this.#note(`--- start #${this.starts} of ${this.name} at ${this.url}`);
    const wrap = this.options.wrap ?? [];
    const argv = [...wrap, process.execPath, MAIN_JS, this.role];
    const child = spawn(argv[0]!, argv.slice(1), {
      env: {
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        ROLE: this.role,
        NODE_NAME: this.name,
        HOST: this.options.host,
        PORT: String(this.options.port),
        LOG_LEVEL: 'warn',
        ...this.options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    living.add(child);
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        living.delete(child);
        if (this.#child === child) this.#child = undefined;
        this.#note(`--- ${this.name} exited (code ${code ?? 'null'}, signal ${signal ?? 'none'})`);
        resolve();
      });
    });
    child.once('error', (error) => {
      this.#note(`--- spawn error: ${error.message}`);
    });
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line !== '') this.#note(line);
      });
    }
    const state = await waitFor(
      async () => {
        if (this.#child !== child) return 'exited';
        const answer = await request(`${this.url}/health`, { timeoutMs: 1000 });
        return answer.status === 200 && 'up';
      },
      timeoutMs,
      `${this.name} to answer /health at ${this.url}`,
      50,
    );
    if (state === 'exited') throw new Error(`${this.name} exited during start:\n${this.tail()}`);
  }

  /** kill -9 (a stopped process dies too) and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGKILL');
    await this.#exited;
    this.#paused = false;
  }

  pause(): void {
    const child = this.#child;
    if (child === undefined) throw new Error(`${this.name} is not running`);
    this.#note(`--- SIGSTOP to ${this.name}`);
    child.kill('SIGSTOP');
    this.#paused = true;
  }

  resume(): void {
    const child = this.#child;
    if (child === undefined) return;
    this.#note(`--- SIGCONT to ${this.name}`);
    child.kill('SIGCONT');
    this.#paused = false;
  }

  tail(lines = 40): string {
    return this.output.slice(-lines).join('\n');
  }

  #note(line: string): void {
    this.output.push(line);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.splice(0, this.output.length / 2);
  }
}
