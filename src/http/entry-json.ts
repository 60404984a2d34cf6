/** @deprecated moved to src/protocol: import these from '../protocol/entry-json.js'. */
export {
  entriesJson,
  entryJson,
  plainMessageJson,
  type MessageJson,
} from '../protocol/entry-json.js';
