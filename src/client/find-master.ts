/**
 * Finding the master from any node. Every node's `GET /health` says its role; a node started
 * with FAILOVER=true also names the master it knows (`master: { name, url }`, null during an
 * election), a secondary of a fixed master the MASTER_URL it was given (`master.url`). The nodes
 * the client knows are asked at once: one that says it is master is the answer (the highest epoch
 * if two say so, as an old master may for a moment after an election); else each master a node
 * names is asked itself, so that the answer is always a node that said "master" about itself.
 */
import { ReplicatedLogError } from './errors.js';
import type { Health } from './wire.js';

/** The master, at the URL it answered on, and the /health it answered. */
export interface FoundMaster {
  readonly url: string;
  readonly health: Health;
}

type Asked =
  | { readonly url: string; readonly health: Health }
  | { readonly url: string; readonly error: unknown };

/** Asks `nodes` (then the masters they name) for their /health; throws when none is master. */
export async function findMaster(
  nodes: readonly string[],
  healthOf: (url: string) => Promise<Health>,
): Promise<FoundMaster> {
  const asked = await askAll(nodes, healthOf);
  const direct = leaderOf(asked);
  if (direct !== undefined) return direct;
  const named = new Set<string>();
  for (const answer of asked) {
    const url = 'health' in answer ? namedMasterUrl(answer.health) : undefined;
    if (url !== undefined && !nodes.includes(url)) named.add(url);
  }
  const further = await askAll([...named], healthOf);
  return leaderOf(further) ?? noMaster([...asked, ...further]);
}

async function askAll(
  urls: readonly string[],
  healthOf: (url: string) => Promise<Health>,
): Promise<Asked[]> {
  return Promise.all(
    urls.map((url) =>
      healthOf(url).then(
        (health): Asked => ({ url, health }),
        (error: unknown): Asked => ({ url, error }),
      ),
    ),
  );
}

/** The node that says it is master, the highest epoch first; undefined when none does. */
function leaderOf(asked: readonly Asked[]): FoundMaster | undefined {
  let best: FoundMaster | undefined;
  for (const answer of asked) {
    if (!('health' in answer) || answer.health.role !== 'master') continue;
    if (best === undefined || epochOf(answer.health) > epochOf(best.health)) best = answer;
  }
  return best;
}

function epochOf(health: Health): number {
  return typeof health.epoch === 'number' ? health.epoch : 0;
}

/** The master URL a node's /health names; undefined when it names none. */
function namedMasterUrl(health: Health): string | undefined {
  const master = 'master' in health ? (health.master as { url?: unknown } | null) : null;
  const url = master?.url;
  return typeof url === 'string' ? url.replace(/\/+$/, '') : undefined;
}

/**
 * No master found: when no node answered, the first node's own error (nothing answers there);
 * else NOT_MASTER, with what each node said.
 */
function noMaster(asked: readonly Asked[]): never {
  const first = asked[0];
  if (first === undefined) throw noNodes();
  if (asked.every((answer) => 'error' in answer) && 'error' in first)
    throw first.error instanceof Error ? first.error : new Error(String(first.error));
  const said = asked.map((answer) => `${answer.url}: ${saidText(answer)}`).join('; ');
  throw new ReplicatedLogError(
    `no node is the master now (${said}); during an election a new master is found within a few election timeouts: try again shortly`,
    { code: 'NOT_MASTER' },
  );
}

function saidText(answer: Asked): string {
  if ('error' in answer)
    return answer.error instanceof Error ? answer.error.message : String(answer.error);
  const { health } = answer;
  const master = namedMasterUrl(health);
  return `${health.role}${health.epoch === null ? '' : ` of epoch ${health.epoch}`}, ${master === undefined ? 'master unknown' : `master ${master}`}`;
}

function noNodes(): ReplicatedLogError {
  return new ReplicatedLogError('no node to ask for the master', { code: 'NOT_MASTER' });
}
