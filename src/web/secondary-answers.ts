import type { FaultInjection, FaultSettings, TailEntry } from './client/dashboard-wire.js';
import type { NodeSample } from './cluster-state.js';
import { toTailEntry } from './dashboard-state.js';

/**
 * Reading what a secondary answers the dashboard. Another process's JSON is checked field by
 * field before it reaches the page; an answer of the wrong shape is an error with the reason,
 * shown as such, never half-used.
 */

/** An answer that is not what the contract says; `message` says what was wrong. */
export class UnexpectedAnswer extends Error {
  override readonly name = 'UnexpectedAnswer';
}

export interface SecondaryHealthSample {
  readonly lastId: number;
  readonly pending: number;
  /** Changes when the secondary serves another log or restarted: its old tail no longer holds. */
  readonly logKey: string;
  /** Changes when the secondary restarted: its fault injection may be on or off now. */
  readonly incarnation: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The JSON value of `text`, or undefined if it is not JSON. */
function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parse(text: string, what: string): unknown {
  const value = tryJson(text);
  if (value === undefined)
    throw new UnexpectedAnswer(`${what} answered something that is not JSON`);
  return value;
}

/** A secondary's `GET /health` answer (docs/API.md, "Health"). */
export function readSecondaryHealth(text: string): SecondaryHealthSample {
  const body = parse(text, 'GET /health');
  const log = isRecord(body) ? body['log'] : undefined;
  if (!isRecord(body) || body['role'] !== 'secondary' || !isRecord(log)) {
    throw new UnexpectedAnswer('GET /health did not answer as a secondary (role "secondary")');
  }
  const { lastId, pending } = log;
  if (!isCount(lastId) || !isCount(pending)) {
    throw new UnexpectedAnswer('GET /health has no non-negative integer log.lastId and pending');
  }
  // Neither field is in the public contract; without them every answer counts as the same log.
  const logId = typeof body['logId'] === 'string' ? body['logId'] : '';
  const incarnation = typeof body['incarnation'] === 'string' ? body['incarnation'] : '';
  return { lastId, pending, logKey: `${logId}/${incarnation}`, incarnation };
}

/** A failover node's `GET /health` answer (role, epoch, master, log), as the cluster view needs. */
export function readFailoverHealth(text: string): Extract<NodeSample, { kind: 'reachable' }> {
  const body = parse(text, 'GET /health');
  const log = isRecord(body) ? body['log'] : undefined;
  if (!isRecord(body) || body['failover'] !== true || !isRecord(log)) {
    throw new UnexpectedAnswer('GET /health did not answer as a failover node (failover: true)');
  }
  const { role, epoch, master } = body;
  if (role !== 'master' && role !== 'secondary' && role !== 'candidate') {
    throw new UnexpectedAnswer(`GET /health has role ${JSON.stringify(role)}, not a failover role`);
  }
  const { lastId, commitId } = log;
  if (!isCount(epoch) || !isCount(lastId) || !isCount(commitId)) {
    throw new UnexpectedAnswer(
      'GET /health has no non-negative integer epoch, lastId and commitId',
    );
  }
  const masterName = isRecord(master) && typeof master['name'] === 'string' ? master['name'] : null;
  return { kind: 'reachable', role, epoch, masterName, lastId, commitId };
}

/** A `GET /logs?since=...` answer: consecutive entries, each message cut for display. */
export function readEntries(text: string, maxChars: number): TailEntry[] {
  const body = parse(text, 'GET /logs');
  if (!Array.isArray(body)) throw new UnexpectedAnswer('GET /logs did not answer an array');
  const entries: TailEntry[] = [];
  for (const item of body as unknown[]) {
    if (!isRecord(item) || !isCount(item['id']) || typeof item['message'] !== 'string') {
      throw new UnexpectedAnswer('GET /logs answered an item that is not {id, message}');
    }
    const previous = entries.at(-1);
    if (previous !== undefined && item['id'] !== previous.id + 1) {
      throw new UnexpectedAnswer(
        `GET /logs answered id ${item['id']} after ${previous.id}: ids must be consecutive`,
      );
    }
    entries.push(toTailEntry({ id: item['id'], message: item['message'] }, maxChars));
  }
  return entries;
}

function isDelay(value: unknown): value is FaultSettings['delayMs'] {
  if (isCount(value)) return true;
  return Array.isArray(value) && value.length === 2 && value.every(isCount);
}

/** Fault settings as `GET`/`PUT /admin/faults` answer them with 200; undefined if malformed. */
export function readFaultSettings(text: string): FaultSettings | undefined {
  const body = tryJson(text);
  if (!isRecord(body)) return undefined;
  const { delayMs, errorRate, partitioned } = body;
  if (!isDelay(delayMs) || typeof partitioned !== 'boolean') return undefined;
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) return undefined;
  return { delayMs, errorRate, partitioned };
}

/** What a secondary's `GET /admin/faults` answer says about its fault injection. */
export function readFaults(status: number, text: string): FaultInjection {
  if (status === 200) {
    const settings = readFaultSettings(text);
    return settings === undefined
      ? { state: 'unknown', reason: 'GET /admin/faults answered 200 without valid settings' }
      : { state: 'on', settings };
  }
  const code = errorCode(text);
  if (status === 404 && code === 'FAULT_INJECTION_DISABLED') return { state: 'off' };
  if (status === 401) {
    return {
      state: 'unknown',
      reason:
        "the secondary refused the master's cluster token (401); start every node with the same CLUSTER_TOKEN",
    };
  }
  return {
    state: 'unknown',
    reason: `GET /admin/faults answered ${status}${code === undefined ? '' : ` ${code}`}`,
  };
}

/** The `error.code` of an error envelope, if the text is one. */
function errorCode(text: string): string | undefined {
  const body = tryJson(text);
  const error = isRecord(body) ? body['error'] : undefined;
  return isRecord(error) && typeof error['code'] === 'string' ? error['code'] : undefined;
}
