/** What the master's answer to `POST /logs` means: the entries appended, or a Failure. */
import { envelopeOf, failing, failureOf, unexpected, type Verdict } from './answers.js';
import { WriteConcernTimeoutError } from './errors.js';
import type { HttpOutcome } from './http.js';
import type { Entry } from './wire.js';

export interface AppendedBody {
  readonly entries: readonly Entry[];
  readonly w: number;
  readonly acks: number;
  readonly replayed: boolean;
}

interface AnswerFields {
  readonly log?: Entry;
  readonly logs?: readonly Entry[];
  readonly w?: unknown;
  readonly acks?: unknown;
}

export function appendVerdict(outcome: HttpOutcome, what: string): Verdict<AppendedBody> {
  if (outcome.kind === 'no-answer') return failureOf(outcome, what);
  const { status, body } = outcome;
  const fields = (typeof body === 'object' && body !== null ? body : {}) as AnswerFields;
  const entries = fields.logs ?? (fields.log === undefined ? undefined : [fields.log]);
  const counted =
    entries !== undefined && typeof fields.w === 'number' && typeof fields.acks === 'number';
  if (status === 200 || status === 201) {
    if (!counted) return unexpected(what, status, body);
    const value = { entries, w: fields.w, acks: fields.acks };
    return { ok: true, value: { ...value, replayed: status === 200 } };
  }
  if (status === 504 && envelopeOf(body)?.code === 'WRITE_CONCERN_TIMEOUT' && counted) {
    const w = fields.w;
    const acks = fields.acks;
    return failing(
      'never',
      `504 WRITE_CONCERN_TIMEOUT: ${envelopeOf(body)?.message ?? ''}`,
      { code: 'WRITE_CONCERN_TIMEOUT', status, body },
      (message, details) => new WriteConcernTimeoutError(message, details, entries, w, acks),
    );
  }
  return failureOf(outcome, what);
}
