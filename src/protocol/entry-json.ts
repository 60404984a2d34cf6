import type { Entry } from '../core/entry.js';

/**
 * Entries and messages as JSON, written by hand so that no entry is copied: the public answers
 * (`[{"id":1,"message":"..."}]`) and the messages of a replication batch (codec.ts).
 */

/** Serializes entries as the public `[{"id":1,"message":"..."}]`, without copying each entry. */
export function entriesJson(
  entries: readonly Entry[],
  messageJson: MessageJson = plainMessageJson,
): string {
  let out = '[';
  for (let index = 0; index < entries.length; index++) {
    if (index > 0) out += ',';
    out += entryJson(entries[index]!, messageJson);
  }
  return out + ']';
}

/** How a message becomes JSON: escaped afresh, or taken from where it was escaped before. */
export type MessageJson = (entry: Entry) => string;

export const plainMessageJson: MessageJson = (entry) => JSON.stringify(entry.message);

/** One entry as the public API shows it, `{"id":1,"message":"..."}`. */
export function entryJson(entry: Entry, messageJson: MessageJson = plainMessageJson): string {
  return `{"id":${entry.id},"message":${messageJson(entry)}}`;
}
