import type { ReplicaReport } from '../core/replication-progress.js';
import { readErrorEnvelope } from './errors.js';
import type { EpochEndAnswerBody, ReplicaReplyBody, VoteAnswerBody } from './messages.js';

/** The outcome of one request to a secondary, errors included: transports never throw. */
export type ReplicaAnswer =
  | {
      readonly ok: true;
      readonly report: ReplicaReport;
      /** With failover: the node's epoch, and the epoch of the master whose log it holds. */
      readonly epoch?: number;
      readonly acceptedEpoch?: number;
    }
  | {
      readonly ok: false;
      readonly error: string;
      readonly code?: string;
      /** With failover: the epoch of the node that refused (a higher one deposes the master). */
      readonly epoch?: number;
    };

/** The `epoch` field of an answer's body, if it has a valid one (failover nodes send it). */
function epochOf(text: string): number | undefined {
  try {
    const epoch = (JSON.parse(text) as { epoch?: unknown }).epoch;
    return typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch >= 0
      ? epoch
      : undefined;
  } catch {
    return undefined;
  }
}

/** What a secondary's answer (status and body text) means: its report, or why there is none. */
export function replicaAnswer(statusCode: number, text: string): ReplicaAnswer {
  if (statusCode !== 200) {
    const failure = readErrorEnvelope(text);
    if (failure.code === undefined) {
      return { ok: false, error: `HTTP ${statusCode}: ${failure.message}` };
    }
    const error = `HTTP ${statusCode} ${failure.code}: ${failure.message}`;
    const epoch = epochOf(text);
    return epoch === undefined
      ? { ok: false, error, code: failure.code }
      : { ok: false, error, code: failure.code, epoch };
  }
  try {
    const reply = JSON.parse(text) as ReplicaReplyBody;
    if (
      typeof reply.incarnation !== 'string' ||
      !Number.isSafeInteger(reply.hwm) ||
      reply.hwm < 0 ||
      (reply.epoch !== undefined && !isCount(reply.epoch)) ||
      (reply.acceptedEpoch !== undefined && !isCount(reply.acceptedEpoch))
    ) {
      return { ok: false, error: 'malformed reply from secondary' };
    }
    const report = { incarnation: reply.incarnation, hwm: reply.hwm };
    const { epoch, acceptedEpoch } = reply;
    return epoch !== undefined && acceptedEpoch !== undefined
      ? { ok: true, report, epoch, acceptedEpoch }
      : { ok: true, report };
  } catch {
    return { ok: false, error: 'reply from secondary is not JSON' };
  }
}

/** A failure answer as PeerAnswer carries it (the error envelope's code and message). */
function peerFailure(
  statusCode: number,
  text: string,
): {
  readonly ok: false;
  readonly error: string;
  readonly code?: string;
} {
  const failure = readErrorEnvelope(text);
  return failure.code === undefined
    ? { ok: false, error: `HTTP ${statusCode}: ${failure.message}` }
    : {
        ok: false,
        error: `HTTP ${statusCode} ${failure.code}: ${failure.message}`,
        code: failure.code,
      };
}

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A voter's answer (`VoteAnswerBody`), or why there is none. */
export function voteAnswer(
  statusCode: number,
  text: string,
): { ok: true; body: VoteAnswerBody } | { ok: false; error: string; code?: string } {
  if (statusCode !== 200) return peerFailure(statusCode, text);
  const body = parsed(text);
  if (
    body === undefined ||
    !isCount(body['epoch']) ||
    typeof body['granted'] !== 'boolean' ||
    typeof body['preVote'] !== 'boolean'
  ) {
    return { ok: false, error: 'malformed vote answer' };
  }
  return {
    ok: true,
    body: { epoch: body['epoch'], granted: body['granted'], preVote: body['preVote'] },
  };
}

/** The master's answer to an epoch-end question (`EpochEndAnswerBody`), or why there is none. */
export function epochEndAnswer(
  statusCode: number,
  text: string,
): { ok: true; body: EpochEndAnswerBody } | { ok: false; error: string; code?: string } {
  if (statusCode !== 200) return peerFailure(statusCode, text);
  const body = parsed(text);
  if (body === undefined || !isCount(body['epoch']) || !isCount(body['endId'])) {
    return { ok: false, error: 'malformed epoch-end answer' };
  }
  return { ok: true, body: { epoch: body['epoch'], endId: body['endId'] } };
}
