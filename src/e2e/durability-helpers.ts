/**
 * Helpers for the durability tests: a keyed, retrying client load that records every answer, the
 * recorded history for the shared checker (src/checker/), and reading/damaging segment files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkHistory } from '../checker/check-history.js';
import type { AppendOperation, History, LogObservation } from '../checker/history.js';
import { request, sleep, type AppendBody, type Cluster, type LogEntry } from './harness.js';

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
  /** performance.now() when the first attempt was sent and when this answer arrived. */
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
  /** No retry is sent after this moment (performance.now()); the append's outcome stays unknown. */
  readonly giveUpAt: number;
}

/**
 * `clients` concurrent clients, each appending unique messages with a unique idempotency key per
 * logical append, retrying on network errors and 503 with the same key and body, until `stop()`.
 */
export class KeyedLoad {
  readonly acks: Ack[] = [];
  /** Every logical append sent at least once, with its outcome, for the history checker. */
  readonly operations: AppendOperation[] = [];
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
      const operation = await this.#append(client, index);
      this.operations.push(operation);
    }
  }

  async #append(client: number, index: number): Promise<AppendOperation> {
    const { url, prefix, timeoutMs, giveUpAt } = this.options;
    const message = `${prefix}-c${client}-n${index}`;
    const key = `${prefix}-key-c${client}-n${index}`;
    const w = this.options.pickW(client, index);
    const body = timeoutMs === undefined ? { message, w } : { message, w, timeoutMs };
    const sentAt = performance.now();
    const settled = (outcome: AppendOperation['outcome']): AppendOperation => ({
      messages: [message],
      idempotencyKey: key,
      invokedAt: sentAt,
      completedAt: performance.now(),
      outcome,
    });
    for (let attempt = 1; attempt <= 500 && performance.now() < giveUpAt; attempt++) {
      let answer;
      try {
        answer = await request<AppendBody>(`${url}/logs`, {
          json: body,
          headers: { 'idempotency-key': key },
          timeoutMs: Math.max(1000, Math.min(15_000, giveUpAt - performance.now())),
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
        const { acks } = answer.body;
        this.acks.push({
          client,
          key,
          message,
          w,
          status,
          id: log.id,
          acks,
          sentAt,
          at: performance.now(),
          attempts: attempt,
        });
        return settled({ kind: status === 504 ? 'stored' : 'ok', ids: [log.id], w, acks });
      }
      if (status === 503) {
        this.unavailable++;
        await sleep(30 + Math.random() * 40);
        continue;
      }
      this.problems.push(`${key}: unexpected ${status} ${answer.text}`);
      // Counted as a problem above; for the history it says nothing about what was stored.
      return settled({ kind: 'unknown' });
    }
    this.unknown.push(message);
    return settled({ kind: 'unknown' });
  }
}

// ---------------------------------------------------------------------------------------------
// History

/** The logs read during a durability test, in the order they were read, for the history. */
export class LogReads {
  readonly observations: LogObservation[] = [];

  /** Records `entries` as what `node` showed now; returns them. */
  record(node: string, entries: LogEntry[]): LogEntry[] {
    this.observations.push({ node, at: performance.now(), entries });
    return entries;
  }

  /** Reads `GET /logs` of `node` and records it. */
  async read(cluster: Cluster, node: { readonly name: string }): Promise<LogEntry[]> {
    return this.record(node.name, await cluster.logs(node.name));
  }
}

/**
 * Judges the load's history and the logs read with the shared checker (src/checker/), after
 * healing: the last read of each node must be the master's log, every 200/201/504 answer must be
 * kept at its id (`storedMustBeKept`: the master's storage is durable and it does not fail over),
 * no phantoms (every message in a log was sent), no duplicates, one id per key, gap-free logs,
 * agreement, monotonic reads, order respecting time, honest write concern. Returns the violations
 * as readable lines (at most 30; empty: all good).
 */
export function historyProblems(cluster: Cluster, load: KeyedLoad, reads: LogReads): string[] {
  const history: History = {
    appends: load.operations,
    observations: reads.observations,
    master: cluster.master.name,
    nodes: [cluster.master, ...cluster.secondaries].map((node) => node.name),
    healed: true,
    storedMustBeKept: true,
  };
  return checkHistory(history)
    .slice(0, 30)
    .map((violation) => `${violation.guarantee}: ${violation.message}`);
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
