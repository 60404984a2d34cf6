/**
 * What the client commands (`rlog append`, `health`, `wait` and `rlog shell`) print, as pure
 * functions of the master's answers, so the words live in one place and are unit-tested.
 */
import { resolveWriteConcern, type WriteConcern } from '../core/write-concern.js';
import { errorText } from './cli-error.js';

/** One secondary in the master's GET /health (docs/API.md, "Health"). */
export interface PeerView {
  readonly name: string;
  readonly url: string;
  readonly status: string;
  readonly ackedId: number;
  readonly lag: number;
  readonly lastContactMs: number | null;
}

/** The master's GET /health, as far as the CLI reads it. */
export interface MasterHealthView {
  readonly node: string;
  readonly role: 'master';
  readonly status: string;
  readonly readOnly: boolean;
  readonly quorum: { readonly size: number; readonly required: number; readonly healthy: number };
  readonly log: { readonly lastId: number };
  readonly secondaries: readonly PeerView[];
  /** Set on a node started with FAILOVER=true: the epoch it leads. */
  readonly failover?: { readonly epoch: number };
}

export interface LogEntryView {
  readonly id: number;
  readonly message: string;
}

/** A progress line and what it says apart from the clock, to tell news from repetition. */
export interface ProgressLine {
  readonly text: string;
  readonly key: string;
}

/** The outcome of a command as the user should read it; `ok` false goes to stderr. */
export interface Outcome {
  readonly ok: boolean;
  readonly text: string;
}

/** `rlog health`'s summary: the master's line, then one line per secondary. */
export function healthSummary(health: MasterHealthView): string {
  const { quorum } = health;
  const epoch = health.failover === undefined ? '' : ` (master, epoch ${health.failover.epoch})`;
  const lines = [
    `${health.node}${epoch}: ${health.status}, last id ${health.log.lastId}, quorum ${quorum.healthy}/${quorum.size} healthy (${quorum.required} needed)`,
  ];
  for (const peer of health.secondaries) {
    const contact = peer.lastContactMs === null ? 'never' : `${peer.lastContactMs} ms ago`;
    lines.push(
      `  ${peer.name.padEnd(8)} ${peer.status.padEnd(10)} acked ${peer.ackedId}, lag ${peer.lag}, last contact ${contact}  ${peer.url}`,
    );
  }
  return lines.join('\n');
}

/** Every node name the master knows, itself first (what `list NAME` accepts). */
export function nodeNames(health: MasterHealthView): string[] {
  const names = [health.node, ...health.secondaries.map((peer) => peer.name)];
  return names.includes('master') ? names : ['master', ...names];
}

/** Which node took an append that was sent elsewhere (a secondary, or a node that is down). */
export function redirectText(redirect: { readonly from: string; readonly to: string }): string {
  return `the master is ${redirect.to} (not ${redirect.from}): appended there`;
}

/** One line per entry, `id<TAB>message`, as `rlog list` prints them. */
export function entryLines(entries: readonly LogEntryView[]): string[] {
  return entries.map((entry) => `${entry.id}\t${entry.message}`);
}

/** What a follower does about its stream ending or failing (`rlog tail -f` on stderr). */
export function reconnectText(reconnect: {
  readonly afterId: number;
  readonly failures: number;
  readonly delayMs: number;
  readonly reason: string;
}): string {
  const { afterId, failures, delayMs, reason } = reconnect;
  const inRow =
    failures === 0 ? '' : `; ${failures} failed attempt${failures === 1 ? '' : 's'} in a row`;
  return `${reason} (reconnecting in ${delayMs} ms, resuming after entry ${afterId}${inRow})`;
}

interface AppendBodyView {
  readonly log?: { readonly id: number };
  readonly logs?: readonly { readonly id: number }[];
  readonly acks?: number;
  readonly w?: number;
  readonly master?: string | null;
  readonly quorum?: { readonly size: number; readonly required: number; readonly healthy: number };
  readonly error?: { readonly code?: string; readonly message?: string };
}

/** What an answer to POST /logs means for the person who sent it. */
export function appendOutcome(status: number, body: unknown): Outcome {
  const answer = (typeof body === 'object' && body !== null ? body : {}) as AppendBodyView;
  const ids = answer.logs?.map((entry) => entry.id).join(', ') ?? String(answer.log?.id);
  if (status === 200 || status === 201) {
    const replay = status === 200 ? ' (replayed: this key was used before)' : '';
    return {
      ok: true,
      text: `appended as id ${ids}: held by ${answer.acks ?? '?'} nodes (w=${answer.w ?? '?'})${replay}`,
    };
  }
  switch (answer.error?.code) {
    case 'READ_ONLY': {
      const q = answer.quorum;
      const why =
        q === undefined
          ? (answer.error.message ?? '').replace(/^no quorum: /, '')
          : `${q.healthy} of ${q.size} nodes healthy, ${q.required} needed; appends resume when a majority is back`;
      return { ok: false, text: `the master is read-only: ${why} (this append was not stored)` };
    }
    case 'NOT_MASTER': {
      const where =
        typeof answer.master === 'string'
          ? `the master is at ${answer.master}: use --master ${answer.master}`
          : 'it does not know the master (started without MASTER_URL): give the master with --master URL';
      return { ok: false, text: `this node is a secondary, which takes no appends; ${where}` };
    }
    case 'WRITE_CONCERN_TIMEOUT':
      return {
        ok: false,
        text: `${answer.logs !== undefined && answer.logs.length > 1 ? `ids ${ids} are` : `id ${ids} is`} stored, but only ${answer.acks ?? '?'} of the ${answer.w ?? '?'} nodes asked for held it when the timeout passed; it will still be replicated ("rlog wait" shows when)`,
      };
    default:
      return { ok: false, text: `${status} ${errorText(body)}` };
  }
}

function contactText(ms: number | null): string {
  return ms === null ? 'no contact yet' : `last contact ${(ms / 1000).toFixed(1)} s ago`;
}

/**
 * The progress of an append waiting for `w` (as asked; absent is the API's default, "all").
 * `id` is the master's last id when the wait began: the append's own id or a later one, so
 * counting the nodes that hold it never overstates progress (logs are gap-free prefixes).
 */
export function appendProgress(
  health: MasterHealthView,
  w: WriteConcern | undefined,
  id: number,
): ProgressLine {
  const size = health.secondaries.length + 1;
  const missing = health.secondaries.filter((peer) => peer.ackedId < id);
  const head = `waiting for w=${resolveWriteConcern(w ?? 'all', size)}: ${size - missing.length} of ${size} nodes hold id ${id}`;
  const peerKey = (peer: PeerView): string => `${peer.name} is ${peer.status} (lag ${peer.lag}`;
  return {
    text: [
      head,
      ...missing.map((peer) => `${peerKey(peer)}, ${contactText(peer.lastContactMs)})`),
    ].join('; '),
    key: [head, ...missing.map(peerKey)].join('; '),
  };
}

/** Where the cluster stands on catching up: every secondary Healthy with lag 0 is done. */
export function catchUpState(health: MasterHealthView): {
  readonly done: boolean;
  readonly line: ProgressLine;
} {
  const behind = health.secondaries.filter((peer) => peer.status !== 'Healthy' || peer.lag > 0);
  if (behind.length === 0) {
    const text =
      health.secondaries.length === 0
        ? `caught up: the master has no secondaries (last id ${health.log.lastId})`
        : `caught up: every secondary is Healthy and holds id ${health.log.lastId}`;
    return { done: true, line: { text, key: text } };
  }
  const text = `waiting for catch-up: ${behind.map((peer) => `${peer.name} lag ${peer.lag} (${peer.status})`).join(', ')}`;
  return { done: false, line: { text, key: text } };
}

/** The message for `rlog wait` running out of time; `last` is the last progress line seen. */
export function catchUpTimeoutText(timeoutS: number, last: string): string {
  return `not caught up after ${timeoutS} s (${last.replace(/^waiting for /, 'still waiting for ')}); "rlog health" shows the nodes: start any that are down, or give more time with --timeout-s`;
}
