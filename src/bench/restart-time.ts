/**
 * How long a node holding a large durable log takes to start: writes N entries of 100 bytes into
 * a fresh data directory (through the real FileLogStore), then starts `rlog master` on it, exactly
 * as a restarted container would, and times it until GET /health answers. Also prints the
 * store's own recovery time (from its `store-opened` log line) and the process's memory.
 *
 *   node dist/bench/restart-time.js [--entries 1000000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FileLogStore } from '../adapters/file-store/file-log-store.js';
import { createLogger } from '../adapters/logger.js';
import type { Entry } from '../core/entry.js';
import { LOOPBACK as HOST, NodeProcess } from '../launcher/node-process.js';
import { freePortsIn } from '../launcher/ports.js';
import { mib, processMemory } from './process-memory.js';
import { ReplicatedLogClient } from '../client/index.js';

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
    const [port] = await freePortsIn({ min: 9150, max: 9199 }, 1, HOST);
    let recoveryMs: number | undefined;
    const node = new NodeProcess({
      name: 'master',
      role: 'master',
      port: port!,
      env: { DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      healthPollMs: 10,
      onLine: (line) => {
        if (line.includes('"store-opened"')) recoveryMs = (JSON.parse(line) as { ms: number }).ms;
      },
    });
    try {
      const started = performance.now();
      await node.start(START_TIMEOUT_MS);
      const startMs = performance.now() - started;
      const tail = await new ReplicatedLogClient(node.url).read({ since: entries - 1 });
      if (tail.length !== 1 || tail[0]?.id !== entries)
        throw new Error('the restarted node does not serve its last entry');
      console.log(
        `restart of a master holding ${entries.toLocaleString('en')} entries: healthy after ${Math.round(startMs)} ms ` +
          `(log recovery ${recoveryMs ?? '?'} ms), RSS ${rssMiB(node.pid!).toFixed(0)} MiB`,
      );
    } finally {
      await node.kill();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
