/**
 * The way of an append to the master. A node that is not the master answers `421 NOT_MASTER`
 * with the master's URL in the body's `master` (or `null` and `Retry-After` while the cluster
 * elects one): the attempt re-sends the same request (same body, same Idempotency-Key) there, in
 * what is left of its time, at most `maxRedirects` times. A node that refuses the connection
 * never saw the request, so the attempt goes on at the next of the cluster's nodes. The client
 * remembers the master it found, so its next appends go straight there.
 */
import { envelopeOf, failing, failureOf, type Failure, type Verdict } from './answers.js';
import { appendVerdict, type AppendedBody } from './append-answer.js';
import type { Clock } from './clock.js';
import { neverConnected, type HttpOutcome } from './http.js';
import { nodeUrl } from './options.js';

/** The master as this client last found it, and the cluster's nodes to look for it at. */
export class MasterRoute {
  #master: string;
  readonly #nodes: readonly string[];

  /** `url` first, then `nodes` (each checked as a URL), each once. */
  constructor(url: string, nodes: readonly string[] = []) {
    this.#master = url;
    this.#nodes = [...new Set([url, ...nodes.map(nodeUrl)])];
  }

  /** Where the next append goes first. */
  get master(): string {
    return this.#master;
  }

  /** The cluster's nodes as given: `url` first, then `nodes`. */
  get nodes(): readonly string[] {
    return this.#nodes;
  }

  moveTo(url: string): void {
    this.#master = url;
  }

  /** The node after `url` in the cluster's list that is not in `passed`; undefined when none. */
  nextAfter(url: string, passed: ReadonlySet<string>): string | undefined {
    const at = this.#nodes.indexOf(url);
    for (let step = 1; step <= this.#nodes.length; step++) {
      const candidate = this.#nodes[(at + step) % this.#nodes.length];
      if (candidate !== undefined && !passed.has(candidate)) return candidate;
    }
    return undefined;
  }
}

/** An append's answer, and the node that gave it. */
export type RoutedAppend = AppendedBody & { readonly node: string };

export interface AppendAttempt {
  readonly route: MasterRoute;
  readonly maxRedirects: number;
  readonly clock: Clock;
  /** The bound on the whole attempt, redirects included; undefined: none. */
  readonly timeoutMs: number | undefined;
  /** Sends the append's request to `url` (a node's base URL), waiting at most `timeoutMs`. */
  readonly send: (url: string, timeoutMs: number | undefined) => Promise<HttpOutcome>;
}

type Step = { readonly to: string } | { readonly verdict: Verdict<RoutedAppend> };

/**
 * The pause before asking again when a node names a master that refused this attempt's
 * connection: that node has not noticed the master is gone, and an election follows within about
 * two election timeouts. A node's own `Retry-After` while it knows no master is as long.
 */
export const DOWN_MASTER_RETRY_AFTER_MS = 1000;

/** One attempt of an append: to the remembered master, then wherever the nodes point it. */
export async function appendAttempt(attempt: AppendAttempt): Promise<Verdict<RoutedAppend>> {
  const { route, clock } = attempt;
  const deadline = attempt.timeoutMs === undefined ? undefined : clock.now() + attempt.timeoutMs;
  const chain = [route.master];
  const refusedConnection = new Set<string>();
  for (;;) {
    const url = chain[chain.length - 1] ?? route.master;
    const leftMs = deadline === undefined ? undefined : Math.ceil(deadline - clock.now());
    if (leftMs !== undefined && leftMs <= 0) return outOfTime(chain, attempt.timeoutMs ?? 0);
    const outcome = await attempt.send(url, leftMs);
    if (neverConnected(outcome)) refusedConnection.add(url);
    const step = stepAfter(outcome, url, route, refusedConnection);
    if ('verdict' in step) return step.verdict;
    if (chain.length > attempt.maxRedirects) return tooManyRedirects(chain, step.to, outcome);
    route.moveTo(step.to);
    chain.push(step.to);
  }
}

/** What an answer of `url` means for the attempt: a node to go on at, or its verdict. */
function stepAfter(
  outcome: HttpOutcome,
  url: string,
  route: MasterRoute,
  refusedConnection: ReadonlySet<string>,
): Step {
  const what = `POST ${url}/logs`;
  if (outcome.kind === 'no-answer') {
    if (outcome.code !== 'ABORTED') {
      const notSent = refusedConnection.has(url);
      const next = route.nextAfter(url, notSent ? refusedConnection : new Set([url]));
      if (next !== undefined && notSent) return { to: next };
      // The request may have arrived: the retry (same key) asks the next node, which knows more.
      if (next !== undefined) route.moveTo(next);
    }
    return { verdict: failureOf(outcome, what) };
  }
  if (outcome.status === 421 && envelopeOf(outcome.body)?.code === 'NOT_MASTER') {
    const master = namedMaster(outcome.body);
    if (master !== undefined && refusedConnection.has(master))
      return { verdict: masterDown(url, master) };
    if (master !== undefined) return { to: master };
    const refusal = failureOf(outcome, what);
    // No master known now: during an election (Retry-After), the retry asks again after it.
    return {
      verdict: outcome.retryAfterMs === undefined ? refusal : { ...refusal, retry: 'refused' },
    };
  }
  const verdict = appendVerdict(outcome, what);
  return { verdict: verdict.ok ? { ok: true, value: { ...verdict.value, node: url } } : verdict };
}

/** The `master` URL of a 421's body; undefined when null, missing or not a URL. */
function namedMaster(body: unknown): string | undefined {
  const master = (body as { master?: unknown } | null)?.master;
  if (typeof master !== 'string') return undefined;
  try {
    return nodeUrl(master);
  } catch {
    return undefined;
  }
}

/** `url` names `master`, which refused the connection: retried once the cluster may know more. */
function masterDown(url: string, master: string): Failure & { readonly ok: false } {
  // Nothing was stored: the master was never reached and the node answered 421.
  return failing(
    'refused',
    `${url} names ${master} as the master, which refused the connection: it is down and the nodes have not elected another yet (an election follows within about two election timeouts)`,
    { code: 'NOT_MASTER', status: 421, retryAfterMs: DOWN_MASTER_RETRY_AFTER_MS },
  );
}

function tooManyRedirects(
  chain: readonly string[],
  next: string,
  outcome: HttpOutcome,
): Failure & { readonly ok: false } {
  const path = [...chain, next].join(' -> ');
  const details =
    outcome.kind === 'answer'
      ? { code: 'NOT_MASTER' as const, status: outcome.status, body: outcome.body }
      : { code: outcome.code };
  // Every answer was a 421: nothing was stored. Not retried: the bound is the caller's word.
  return failing(
    'never',
    `no master found within ${chain.length - 1} redirects (maxRedirects): ${path}; the nodes disagree on the master (an election may be under way): retry later, or ask each node's GET /health`,
    details,
  );
}

function outOfTime(chain: readonly string[], timeoutMs: number): Failure & { readonly ok: false } {
  return failing(
    'refused',
    `the attempt's ${timeoutMs} ms passed while looking for the master (${chain.join(' -> ')}); nothing was sent to ${chain[chain.length - 1] ?? ''} in this attempt`,
    { code: 'TIMEOUT' },
  );
}
