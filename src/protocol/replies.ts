import type { ReplicaReport } from '../core/replication-progress.js';
import { readErrorEnvelope } from './errors.js';
import type { ReplicaReplyBody } from './messages.js';

/** The outcome of one request to a secondary, errors included: transports never throw. */
export type ReplicaAnswer =
  | { readonly ok: true; readonly report: ReplicaReport }
  | { readonly ok: false; readonly error: string; readonly code?: string };

/** What a secondary's answer (status and body text) means: its report, or why there is none. */
export function replicaAnswer(statusCode: number, text: string): ReplicaAnswer {
  if (statusCode !== 200) {
    const failure = readErrorEnvelope(text);
    return failure.code === undefined
      ? { ok: false, error: `HTTP ${statusCode}: ${failure.message}` }
      : {
          ok: false,
          error: `HTTP ${statusCode} ${failure.code}: ${failure.message}`,
          code: failure.code,
        };
  }
  try {
    const reply = JSON.parse(text) as ReplicaReplyBody;
    if (
      typeof reply.incarnation !== 'string' ||
      !Number.isSafeInteger(reply.hwm) ||
      reply.hwm < 0
    ) {
      return { ok: false, error: 'malformed reply from secondary' };
    }
    return { ok: true, report: { incarnation: reply.incarnation, hwm: reply.hwm } };
  } catch {
    return { ok: false, error: 'reply from secondary is not JSON' };
  }
}
