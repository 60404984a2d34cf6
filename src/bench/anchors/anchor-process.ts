/**
 * A server of another project (redis-server, etcd) as a child process of the bench: found on
 * PATH or skipped with a note, spawned with a bounded tail of its output, stopped with SIGTERM
 * then SIGKILL, every wait bounded. No anchor outlives the bench: each is SIGKILLed when this
 * process exits, and, where util-linux's setpriv is installed, the kernel kills it when this
 * process dies without a chance to (--pdeathsig KILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const TAIL_LINES = 40;
const STOP_GRACE_MS = 3000;
const KILL_WAIT_MS = 5000;

const living = new Set<AnchorProcess>();
process.once('exit', () => {
  for (const anchor of living) anchor.killNow();
});

/** The executable's path on PATH, or undefined when it is not installed. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not there; the next.
    }
  }
  return undefined;
}

const SETPRIV = findExecutable('setpriv');

export class AnchorProcess {
  readonly #tail: string[] = [];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  exitText: string | undefined;

  constructor(
    readonly name: string,
    readonly executable: string,
    readonly args: readonly string[],
  ) {}

  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Spawns it; readiness is the caller's to check (each server says it its own way). */
  start(): void {
    if (this.#child !== undefined) throw new Error(`${this.name} is already running`);
    const argv =
      SETPRIV === undefined
        ? [this.executable, ...this.args]
        : [SETPRIV, '--pdeathsig', 'KILL', '--', this.executable, ...this.args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    living.add(this);
    this.#exited = new Promise((resolve) => {
      const ended = (text: string): void => {
        if (this.#child !== child) return;
        living.delete(this);
        this.#child = undefined;
        this.exitText = text;
        resolve();
      };
      child.once('close', (code, signal) => {
        ended(signal ?? `code ${code ?? '?'}`);
      });
      child.once('error', (error) => {
        this.#note(`${this.name}: ${error.message}`);
        if (child.pid === undefined) ended(`failed to start: ${error.message}`);
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.#note(line);
      });
    }
  }

  /** SIGTERM, then SIGKILL when it has not exited after the grace time; bounded. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill('SIGTERM');
    if (await within(this.#exited, graceMs)) return;
    child.kill('SIGKILL');
    if (!(await within(this.#exited, KILL_WAIT_MS)))
      throw new Error(
        `${this.name} (pid ${child.pid ?? '?'}) survived SIGKILL for ${KILL_WAIT_MS} ms`,
      );
  }

  killNow(): void {
    this.#child?.kill('SIGKILL');
  }

  /** Whether it runs, and its last lines: for an error message. */
  report(): string {
    const state = this.running ? 'is running' : `exited (${this.exitText ?? 'never started'})`;
    return `${this.name} ${state}; its last output:\n${this.#tail.map((line) => `  | ${line}`).join('\n')}`;
  }

  #note(line: string): void {
    this.#tail.push(line.slice(0, 500));
    if (this.#tail.length > TAIL_LINES) this.#tail.shift();
  }
}

async function within(exited: Promise<void>, timeoutMs: number): Promise<boolean> {
  const timer = new AbortController();
  const done = await Promise.race([
    exited.then(() => true),
    sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false),
  ]);
  timer.abort();
  return done;
}

/**
 * Polls `ready` every `pollMs` until it returns true, a process exits, or `timeoutMs` passes;
 * throws naming the last reason and every process's last output.
 */
export async function waitReady(
  what: string,
  processes: readonly AnchorProcess[],
  ready: () => Promise<string | true>,
  timeoutMs: number,
  signal: AbortSignal,
  pollMs = 50,
): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs;
  let last = 'not asked yet';
  for (;;) {
    signal.throwIfAborted();
    const dead = processes.find((anchor) => !anchor.running);
    if (dead !== undefined) throw new Error(`${what}: ${dead.report()}`);
    try {
      const answer = await ready();
      if (answer === true) return;
      last = answer;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (performance.now() >= deadlineMs)
      throw new Error(
        `${what} within ${timeoutMs} ms (last: ${last})\n${processes.map((p) => p.report()).join('\n')}`,
      );
    await sleep(pollMs);
  }
}
