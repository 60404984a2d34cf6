/**
 * Helpers for the durability tests: a keyed, retrying client load that records every answer, the
 * checks of a recorded history against a log, and reading/damaging segment files on disk.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gapFree, request, sleep, type AppendBody, type LogEntry } from './harness.js';

// ---------------------------------------------------------------------------------------------
// Client load

/** An answer that says the entry is stored: 201 created, 200 replayed, 504 stored without w. */
export interface Ack {
  readonly client: number;
  readonly key: string;
  readonly message: string;
  readonly w: number;
  readonly status: 200 | 201 | 504;
  readonly id: number;
  readonly acks: number;
  /** Date.now() when the first attempt was sent and when this answer arrived. */
  readonly sentAt: number;
  readonly at: number;
  readonly attempts: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly clients: number;
  /** Message and key prefix, unique per test. */
  readonly prefix: string;
  readonly pickW: (client: number, index: number) => number;
  /** Sent as the body's `timeoutMs` when set. */
  readonly timeoutMs?: number;
  /** Upper bound on logical appends per client. */
  readonly maxPerClient: number;
  /** No retry is sent after this moment (Date.now()); the append's outcome stays unknown. */
  readonly giveUpAt: number;
}

/**
 * `clients` concurrent clients, each appending unique messages with a unique idempotency key per
 * logical append, retrying on network errors and 503 with the same key and body, until `stop()`.
 */
export class KeyedLoad {
  readonly acks: Ack[] = [];
  /** message -> key of every logical append sent at least once. */
  readonly requested = new Map<string, string>();
  /** Appends whose outcome is unknown (gave up retrying). */
  readonly unknown: string[] = [];
  /** Answers no correct node gives (anything but 200/201/503/504). */
  readonly problems: string[] = [];
  networkErrors = 0;
  unavailable = 0;
  #stopping = false;
  readonly #done: Promise<void>;

  constructor(readonly options: LoadOptions) {
    this.#done = Promise.all(
      Array.from({ length: options.clients }, (_, client) => this.#client(client)),
    ).then(() => undefined);
  }

  /** Stops issuing new logical appends; waits for the ones in progress (bounded by giveUpAt). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#done;
  }

  get count(): number {
    return this.acks.length;
  }

  async #client(client: number): Promise<void> {
    for (let index = 0; index < this.options.maxPerClient && !this.#stopping; index++) {
      await this.#append(client, index);
    }
  }

  async #append(client: number, index: number): Promise<void> {
    const { url, prefix, timeoutMs, giveUpAt } = this.options;
    const message = `${prefix}-c${client}-n${index}`;
    const key = `${prefix}-key-c${client}-n${index}`;
    const w = this.options.pickW(client, index);
    const body = timeoutMs === undefined ? { message, w } : { message, w, timeoutMs };
    this.requested.set(message, key);
    const sentAt = Date.now();
    for (let attempt = 1; attempt <= 500 && Date.now() < giveUpAt; attempt++) {
      let answer;
      try {
        answer = await request<AppendBody>(`${url}/logs`, {
          json: body,
          headers: { 'idempotency-key': key },
          timeoutMs: Math.max(1000, Math.min(15_000, giveUpAt - Date.now())),
        });
      } catch {
        this.networkErrors++;
        await sleep(20 + Math.random() * 30);
        continue;
      }
      const { status } = answer;
      if (status === 200 || status === 201 || status === 504) {
        const log = answer.body.log;
        if (typeof log !== 'object' || log.message !== message) {
          this.problems.push(`${key}: ${status} answered for another entry: ${answer.text}`);
        }
        this.acks.push({
          client,
          key,
          message,
          w,
          status,
          id: log.id,
          acks: answer.body.acks,
          sentAt,
          at: Date.now(),
          attempts: attempt,
        });
        return;
      }
      if (status === 503) {
        this.unavailable++;
        await sleep(30 + Math.random() * 40);
        continue;
      }
      this.problems.push(`${key}: unexpected ${status} ${answer.text}`);
      return;
    }
    this.unknown.push(message);
  }
}

// ---------------------------------------------------------------------------------------------
// History checks

/**
 * Checks the recorded answers against a final log: each key got one id, no id was given to two
 * messages, every stored answer is in the log at its id, the log is gap-free, holds only requested
 * messages (no phantoms) and none twice. Returns the problems found (empty: all good).
 */
export function checkHistory(
  acks: readonly Ack[],
  requested: ReadonlyMap<string, string>,
  log: readonly LogEntry[],
  where: string,
): string[] {
  const problems: string[] = [];
  const idOfKey = new Map<string, number>();
  const messageOfId = new Map<number, string>();
  for (const ack of acks) {
    const known = idOfKey.get(ack.key);
    if (known !== undefined && known !== ack.id)
      problems.push(`key ${ack.key} answered with ids ${known} and ${ack.id}`);
    idOfKey.set(ack.key, ack.id);
    const other = messageOfId.get(ack.id);
    if (other !== undefined && other !== ack.message)
      problems.push(`id ${ack.id} given to two messages: ${other} and ${ack.message} (id reused)`);
    messageOfId.set(ack.id, ack.message);
    const entry = log[ack.id - 1];
    if (entry?.id !== ack.id || entry.message !== ack.message) {
      problems.push(
        `${where}: ${ack.message} was answered ${ack.status} with id ${ack.id}, but ${where} has ${entry === undefined ? 'nothing' : JSON.stringify(entry)} there`,
      );
    }
  }
  if (!gapFree(log)) problems.push(`${where}: ids are not 1..${log.length}`);
  const seen = new Set<string>();
  for (const entry of log) {
    if (seen.has(entry.message)) problems.push(`${where}: ${entry.message} appears twice`);
    seen.add(entry.message);
    if (!requested.has(entry.message))
      problems.push(`${where}: ${entry.message} at ${entry.id} was never requested (phantom)`);
  }
  return problems.slice(0, 30);
}

// ---------------------------------------------------------------------------------------------
// Segment files

export interface RecordBounds {
  readonly start: number;
  /** Header and payload. */
  readonly bytes: number;
}

/** The .seg files of a data directory, in id order, as absolute paths. */
export function segmentFiles(dataDir: string): string[] {
  const dir = join(dataDir, 'log');
  return readdirSync(dir)
    .filter((name) => /^\d{20}\.seg$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

export function lastSegment(dataDir: string): string {
  const files = segmentFiles(dataDir);
  const last = files[files.length - 1];
  if (last === undefined) throw new Error(`no segment file in ${dataDir}/log`);
  return last;
}

/** The records of a segment file, from their length fields; throws unless they tile the file. */
export function recordsOf(path: string): RecordBounds[] {
  return recordsIn(readFileSync(path), path);
}

/** The records in a segment file's bytes; throws unless they tile it. */
export function recordsIn(buffer: Buffer, path = 'segment'): RecordBounds[] {
  const records: RecordBounds[] = [];
  let at = 0;
  while (at < buffer.length) {
    if (at + 8 > buffer.length) throw new Error(`${path}: partial header at ${at}`);
    const bytes = 8 + buffer.readUInt32LE(at);
    if (at + bytes > buffer.length) throw new Error(`${path}: record at ${at} runs past the end`);
    records.push({ start: at, bytes });
    at += bytes;
  }
  return records;
}
