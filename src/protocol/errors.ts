import type { RejectCode } from '../core/replica-log.js';

/**
 * The codes a secondary may answer its master with, on the internal endpoints and on
 * `/admin/faults` (which the master's dashboard forwards to).
 */
export type ReplicaErrorCode =
  | RejectCode
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'MESSAGE_TOO_LARGE'
  | 'OVERLOADED'
  | 'INJECTED_ERROR'
  | 'FAULT_INJECTION_DISABLED'
  | 'STORAGE_FULL'
  | 'STORAGE_FAILED'
  | 'STORAGE_UNAVAILABLE'
  /** With failover: the node is comparing its log with a new master's; retry shortly. */
  | 'SYNCING'
  | 'INTERNAL_ERROR';

/** Every failure, between nodes as in the public API: `{status:"error", error:{code, message}}`. */
export interface ErrorEnvelope {
  readonly status: 'error';
  readonly error: { readonly code: string; readonly message: string };
}

/** Longest piece of an answer that is not an envelope repeated in an error message. */
const SHOWN_TEXT_CHARS = 200;

/** The code and message of an error envelope, or the start of the text if it is not one. */
export function readErrorEnvelope(text: string): { code?: string; message: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    const message = parsed.error?.message;
    if (typeof code === 'string' && typeof message === 'string') return { code, message };
  } catch {
    // Not our envelope: report the raw text below.
  }
  return { message: text.slice(0, SHOWN_TEXT_CHARS) };
}
