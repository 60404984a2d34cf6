/**
 * The client operations `rlog` commands and `rlog shell` share: finding the master and a node,
 * reading health and logs, appending with progress, and waiting for catch-up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WriteConcern } from '../core/write-concern.js';
import { call, ClientError, errorText, type ClientAnswer } from './client.js';
import { ProgressGate } from './progress-gate.js';
import {
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
/** `rlog wait` gives up after this long unless told otherwise. */
export const DEFAULT_CATCH_UP_TIMEOUT_S = 60;

/** The master's URL: the flag, else RLOG_MASTER, else the local default; no trailing slash. */
export function masterUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return (flag ?? env['RLOG_MASTER'] ?? DEFAULT_MASTER_URL).replace(/\/+$/, '');
}

/** The API token appends carry: the flag, else RLOG_API_TOKEN; none when empty or unset. */
export function apiToken(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const token = flag ?? env['RLOG_API_TOKEN'];
  return token === undefined || token === '' ? undefined : token;
}

/** The master's /health; a secondary's URL is refused with the master's URL as the fix. */
export async function fetchHealth(
  master: string,
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<MasterHealthView> {
  const answer = await call(`${master}/health`, {
    timeoutMs: options.timeoutMs ?? READ_TIMEOUT_MS,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (answer.status !== 200) {
    throw new ClientError(`${master}/health answered ${answer.status} ${errorText(answer.body)}`);
  }
  const body = answer.body as { role?: string; master?: { url?: string | null } };
  if (body.role !== 'master') {
    const url = body.master?.url;
    throw new ClientError(
      typeof url === 'string'
        ? `${master} is a ${body.role ?? 'node'}, not the master; the master is at ${url}: use --master ${url}`
        : `${master} is not a master (its /health says role ${JSON.stringify(body.role)}): give the master's URL with --master`,
    );
  }
  return answer.body as MasterHealthView;
}

/** The URL of a node given by name (`master`, `sub1`, ... as the master's /health knows them) or URL. */
export async function resolveNode(master: string, node: string | undefined): Promise<string> {
  if (node === undefined || node === 'master') return master;
  if (/^https?:\/\//.test(node)) return node.replace(/\/+$/, '');
  const health = await fetchHealth(master);
  const found = health.secondaries.find((candidate) => candidate.name === node);
  if (found === undefined) {
    throw new ClientError(
      `no node named "${node}"; the master knows: ${nodeNames(health).join(', ')}`,
    );
  }
  return found.url;
}

/** GET /logs on a node, with `since`/`limit` passed through. */
export async function readLog(
  base: string,
  query: { readonly since?: string; readonly limit?: string } = {},
): Promise<LogEntryView[]> {
  const params = new URLSearchParams();
  if (query.since !== undefined) params.set('since', query.since);
  if (query.limit !== undefined) params.set('limit', query.limit);
  const answer = await call(`${base}/logs${params.size > 0 ? `?${params.toString()}` : ''}`, {
    timeoutMs: READ_TIMEOUT_MS,
  });
  if (answer.status !== 200) {
    throw new ClientError(`${base}/logs answered ${answer.status} ${errorText(answer.body)}`);
  }
  return answer.body as LogEntryView[];
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
  readonly master: string;
  /** The POST /logs body: `message` or `messages`, and `w`, `timeoutMs` as given. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly idempotencyKey?: string;
  /** Sent as `Authorization: Bearer <apiToken>` (a master started with API_TOKEN needs it). */
  readonly apiToken?: string | undefined;
  /** Called with each progress line worth printing; absent: no progress polling at all. */
  readonly progress?: (line: string) => void;
  /** Stops waiting (Ctrl-C in the shell); the call then fails with a ClientError. */
  readonly signal?: AbortSignal;
}

/**
 * POST /logs, and while the answer is slower than PROGRESS_AFTER_MS, polls the master's /health
 * each PROGRESS_POLL_MS to say what the append waits for. The append itself has no timeout of its
 * own: the API blocks until `w` nodes hold the entry (or the body's `timeoutMs` passes).
 */
export async function appendWithProgress(request: AppendRequest): Promise<ClientAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
  if (request.apiToken !== undefined) headers['authorization'] = `Bearer ${request.apiToken}`;
  const answer = call(`${request.master}/logs`, {
    method: 'POST',
    headers,
    body: JSON.stringify(request.body),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
  const { progress } = request;
  if (progress === undefined) return answer;
  const answered = new AbortController();
  const w = request.body['w'];
  const concern = typeof w === 'number' || w === 'majority' || w === 'all' ? w : undefined;
  // Progress is a courtesy: whatever goes wrong in it, even before the answer comes, must not
  // lose the append's answer (nor end the process as an unhandled rejection).
  const watching = watchAppend(request.master, concern, progress, answered.signal).catch(
    () => undefined,
  );
  try {
    return await answer;
  } finally {
    answered.abort();
    await watching;
  }
}

async function watchAppend(
  master: string,
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
      const health = await fetchHealth(master, { timeoutMs: POLL_TIMEOUT_MS, signal: answered });
      id ??= health.log.lastId;
      line = appendProgress(health, w, id);
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
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

/**
 * Polls the master's /health until every secondary is Healthy with lag 0, or `timeoutS` passes.
 * A master that does not answer yet is waited for too (as right after `rlog cluster` starts).
 */
export async function waitForCatchUp(
  master: string,
  options: { readonly timeoutS: number; readonly progress?: (line: string) => void },
): Promise<Outcome> {
  const deadline = Date.now() + options.timeoutS * 1000;
  const gate = new ProgressGate();
  for (;;) {
    let line: ProgressLine;
    try {
      // A whole poll even near the deadline (overshooting it by at most POLL_TIMEOUT_MS), so the
      // last word is the cluster's state rather than a poll cut short.
      const health = await fetchHealth(master, { timeoutMs: POLL_TIMEOUT_MS });
      const state = catchUpState(health);
      if (state.done) return { ok: true, text: state.line.text };
      line = state.line;
    } catch (error) {
      if (!(error instanceof ClientError && error.unreachable)) throw error;
      const text = `waiting for the master: ${error.message}`;
      line = { text, key: text };
    }
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, text: catchUpTimeoutText(options.timeoutS, line.text) };
    if (gate.offer(line, Date.now())) options.progress?.(line.text);
    await sleep(Math.min(PROGRESS_POLL_MS, left));
  }
}
