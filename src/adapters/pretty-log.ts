/**
 * Turns a node's JSON log line into one short human line for `rlog cluster`, keeping the node
 * name in a fixed-width column so the three nodes' lines stay readable when interleaved.
 */
const COLORS: Readonly<Record<string, string>> = {
  debug: '\x1b[90m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[31m',
};
const RESET = '\x1b[0m';

export function prettyLogLine(line: string, nodeWidth: number, color: boolean): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof parsed !== 'object' || parsed === null) return line;
  const record = parsed as Record<string, unknown>;
  const time = typeof record['time'] === 'string' ? record['time'].slice(11, 23) : '';
  const level = typeof record['level'] === 'string' ? record['level'] : 'info';
  const node = typeof record['node'] === 'string' ? record['node'] : '?';
  const message = typeof record['msg'] === 'string' ? record['msg'] : '';
  const levelText = level.toUpperCase().padEnd(5);
  const paint = (text: string): string => (color ? `${COLORS[level] ?? ''}${text}${RESET}` : text);
  return `${time} ${node.padEnd(nodeWidth)} ${paint(levelText)} ${message}`;
}
