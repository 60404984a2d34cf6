/**
 * `node dist/bench/read-child.js URL`: reads a whole `GET /logs` in a process of its own, so that
 * receiving and holding 100+ MB does not slow the bench process, whose appends measure how the
 * node behaves during the read. Prints one JSON line with the read's timings (absolute epoch
 * milliseconds, comparable across processes), then, once told `check` on stdin, one with the
 * body's check, and exits.
 */
import { createInterface } from 'node:readline';
import { Client } from 'undici';
import { exitWithParent } from '../launcher/exit-with-parent.js';
import { checkLogBody } from './memory-summary.js';

const READ_TIMEOUT_MS = 180_000;

export interface ReadTimings {
  readonly startAtMs: number;
  readonly headersAtMs: number;
  readonly firstChunkAtMs: number;
  readonly endAtMs: number;
  readonly bytes: number;
}

const now = (): number => performance.timeOrigin + performance.now();

async function main(url: URL): Promise<void> {
  exitWithParent();
  const client = new Client(url.origin, {
    headersTimeout: READ_TIMEOUT_MS,
    bodyTimeout: READ_TIMEOUT_MS,
  });
  const startAtMs = now();
  const response = await client.request({ path: url.pathname + url.search, method: 'GET' });
  const headersAtMs = now();
  if (response.statusCode !== 200) {
    throw new Error(`GET ${url.href}: HTTP ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  let firstChunkAtMs: number | undefined;
  for await (const chunk of response.body) {
    firstChunkAtMs ??= now();
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    bytes += buffer.length;
  }
  const endAtMs = now();
  await client.close();
  const timings: ReadTimings = {
    startAtMs,
    headersAtMs,
    firstChunkAtMs: firstChunkAtMs ?? endAtMs,
    endAtMs,
    bytes,
  };
  process.stdout.write(`${JSON.stringify(timings)}\n`);
  // The check parses the body: only when the bench says its measurement is over.
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'check') continue;
    process.stdout.write(`${JSON.stringify(checkLogBody(Buffer.concat(chunks, bytes)))}\n`);
    break;
  }
  process.stdin.destroy();
}

const target = process.argv[2];
if (target === undefined) {
  process.stderr.write('Usage: node dist/bench/read-child.js URL\n');
  process.exitCode = 2;
} else {
  main(new URL(target)).catch((error: unknown) => {
    process.stderr.write(`read-child: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
