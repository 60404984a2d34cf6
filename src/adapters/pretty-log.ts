/**
 * Turns a node's JSON log line into one short human line: time (UTC, to the millisecond), the
 * node's name in a fixed-width column (so that several nodes' lines stay readable when
 * interleaved), the level, the event, the message, then the other fields as key=value.
 *
 *   12:19:58.210 master INFO  master-started: master holds log 5f3e… up to id 0  epoch=1 lastId=0
 *
 * Used by `rlog cluster` on its children's lines and by a node itself with LOG_FORMAT=pretty
 * (adapters/logger.ts). A line that is not a JSON object is returned as it is.
 */
const COLORS: Readonly<Record<string, string>> = {
  debug: '\x1b[90m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[31m',
};
const RESET = '\x1b[0m';
/** Fields the line shows in its own place, or that every line of a node repeats. */
const SHOWN_APART = new Set(['level', 'time', 'node', 'role', 'msg', 'event', 'pid', 'hostname']);
/** A field's value longer than this is cut, so that one event stays one readable line. */
const FIELD_CHARS_LIMIT = 200;

export function prettyLogLine(line: string, nodeWidth: number, color: boolean): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line;
  const record = parsed as Record<string, unknown>;
  const time = typeof record['time'] === 'string' ? record['time'].slice(11, 23) : '';
  const level = typeof record['level'] === 'string' ? record['level'] : 'info';
  const node = typeof record['node'] === 'string' ? record['node'] : '?';
  const message = typeof record['msg'] === 'string' ? record['msg'] : '';
  const event = typeof record['event'] === 'string' ? `${record['event']}: ` : '';
  const levelText = level.toUpperCase().padEnd(5);
  const paint = (text: string): string => (color ? `${COLORS[level] ?? ''}${text}${RESET}` : text);
  const fields = Object.entries(record)
    .filter(([key]) => !SHOWN_APART.has(key))
    .map(([key, value]) => `${key}=${fieldText(value)}`);
  const rest = fields.length === 0 ? '' : `  ${fields.join(' ')}`;
  return `${time} ${node.padEnd(nodeWidth)} ${paint(levelText)} ${event}${message}${rest}`;
}

/** A field's value in a word: strings bare unless they hold spaces, errors by their message. */
function fieldText(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  else if (isErrorRecord(value)) text = JSON.stringify(value.message);
  else text = JSON.stringify(value);
  return text.length > FIELD_CHARS_LIMIT ? `${text.slice(0, FIELD_CHARS_LIMIT - 1)}…` : text;
}

/** An error as pino writes it: { type, message, stack }. */
function isErrorRecord(value: unknown): value is { readonly message: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['message'] === 'string' &&
    typeof (value as Record<string, unknown>)['stack'] === 'string'
  );
}
