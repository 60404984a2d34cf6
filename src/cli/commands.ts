/**
 * The client operations `rlog` commands and `rlog shell` share, on the typed client
 * (src/client): finding the master and a node, reading health and logs, appending with progress,
 * and waiting for catch-up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ReplicatedLogClient,
  ReplicatedLogError,
  type AppendOptions,
  type AppendResult,
  type BatchAppendResult,
  type Health,
  type WriteConcern,
} from '../client/index.js';
import { CliError } from './cli-error.js';
import { ProgressGate } from './progress-gate.js';
import {
  appendOutcome,
  appendProgress,
  catchUpState,
  catchUpTimeoutText,
  nodeNames,
  type LogEntryView,
  type MasterHealthView,
  type Outcome,
  type ProgressLine,
} from './texts.js';

export const DEFAULT_MASTER_URL = 'http://127.0.0.1:8000';
/** Reads (health, logs) answer at once on a live node; a paused one must not hang the client. */
export const READ_TIMEOUT_MS = 10_000;
/** An append not answered within this long starts showing its progress. */
export const PROGRESS_AFTER_MS = 1000;
/** How often progress polls the master's /health, and how long one poll may take. */
export const PROGRESS_POLL_MS = 1000;
const POLL_TIMEOUT_MS = 2000;
/** A poll is repeated by its own loop: one attempt each. */
const ONE_ATTEMPT = { maxAttempts: 1 };
/** `rlog wait` gives up after this long unless told otherwise. */
export const DEFAULT_CATCH_UP_TIMEOUT_S = 60;

/** The master's URL: the flag, else RLOG_MASTER, else the local default; no trailing slash. */
export function masterUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return (flag ?? env['RLOG_MASTER'] ?? DEFAULT_MASTER_URL).replace(/\/+$/, '');
}

/**
 * The cluster's node URLs, where appends look for the master when the one they were sent to does
 * not answer: the flag, else RLOG_NODES, comma-separated; none when empty or unset.
 */
export function nodeUrls(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const list = flag ?? env['RLOG_NODES'] ?? '';
  return list
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => url !== '');
}

/** The API token appends carry: the flag, else RLOG_API_TOKEN; none when empty or unset. */
export function apiToken(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const token = flag ?? env['RLOG_API_TOKEN'];
  return token === undefined || token === '' ? undefined : token;
}

/**
 * The client every command uses for the master (reads of another node use `client.at(url)`). Its
 * appends follow 421 NOT_MASTER to the master, and go on at the next of `nodes` when a node does
 * not answer. It retries what the client retries, but READ_ONLY: that lasts until a majority is
 * back, which may be long, and a person is better told at once (the text says when appends resume).
 */
export function clientFor(
  master: string,
  token?: string,
  nodes: readonly string[] = [],
): ReplicatedLogClient {
  return new ReplicatedLogClient({
    url: master,
    nodes,
    apiToken: token,
    readTimeoutMs: READ_TIMEOUT_MS,
    retry: { shouldRetry: (failure) => failure.code !== 'READ_ONLY' },
  });
}

/** True for the failures a command reports as its answer (the cluster said no, or said nothing). */
export function isClientFailure(error: unknown): error is ReplicatedLogError | CliError {
  return error instanceof ReplicatedLogError || error instanceof CliError;
}

/**
 * The master's /health, wherever the master is now: found through the /health of the client's
 * node and of its `nodes` (client.findMaster), so the URL of a secondary, or with failover of
 * any live node, leads to it; the client's appends go there too. Fails with NOT_MASTER during an
 * election, and with a CliError for a master just elected that does not list the others yet.
 */
export async function fetchHealth(
  client: ReplicatedLogClient,
  options: {
    readonly timeoutMs?: number;
    readonly signal?: AbortSignal;
    readonly once?: boolean;
  } = {},
): Promise<MasterHealthView> {
  const found = await client.findMaster({
    ...(options.timeoutMs === undefined ? {} : { attemptTimeoutMs: options.timeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.once === true ? { retry: ONE_ATTEMPT } : {}),
  });
  const view = masterView(found.health);
  if (view === undefined)
    throw new CliError(
      `the master at ${found.url} was just elected and does not list the other nodes yet: ask again in a moment`,
    );
  return view;
}

/** A master's /health as the CLI reads it; undefined when it does not list the others (yet). */
function masterView(health: Health): MasterHealthView | undefined {
  if (health.role !== 'master') return undefined;
  const { quorum, secondaries } = health;
  if (quorum === undefined || secondaries === undefined) return undefined;
  return {
    node: health.node,
    role: 'master',
    status: health.status,
    readOnly: health.readOnly,
    quorum,
    log: health.log,
    secondaries,
    ...('failover' in health ? { failover: { epoch: health.epoch } } : {}),
  };
}

/**
 * The client of a node given by name (`master` or the master's own name: the master now; `sub1`,
 * ... as the master's /health knows them) or URL.
 */
export async function resolveNode(
  client: ReplicatedLogClient,
  node: string | undefined,
): Promise<ReplicatedLogClient> {
  if (node !== undefined && /^https?:\/\//.test(node)) return client.at(node);
  const health = await fetchHealth(client);
  const master = client.at(client.masterUrl);
  if (node === undefined || node === 'master' || node === health.node) return master;
  const found = health.secondaries.find((candidate) => candidate.name === node);
  if (found === undefined) {
    throw new CliError(
      `no node named "${node}"; the master knows: ${nodeNames(health).join(', ')}`,
    );
  }
  return client.at(found.url);
}

/** GET /logs on a node, with `since`/`limit` passed through. */
export async function readLog(
  client: ReplicatedLogClient,
  query: { readonly since?: number; readonly limit?: number } = {},
): Promise<LogEntryView[]> {
  return client.read(query);
}

/**
 * Where progress lines go: stderr for the commands, so stdout stays the answer alone and scripts
 * can read it; undefined (--quiet) for none.
 */
export function progressTo(stream: NodeJS.WritableStream | undefined): {
  progress?: (line: string) => void;
} {
  if (stream === undefined) return {};
  return {
    progress: (line: string) => {
      stream.write(`${line}\n`);
    },
  };
}

export interface AppendRequest {
  readonly client: ReplicatedLogClient;
  /** One message is a single append, more a batch. */
  readonly messages: readonly string[];
  /** w, timeoutMs, the idempotency key (default: a new one, kept across retries), a signal. */
  readonly options: AppendOptions;
  /** Called with each progress line worth printing; absent: no progress polling at all. */
  readonly progress?: (line: string) => void;
}

export type Appended = AppendResult | BatchAppendResult;

/** The answer's body as the master sent it (what `rlog append --json` prints). */
export function appendedBody(result: Appended): Record<string, unknown> {
  const entries = 'entries' in result ? { logs: result.entries } : { log: result.entry };
  return { status: 'success', ...entries, w: result.w, acks: result.acks };
}

export interface AppendAnswer {
  /** What it means for the person who sent it. */
  readonly outcome: Outcome;
  /** The master's answer as it sent it (`rlog append --json`). */
  readonly body: unknown;
  /** Set when the append was taken elsewhere than where it was sent: `from` named `to` the master. */
  readonly redirect?: { readonly from: string; readonly to: string };
}

/**
 * An append with progress, as the words `rlog append` and the shell print: the master's answer,
 * a refusal included. No answer at all (or a stop) is thrown, as the client's error.
 */
export async function appendAnswer(request: AppendRequest): Promise<AppendAnswer> {
  const from = request.client.masterUrl;
  try {
    const result = await appendWithProgress(request);
    const body = appendedBody(result);
    const outcome = appendOutcome(result.replayed ? 200 : 201, body);
    return {
      outcome,
      body,
      ...(result.node === from ? {} : { redirect: { from, to: result.node } }),
    };
  } catch (error) {
    if (!(error instanceof ReplicatedLogError) || error.status === undefined) throw error;
    // A 421 the client did not follow (no master known, or the redirects ran out): its words.
    const outcome =
      error.code === 'NOT_MASTER'
        ? { ok: false, text: error.message }
        : appendOutcome(error.status, error.body);
    return { outcome, body: error.body };
  }
}

/**
 * Appends, and while the answer is slower than PROGRESS_AFTER_MS, polls the master's /health
 * each PROGRESS_POLL_MS to say what the append waits for. The append itself has no timeout of its
 * own: the API blocks until `w` nodes hold the entry (or the append's `timeoutMs` passes).
 * Fails with the client's ReplicatedLogError.
 */
export async function appendWithProgress(request: AppendRequest): Promise<Appended> {
  const { client, messages, options, progress } = request;
  const [first] = messages;
  const answer =
    messages.length === 1 && first !== undefined
      ? client.append(first, options)
      : client.appendBatch(messages, options);
  if (progress === undefined) return answer;
  const answered = new AbortController();
  // Progress is a courtesy: whatever goes wrong in it, even before the answer comes, must not
  // lose the append's answer (nor end the process as an unhandled rejection).
  const watching = watchAppend(client, options.w, progress, answered.signal).catch(() => undefined);
  try {
    return await answer;
  } finally {
    answered.abort();
    await watching;
  }
}

async function watchAppend(
  client: ReplicatedLogClient,
  w: WriteConcern | undefined,
  progress: (line: string) => void,
  answered: AbortSignal,
): Promise<void> {
  const gate = new ProgressGate();
  let id: number | undefined;
  if (!(await pause(PROGRESS_AFTER_MS, answered))) return;
  for (;;) {
    let line: ProgressLine;
    try {
      // The master the append found, which may not be the node it was sent to.
      const health = await fetchHealth(client.at(client.masterUrl), {
        timeoutMs: POLL_TIMEOUT_MS,
        signal: answered,
        once: true,
      });
      id ??= health.log.lastId;
      line = appendProgress(health, w, id);
    } catch (error) {
      if (!isClientFailure(error)) throw error;
      const text = `waiting for the append's answer; the master's /health did not answer: ${error.message}`;
      line = { text, key: text };
    }
    if (answered.aborted) return;
    if (gate.offer(line, Date.now())) progress(line.text);
    if (!(await pause(PROGRESS_POLL_MS, answered))) return;
  }
}

/** Sleeps `ms`; false when `signal` fired first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** What `rlog wait` waits through: no answer yet, an election, a master not ready yet. */
function waitable(error: unknown): error is ReplicatedLogError | CliError {
  return (
    error instanceof CliError ||
    (error instanceof ReplicatedLogError && (error.unreachable || error.code === 'NOT_MASTER'))
  );
}

/**
 * Polls the master's /health until every secondary is Healthy with lag 0, or `timeoutS` passes.
 * A master that does not answer yet is waited for too (as right after `rlog cluster` starts), and
 * with failover one not elected yet (the nodes are asked where the master is at every poll).
 */
export async function waitForCatchUp(
  client: ReplicatedLogClient,
  options: { readonly timeoutS: number; readonly progress?: (line: string) => void },
): Promise<Outcome> {
  const deadline = Date.now() + options.timeoutS * 1000;
  const gate = new ProgressGate();
  for (;;) {
    let line: ProgressLine;
    try {
      // A whole poll even near the deadline (overshooting it by at most POLL_TIMEOUT_MS), so the
      // last word is the cluster's state rather than a poll cut short.
      const health = await fetchHealth(client, { timeoutMs: POLL_TIMEOUT_MS, once: true });
      const state = catchUpState(health);
      if (state.done) return { ok: true, text: state.line.text };
      line = state.line;
    } catch (error) {
      if (!waitable(error)) throw error;
      const text = `waiting for the master: ${error.message}`;
      line = { text, key: text };
    }
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, text: catchUpTimeoutText(options.timeoutS, line.text) };
    if (gate.offer(line, Date.now())) options.progress?.(line.text);
    await sleep(Math.min(PROGRESS_POLL_MS, left));
  }
}
