import { Type, type Static } from '@sinclair/typebox';

/**
 * Every request shape, as JSON Schema (TypeBox), checked by fastify's validator before a handler
 * runs. Limits that depend on configuration (message bytes, batch count, w range) are checked in
 * the handlers, where the error message can name the value and the limit.
 */

// Messages are not given a minLength here: ajv would count the code points of every message to
// check it, a scan of each whole message; the handler checks non-emptiness (and the byte limit)
// in the one pass it makes anyway.
export const AppendBody = Type.Object({
  message: Type.Optional(Type.String({ description: 'non-empty; at most MAX_MESSAGE_BYTES' })),
  messages: Type.Optional(
    Type.Array(Type.String({ description: 'non-empty; at most MAX_MESSAGE_BYTES' }), {
      minItems: 1,
    }),
  ),
  // Checked in the handler, which knows the cluster size and can name the allowed range.
  w: Type.Optional(
    Type.Unknown({ description: 'an integer from 1 to 1 + secondaries, "majority" or "all"' }),
  ),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
});
export type AppendBody = Static<typeof AppendBody>;

/**
 * Ids and counts in a URL are checked as text, 1 to 15 decimal digits, so that `1e3`, `0x10`,
 * ` 1` or `1.0` are refused with a message naming the field. The OpenAPI document describes such
 * a parameter as the integer it spells, from 0 to MAX_URL_INTEGER (openapi.ts).
 */
export const URL_INTEGER_PATTERN = '^[0-9]{1,15}$';
export const MAX_URL_INTEGER = 999_999_999_999_999;
const NonNegativeIntegerString = Type.String({ pattern: URL_INTEGER_PATTERN });

export const AppendQuery = Type.Object({
  w: Type.Optional(
    Type.String({
      maxLength: 32,
      description: 'the write concern when the body has none: 1..N, "majority" or "all"',
    }),
  ),
});
export type AppendQuery = Static<typeof AppendQuery>;

export const ReadQuery = Type.Object({
  since: Type.Optional(
    Type.String({ ...NonNegativeIntegerString, description: 'only entries with a larger id' }),
  ),
  limit: Type.Optional(
    Type.String({
      ...NonNegativeIntegerString,
      description: 'at most this many entries (capped by MAX_READ_LIMIT)',
    }),
  ),
  waitMs: Type.Optional(
    Type.String({
      ...NonNegativeIntegerString,
      description:
        'when the node shows no entry after since: wait up to this many ms for one, then answer (capped by MAX_WAIT_MS; 0 or absent: answer at once)',
    }),
  ),
});
export type ReadQuery = Static<typeof ReadQuery>;

export const StreamQuery = Type.Object({
  since: Type.Optional(
    Type.String({
      ...NonNegativeIntegerString,
      description: 'start after this id (default 0: from the start); Last-Event-ID wins over it',
    }),
  ),
});
export type StreamQuery = Static<typeof StreamQuery>;

export const EntryParams = Type.Object({
  id: Type.String({ ...NonNegativeIntegerString, description: 'the entry’s id' }),
});
export type EntryParams = Static<typeof EntryParams>;

/** `/admin/secondaries/:name/faults` on the master: a secondary by its configured name. */
export const SecondaryParams = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: 64,
    description: 'the secondary, as in SECONDARIES',
  }),
});
export type SecondaryParams = Static<typeof SecondaryParams>;
