/**
 * `rlog shell`: the interactive client of the course's first seed. Typed lines are appended with
 * the current write concern; a few command words (shell-commands.ts) read the cluster instead.
 *
 * On a terminal it has a prompt showing w, line editing, history kept in a file and tab
 * completion. With piped input it prints no prompt or banner, runs the lines strictly in order,
 * writes results to stdout and errors to stderr, and exits 1 at the end if any line failed.
 */
import { createInterface, type Interface, type ReadLineOptions } from 'node:readline';
import type { ReplicatedLogClient, WriteConcern } from '../client/index.js';
import {
  appendAnswer,
  clientFor,
  fetchHealth,
  isClientFailure,
  progressTo,
  readLog,
  resolveNode,
} from './commands.js';
import { HISTORY_LINES, historyPath, loadHistory, saveHistory } from './shell-history.js';
import {
  appendDoubt,
  completeShellLine,
  isYes,
  describeWriteConcern,
  parseShellLine,
  SHELL_HELP,
  SHELL_TAIL_ENTRIES,
  shellPrompt,
  writeConcernProblem,
  type ShellCommand,
} from './shell-commands.js';
import { followAfter, lastEntries, startAfter } from './tail.js';
import {
  entryLines,
  healthSummary,
  nodeNames,
  reconnectText,
  redirectText,
  type Outcome,
} from './texts.js';

/** The greeting's look at the cluster is a courtesy: it must not hold up the prompt for long. */
const GREETING_HEALTH_TIMEOUT_MS = 3000;

export interface ShellOptions {
  readonly master: string;
  /** The cluster's node URLs: appends look for the master there when a node does not answer. */
  readonly nodes: readonly string[];
  /** Sent with every append (RLOG_API_TOKEN / --api-token), for a master with API_TOKEN. */
  readonly apiToken: string | undefined;
  readonly w: WriteConcern;
  /** Sent with every append as the API's `timeoutMs`; absent: wait as long as it takes. */
  readonly timeoutMs: number | undefined;
  /** No progress lines while an append waits. */
  readonly quiet: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
  readonly errors: NodeJS.WritableStream;
}

/** What shows a prompt on `rl`: nothing once it is closed (its input ended), which Node 24 refuses. */
export type ShowPrompt = (text?: string) => void;

function promptOn(rl: Interface): ShowPrompt {
  let closed = false;
  rl.once('close', () => {
    closed = true;
  });
  return (text) => {
    if (closed) return;
    if (text !== undefined) rl.setPrompt(text);
    rl.prompt();
  };
}

export async function runShell(options: ShellOptions): Promise<number> {
  const interactive = options.input.isTTY === true;
  const shell = new Shell(options, interactive);
  const history = interactive ? historyPath(options.env) : undefined;
  const rl = createInterface(shell.readlineOptions(history));
  const prompt = promptOn(rl);
  // Taken now, before anything is awaited, so no line typed or piped meanwhile is missed.
  const lines = rl[Symbol.asyncIterator]();
  if (history !== undefined) shell.keepHistory(rl, history);
  rl.on('SIGINT', () => {
    shell.interrupt(rl, prompt);
  });
  if (interactive) {
    await shell.greet();
    prompt(shellPrompt(shell.w));
  }
  let lineNumber = 0;
  for (;;) {
    const next = await lines.next();
    if (next.done === true) {
      // Ctrl-D leaves the cursor after the prompt.
      if (interactive) options.output.write('\n');
      break;
    }
    lineNumber++;
    let command = parseShellLine(next.value);
    if (command.kind === 'exit') break;
    if (command.kind === 'append') {
      command = await shell.confirm(next.value, command, prompt, lines);
    }
    await shell.run(command, lineNumber);
    if (interactive) prompt(shellPrompt(shell.w));
  }
  rl.close();
  return shell.failed ? 1 : 0;
}

class Shell {
  w: WriteConcern;
  readonly client: ReplicatedLogClient;
  failed = false;
  /** Node names for completion, as the master last reported them. */
  #names: readonly string[] = ['master'];
  /** The running command's way to stop waiting (Ctrl-C). */
  #running: AbortController | undefined;
  #historyBroken = false;

  constructor(
    private readonly options: ShellOptions,
    private readonly interactive: boolean,
  ) {
    this.w = options.w;
    this.client = clientFor(options.master, options.apiToken, options.nodes);
  }

  /**
   * An append of a single word close to a command (`lsit`) or of a shell habit (`clear`) is asked
   * about first, No by default; a script has no one to ask, so there the line fails instead.
   */
  async confirm(
    line: string,
    command: ShellCommand & { readonly kind: 'append' },
    prompt: ShowPrompt,
    lines: AsyncIterator<string>,
  ): Promise<ShellCommand> {
    const doubt = appendDoubt(line);
    if (doubt === undefined) return command;
    if (!this.interactive) return { kind: 'invalid', message: doubt.refusal };
    prompt(doubt.question);
    const answer = await lines.next();
    if (answer.done !== true && isYes(answer.value)) return command;
    return { kind: 'nothing' };
  }

  readlineOptions(history: string | undefined): ReadLineOptions {
    const base: ReadLineOptions = { input: this.options.input, crlfDelay: Infinity };
    if (!this.interactive) return { ...base, terminal: false };
    return {
      ...base,
      output: this.options.output,
      terminal: true,
      historySize: HISTORY_LINES,
      history: history === undefined ? [] : this.#loadHistory(history),
      completer: (line: string) => completeShellLine(line, this.#names),
    };
  }

  /** Saves the history after every line, so a killed terminal loses nothing. */
  keepHistory(rl: Interface, path: string): void {
    rl.on('history', (newestFirst: string[]) => {
      if (this.#historyBroken) return;
      try {
        saveHistory(path, newestFirst);
      } catch (error) {
        this.#historyBroken = true;
        this.#error(
          `history not saved to ${path} (${(error as Error).message}): set RLOG_HISTORY to a writable file, or empty to keep none`,
        );
      }
    });
  }

  #loadHistory(path: string): string[] {
    try {
      return loadHistory(path);
    } catch (error) {
      this.#error(`history not read from ${path} (${(error as Error).message}); starting without`);
      return [];
    }
  }

  async greet(): Promise<void> {
    this.#print(
      `rlog shell on ${this.options.master}: type a line to append it, "help" for the commands, Ctrl-D to leave`,
    );
    try {
      const health = await fetchHealth(this.client, {
        timeoutMs: GREETING_HEALTH_TIMEOUT_MS,
        once: true,
      });
      this.#names = nodeNames(health);
      this.#print(healthSummary(health));
    } catch (error) {
      if (!isClientFailure(error)) throw error;
      this.#error(error.message);
    }
  }

  /** Ctrl-C: stop waiting for the running command, else clear the line, else say how to leave. */
  interrupt(rl: Interface, prompt: ShowPrompt): void {
    if (this.#running !== undefined) {
      this.#running.abort();
      return;
    }
    if (rl.line !== '') {
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      return;
    }
    this.options.output.write('\n(to leave, type exit or press Ctrl-D)\n');
    prompt();
  }

  async run(command: ShellCommand, lineNumber: number): Promise<void> {
    const running = new AbortController();
    this.#running = running;
    let outcome: Outcome;
    try {
      outcome = await this.#execute(command, running.signal);
    } catch (error) {
      // The shell outlives any one command: even an unexpected error is reported, not fatal.
      outcome = { ok: false, text: `unexpected error: ${(error as Error).stack ?? String(error)}` };
    } finally {
      this.#running = undefined;
    }
    if (!outcome.ok && running.signal.aborted) {
      outcome = {
        ok: false,
        text: 'stopped waiting (Ctrl-C); an append may already be stored, and then it will still be replicated ("list" shows it)',
      };
    }
    if (outcome.ok) {
      if (outcome.text !== '') this.#print(outcome.text);
      return;
    }
    this.failed = true;
    // A script's author needs to know which line failed; a person at the prompt just typed it.
    this.#error(this.interactive ? outcome.text : `line ${lineNumber}: ${outcome.text}`);
  }

  async #execute(command: ShellCommand, signal: AbortSignal): Promise<Outcome> {
    switch (command.kind) {
      case 'append':
        return this.#append(command.message, signal);
      case 'list':
        return this.#list(command.node);
      case 'tail':
        return this.#tail(command.node, command.follow, signal);
      case 'show-w':
        return { ok: true, text: describeWriteConcern(this.w) };
      case 'set-w':
        return this.#setW(command.w, signal);
      case 'health':
        return attempt('cannot read the health of the cluster', async () => {
          const health = await fetchHealth(this.client, { signal });
          this.#names = nodeNames(health);
          return { ok: true, text: healthSummary(health) };
        });
      case 'help':
        return { ok: true, text: SHELL_HELP };
      case 'invalid':
        return { ok: false, text: command.message };
      case 'exit':
      case 'nothing':
        return { ok: true, text: '' };
    }
  }

  async #append(message: string, signal: AbortSignal): Promise<Outcome> {
    const options = {
      w: this.w,
      signal,
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
    };
    return attempt('cannot append', async () => {
      const answer = await appendAnswer({
        client: this.client,
        messages: [message],
        options,
        ...progressTo(this.options.quiet ? undefined : this.options.errors),
      });
      if (answer.redirect !== undefined && !this.options.quiet) {
        this.#error(redirectText(answer.redirect));
      }
      return answer.outcome;
    });
  }

  async #list(node: string | undefined): Promise<Outcome> {
    return attempt(`cannot list ${node ?? 'master'}`, async () => {
      const entries = await readLog(await resolveNode(this.client, node));
      const text =
        entries.length === 0 && this.interactive
          ? `(the log of ${node ?? 'master'} is empty)`
          : entryLines(entries).join('\n');
      return { ok: true, text };
    });
  }

  /**
   * The last SHELL_TAIL_ENTRIES entries; with -f, then each new one as it comes, printed at once,
   * until Ctrl-C (which ends it as asked, not as a failure). A script cannot press Ctrl-C, so
   * there -f is refused.
   */
  async #tail(node: string | undefined, follow: boolean, signal: AbortSignal): Promise<Outcome> {
    const name = node ?? 'master';
    if (follow && !this.interactive) {
      return {
        ok: false,
        text: 'tail -f follows until Ctrl-C, which a script cannot press: use tail, or rlog tail -f',
      };
    }
    return attempt(`cannot tail ${name}`, async () => {
      const client = await resolveNode(this.client, node);
      const after = await startAfter(client, { lines: SHELL_TAIL_ENTRIES }, signal);
      if (!follow) {
        const entries = await lastEntries(client, after, SHELL_TAIL_ENTRIES, signal);
        const empty = entries.length === 0 && this.interactive;
        return {
          ok: true,
          text: empty ? `(the log of ${name} is empty)` : entryLines(entries).join('\n'),
        };
      }
      this.#print(`following ${name} after entry ${after}; Ctrl-C stops`);
      let last = after;
      await followAfter(client, after, signal, {
        entry: (entry) => {
          last = entry.id;
          this.#print(entryLines([entry]).join(''));
        },
        reconnect: (reconnect) => {
          this.#error(reconnectText(reconnect));
        },
      });
      return { ok: true, text: `(stopped following ${name} after entry ${last})` };
    });
  }

  async #setW(w: WriteConcern, signal: AbortSignal): Promise<Outcome> {
    if (typeof w === 'number') {
      let size: number;
      try {
        const health = await fetchHealth(this.client, { signal });
        this.#names = nodeNames(health);
        size = health.quorum.size;
      } catch (error) {
        return failure(`cannot check w=${w} against the size of the cluster`, error);
      }
      const problem = writeConcernProblem(w, size);
      if (problem !== undefined) return { ok: false, text: problem };
    }
    this.w = w;
    return { ok: true, text: describeWriteConcern(w) };
  }

  #print(text: string): void {
    this.options.output.write(`${text}\n`);
  }

  #error(text: string): void {
    this.options.errors.write(`${this.interactive ? '' : 'rlog shell: '}${text}\n`);
  }
}

/** Runs `body`; a client failure becomes a failed outcome that says what was being done. */
async function attempt(doing: string, body: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await body();
  } catch (error) {
    return failure(doing, error);
  }
}

/** A client failure (the cluster's answer or its absence) as a failed outcome; others go on up. */
function failure(doing: string, error: unknown): Outcome {
  if (!isClientFailure(error)) throw error;
  return { ok: false, text: `${doing}: ${error.message}` };
}
