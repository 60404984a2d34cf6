/**
 * The actions of `rlog append`, `list`, `tail`, `health`, `wait` and `shell`, with their options already
 * parsed by commander (program.ts). Each returns the process's exit code: 0 done, 1 the cluster
 * refused or the wait ran out, 2 a usage error or no answer at all.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { runShell } from './shell.js';
import { parseWriteConcern } from './shell-commands.js';
import {
  apiToken,
  appendAnswer,
  clientFor,
  DEFAULT_CATCH_UP_TIMEOUT_S,
  fetchHealth,
  masterUrl,
  nodeUrls,
  progressTo,
  readLog,
  resolveNode,
  waitForCatchUp,
} from './commands.js';
import { followAfter, pagesAfter, startAfter } from './tail.js';
import { entryLines, healthSummary, reconnectText, redirectText } from './texts.js';
import {
  ReplicatedLogError,
  type Entry,
  type ReplicatedLogClient,
  type WriteConcern,
} from '../client/index.js';

/** `rlog wait --timeout-s` at most a day: a bound, not a policy. */
const MAX_CATCH_UP_TIMEOUT_S = 86_400;

export interface AppendFlags {
  readonly w?: string;
  readonly key?: string;
  readonly timeoutMs?: string;
  readonly master?: string;
  /** The cluster's node URLs, comma-separated (else RLOG_NODES). */
  readonly nodes?: string;
  readonly apiToken?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export async function append(messages: readonly string[], flags: AppendFlags): Promise<number> {
  const w = flags.w === undefined ? undefined : writeConcernFlag('append', flags.w);
  const timeoutMs = wholeNumberFlag('append', '--timeout-ms', flags.timeoutMs);
  if (w === null || timeoutMs === null) return 2;
  const master = masterUrl(flags.master);
  if (process.stderr.isTTY && flags.quiet !== true)
    process.stderr.write(`appending to ${master}/logs (w=${flags.w ?? 'all'}) ...\n`);
  const answer = await appendAnswer({
    client: clientFor(master, apiToken(flags.apiToken), nodeUrls(flags.nodes)),
    messages,
    options: {
      ...(w === undefined ? {} : { w }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(flags.key === undefined ? {} : { idempotencyKey: flags.key }),
    },
    ...progressTo(flags.quiet === true ? undefined : process.stderr),
  });
  const { outcome } = answer;
  if (answer.redirect !== undefined && flags.quiet !== true)
    process.stderr.write(`rlog append: ${redirectText(answer.redirect)}\n`);
  if (flags.json === true) process.stdout.write(`${JSON.stringify(answer.body)}\n`);
  else if (outcome.ok) process.stdout.write(`${outcome.text}\n`);
  else process.stderr.write(`rlog append: ${outcome.text}\n`);
  return outcome.ok ? 0 : 1;
}

export interface ListFlags {
  readonly node?: string;
  readonly since?: string;
  readonly limit?: string;
  readonly master?: string;
  readonly nodes?: string;
  readonly json?: boolean;
}

export async function list(flags: ListFlags): Promise<number> {
  const since = wholeNumberFlag('list', '--since', flags.since);
  const limit = wholeNumberFlag('list', '--limit', flags.limit);
  if (since === null || limit === null) return 2;
  const node = await resolveNode(clusterClient(flags), flags.node);
  let entries;
  try {
    entries = await readLog(node, {
      ...(since === undefined ? {} : { since }),
      ...(limit === undefined ? {} : { limit }),
    });
  } catch (error) {
    // A node that answered with an error is exit 1; no answer at all is 2.
    if (!(error instanceof ReplicatedLogError) || error.unreachable) throw error;
    process.stderr.write(`rlog list: ${error.message}\n`);
    return 1;
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(entries)}\n`);
  else for (const line of entryLines(entries)) process.stdout.write(`${line}\n`);
  return 0;
}

export interface TailFlags {
  readonly follow?: boolean;
  readonly since?: string;
  readonly lines?: string;
  readonly node?: string;
  readonly master?: string;
  readonly nodes?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/**
 * `rlog tail`: without -f, what the node holds now after the start, page by page; with -f, then
 * every new entry, through the client's follow (reconnecting, resuming after the last printed)
 * until SIGINT or SIGTERM (exit 0) or a failure it cannot get past (exit 1).
 */
export async function tail(flags: TailFlags): Promise<number> {
  const since = wholeNumberFlag('tail', '--since', flags.since);
  const lines = wholeNumberFlag('tail', '--lines', flags.lines);
  if (since === null || lines === null) return 2;
  if (since !== undefined && lines !== undefined) {
    process.stderr.write('rlog tail: give --since or --lines, not both\n');
    return 2;
  }
  const start = since !== undefined ? { after: since } : lines !== undefined ? { lines } : {};
  const node = await resolveNode(clusterClient(flags), flags.node);
  const show = (entry: Entry): string =>
    flags.json === true ? JSON.stringify(entry) : entryLines([entry]).join('');
  try {
    const after = await startAfter(node, start);
    if (flags.follow === true) return await followToStdout(node, after, show, flags.quiet === true);
    for await (const page of pagesAfter(node, after)) {
      await writeLine(process.stdout, page.map(show).join('\n'));
    }
    return 0;
  } catch (error) {
    // No answer at all is exit 2 (as for every command); any other failure is exit 1.
    const silent =
      error instanceof ReplicatedLogError && /^(UNREACHABLE|TIMEOUT)$/.test(error.code);
    if (!(error instanceof ReplicatedLogError) || silent) throw error;
    process.stderr.write(`rlog tail: ${error.message}\n`);
    return 1;
  }
}

async function followToStdout(
  node: ReplicatedLogClient,
  after: number,
  show: (entry: Entry) => string,
  quiet: boolean,
): Promise<number> {
  const stop = new AbortController();
  const onStop = (): void => {
    stop.abort();
  };
  process.once('SIGINT', onStop);
  process.once('SIGTERM', onStop);
  // A closed pipe (rlog tail -f | head) ends the follow, quietly.
  process.stdout.once('error', onStop);
  try {
    await followAfter(node, after, stop.signal, {
      entry: (entry) => writeLine(process.stdout, show(entry), stop.signal),
      ...(quiet
        ? {}
        : {
            reconnect: (reconnect) => {
              process.stderr.write(`rlog tail: ${reconnectText(reconnect)}\n`);
            },
          }),
    });
    return 0;
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.stdout.off('error', onStop);
  }
}

/** Writes a line (none for empty text); waits while the stream's buffer is full. */
async function writeLine(stream: Writable, text: string, signal?: AbortSignal): Promise<void> {
  if (text === '' || stream.write(`${text}\n`)) return;
  await once(stream, 'drain', signal === undefined ? {} : { signal });
}

/** The client of a read-only command: --master (or its default), and --nodes to find the master. */
function clusterClient(flags: {
  readonly master?: string;
  readonly nodes?: string;
}): ReplicatedLogClient {
  return clientFor(masterUrl(flags.master), undefined, nodeUrls(flags.nodes));
}

export async function health(flags: {
  readonly master?: string;
  readonly nodes?: string;
  readonly json?: boolean;
}): Promise<number> {
  const client = clusterClient(flags);
  if (flags.json === true) {
    const { health } = await client.findMaster();
    process.stdout.write(`${JSON.stringify(health, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${healthSummary(await fetchHealth(client))}\n`);
  return 0;
}

export async function wait(flags: {
  readonly timeoutS?: string;
  readonly master?: string;
  readonly nodes?: string;
  readonly quiet?: boolean;
}): Promise<number> {
  const raw = flags.timeoutS ?? String(DEFAULT_CATCH_UP_TIMEOUT_S);
  const timeoutS = Number(raw);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > MAX_CATCH_UP_TIMEOUT_S) {
    process.stderr.write(
      `rlog wait: --timeout-s must be a number of seconds above 0 and at most ${MAX_CATCH_UP_TIMEOUT_S}; got "${raw}"\n`,
    );
    return 2;
  }
  const outcome = await waitForCatchUp(clusterClient(flags), {
    timeoutS,
    ...progressTo(flags.quiet === true ? undefined : process.stderr),
  });
  if (outcome.ok) process.stdout.write(`${outcome.text}\n`);
  else process.stderr.write(`rlog wait: ${outcome.text}\n`);
  return outcome.ok ? 0 : 1;
}

export async function shell(flags: Omit<AppendFlags, 'key' | 'json'>): Promise<number> {
  const w = parseWriteConcern(flags.w ?? 'all');
  if (w === undefined) {
    process.stderr.write(
      `rlog shell: -w must be a number of nodes (1 or more), "majority" or "all"; got "${flags.w ?? ''}"\n`,
    );
    return 2;
  }
  const timeoutMs = wholeNumberFlag('shell', '--timeout-ms', flags.timeoutMs);
  if (timeoutMs === null) return 2;
  return runShell({
    master: masterUrl(flags.master),
    nodes: nodeUrls(flags.nodes),
    apiToken: apiToken(flags.apiToken),
    w,
    timeoutMs,
    quiet: flags.quiet === true,
    env: process.env,
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
  });
}

/**
 * `-w`: a whole number (checked against the cluster by the master, which names the range),
 * "majority" or "all"; null (after saying why) for anything else.
 */
function writeConcernFlag(command: string, raw: string): WriteConcern | null {
  if (/^[0-9]+$/.test(raw)) return Number(raw);
  const w = parseWriteConcern(raw);
  if (w !== undefined) return w;
  process.stderr.write(
    `rlog ${command}: -w must be a number of nodes (1 or more), "majority" or "all"; got "${raw}"\n`,
  );
  return null;
}

/** A whole-number flag; undefined when absent, null (after saying why) when not a number. */
function wholeNumberFlag(
  command: string,
  flag: string,
  raw: string | undefined,
): number | undefined | null {
  if (raw === undefined) return undefined;
  if (/^[0-9]{1,15}$/.test(raw)) return Number(raw);
  process.stderr.write(`rlog ${command}: ${flag} must be a whole number from 0; got "${raw}"\n`);
  return null;
}
