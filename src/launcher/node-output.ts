/**
 * What a launched process printed, kept within a bound for error messages: its stdout and stderr
 * lines interleaved with the launcher's own notes (`--- start #2 ...`, `--- SIGSTOP ...`), a count
 * of the process's lines ever printed, and compact renderings of the JSON log lines.
 */

interface OutputLine {
  readonly text: string;
  /** A line of the launcher, not of the process. */
  readonly note: boolean;
}

export class NodeOutput {
  readonly #lines: OutputLine[] = [];
  /** Lines the process printed since it was first started (notes not counted). */
  lineCount = 0;

  /** `linesKept`: past it, the older half is dropped. */
  constructor(private readonly linesKept: number) {
    if (!Number.isInteger(linesKept) || linesKept < 2)
      throw new Error(`linesKept must be an integer of at least 2; got ${linesKept}`);
  }

  add(text: string): void {
    this.lineCount += 1;
    this.#push({ text, note: false });
  }

  note(text: string): void {
    this.#push({ text, note: true });
  }

  /** Every kept line, notes included, oldest first. */
  all(): string[] {
    return this.#lines.map((line) => line.text);
  }

  /** The process's lines printed after the first `count` (as far as the kept lines reach back). */
  linesSince(count: number): string[] {
    const fresh = this.lineCount - count;
    if (fresh <= 0) return [];
    const own = this.#lines.filter((line) => !line.note).map((line) => line.text);
    return own.slice(-Math.min(fresh, own.length));
  }

  /** The last `lines` lines, notes included, JSON log lines in a compact form. */
  tail(lines: number): string {
    return this.#lines
      .slice(-lines)
      .map((line) => compactLine(line.text))
      .join('\n');
  }

  #push(line: OutputLine): void {
    this.#lines.push(line);
    if (this.#lines.length > this.linesKept) this.#lines.splice(0, this.#lines.length / 2);
  }
}

/** A pino JSON line as `12:00:01.234 master warn event: message {fields}`; other lines as they are. */
export function compactLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    const { time, level, node, msg, event, ...fields } = record;
    const rest = Object.fromEntries(
      Object.entries(fields).filter(([key]) => !['role', 'pid', 'hostname'].includes(key)),
    );
    const extra = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
    const clock = typeof time === 'string' ? time.slice(11, 23) : '';
    return `${clock} ${String(node)} ${String(level)} ${String(event)}: ${String(msg)}${extra}`;
  } catch {
    return line;
  }
}
