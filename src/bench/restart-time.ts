/**
 * How long a node holding a large durable log takes to start: writes N entries of 100 bytes into
 * a fresh data directory (through the real FileLogStore), then starts `rlog master` on it, exactly
 * as a restarted container would, and times it until GET /health answers. Also prints the
 * store's own recovery time (from its `store-opened` log line) and the process's memory.
 *
 *   node dist/bench/restart-time.js [--entries 1000000]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FileLogStore } from '../adapters/file-store/file-log-store.js';
import { createLogger } from '../adapters/logger.js';
import type { Entry } from '../core/entry.js';
import { isPortFree } from '../testing/ports.js';
import { mib, processMemory } from './process-memory.js';

const HOST = '127.0.0.1';
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const BATCH_ENTRIES = 1000;
const START_TIMEOUT_MS = 120_000;

async function fill(dataDir: string, entries: number): Promise<number> {
  const started = performance.now();
  const store = new FileLogStore({
    dataDir,
    fsync: 'never',
    fsyncIntervalMs: 100,
    segmentBytes: 64 * 1024 * 1024,
    logger: createLogger('restart-time', 'bench', 'warn'),
  });
  await store.open();
  await store.setIdentity({ logId: 'restart-time-bench', epoch: 1 });
  const message = 'x'.repeat(100);
  for (let firstId = 1; firstId <= entries; firstId += BATCH_ENTRIES) {
    const batch: Entry[] = [];
    for (let id = firstId; id < firstId + BATCH_ENTRIES && id <= entries; id++) {
      batch.push({ id, epoch: 1, message });
    }
    await store.append(batch);
  }
  await store.close();
  return performance.now() - started;
}

async function freePort(): Promise<number> {
  for (let port = 9150; port < 9200; port++) if (await isPortFree(port, HOST)) return port;
  throw new Error('no free port in 9150..9199');
}

function rssMiB(pid: number): number {
  return mib(processMemory(pid)?.rssKiB ?? Number.NaN);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { entries: { type: 'string', default: '1000000' } } });
  const entries = Number(values.entries);
  if (!Number.isSafeInteger(entries) || entries < 1 || entries > 100_000_000) {
    throw new Error(`--entries must be an integer from 1 to 100000000; got "${values.entries}"`);
  }
  const dataDir = await mkdtemp(join(os.tmpdir(), 'rlog-restart-'));
  try {
    const fillMs = await fill(dataDir, entries);
    console.log(
      `wrote ${entries.toLocaleString('en')} entries of 100 bytes in ${Math.round(fillMs)} ms`,
    );
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, [MAIN, 'master'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let recoveryMs: number | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"store-opened"')) recoveryMs = (JSON.parse(line) as { ms: number }).ms;
    });
    try {
      let healthy = false;
      while (!healthy) {
        if (performance.now() - started > START_TIMEOUT_MS)
          throw new Error('the node did not start in 120 s');
        try {
          healthy = (
            await fetch(`http://${HOST}:${port}/health`, { signal: AbortSignal.timeout(1000) })
          ).ok;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      const startMs = performance.now() - started;
      const tail = (await (
        await fetch(`http://${HOST}:${port}/logs?since=${entries - 1}`)
      ).json()) as Entry[];
      if (tail.length !== 1 || tail[0]?.id !== entries)
        throw new Error('the restarted node does not serve its last entry');
      console.log(
        `restart of a master holding ${entries.toLocaleString('en')} entries: healthy after ${Math.round(startMs)} ms ` +
          `(log recovery ${recoveryMs ?? '?'} ms), RSS ${rssMiB(child.pid!).toFixed(0)} MiB`,
      );
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
