import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * How FileLogStore cuts its log back, crash-safe (KIP-101 truncation).
 *
 * The cut lands at the start of the record holding the first removed id; if that record also
 * holds kept entries (a batch cut in the middle), they are written again as a new record there,
 * without the batch's idempotency key (it named removed ids). That rewrite cannot be made atomic
 * in place, so the plan is first made durable in `log/TRUNCATE` (write to a temporary file,
 * fsync, rename, fsync the directory): that rename is the commit point. Before it the segments
 * are untouched (a crash leaves the old log); from it on, `open()` redoes every step that follows
 * (each one can be run again), so a crash leaves the new log. The steps after the commit only
 * delete later segments, shorten one segment and write the kept record at a fixed offset, all
 * fsynced before `TRUNCATE` is removed.
 */
export interface TruncationPlan {
  readonly lastKeptId: number;
  /** The segment holding the first removed id: the one cut; every later one is deleted. */
  readonly segmentFirstId: number;
  /** Where the cut segment ends before the kept record: the start of the record cut into. */
  readonly cutOffset: number;
  /** The kept entries of the record cut into, as a record of their own; empty if none. */
  readonly keptRecord: Buffer;
}

export const INTENT_NAME = 'TRUNCATE';
const INTENT_TEMPORARY_NAME = 'TRUNCATE.tmp';
/** u32 payloadLength | u32 crc32(payload) | payload: u48 lastKeptId, u48 segmentFirstId, u32 cutOffset, keptRecord. */
const INTENT_HEADER_BYTES = 8;
const INTENT_FIXED_BYTES = 6 + 6 + 4;

export type TruncationStepName =
  | 'write-intent'
  | 'commit-intent'
  | 'drop-segment'
  | 'cut-segment'
  | 'write-kept-record'
  | 'sync-segment'
  | 'remove-intent';

export interface TruncationStep {
  readonly name: TruncationStepName;
  run(): Promise<void>;
}

export function segmentName(firstId: number): string {
  return `${String(firstId).padStart(20, '0')}.seg`;
}

export function encodeIntent(plan: TruncationPlan): Buffer {
  const payload = Buffer.allocUnsafe(INTENT_FIXED_BYTES + plan.keptRecord.length);
  let at = payload.writeUIntLE(plan.lastKeptId, 0, 6);
  at = payload.writeUIntLE(plan.segmentFirstId, at, 6);
  at = payload.writeUInt32LE(plan.cutOffset, at);
  plan.keptRecord.copy(payload, at);
  const header = Buffer.allocUnsafe(INTENT_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

/** The plan in `bytes`, or why they hold none. */
export function decodeIntent(bytes: Buffer): TruncationPlan | string {
  if (bytes.length < INTENT_HEADER_BYTES + INTENT_FIXED_BYTES) return 'too short';
  const payload = bytes.subarray(INTENT_HEADER_BYTES);
  if (bytes.readUInt32LE(0) !== payload.length) return 'length mismatch';
  if (bytes.readUInt32LE(4) !== crc32(payload)) return 'checksum mismatch';
  return {
    lastKeptId: payload.readUIntLE(0, 6),
    segmentFirstId: payload.readUIntLE(6, 6),
    cutOffset: payload.readUInt32LE(12),
    keptRecord: Buffer.from(payload.subarray(INTENT_FIXED_BYTES)),
  };
}

/** The two steps up to the commit point: after them, the truncation happens even across a crash. */
export function commitSteps(logDir: string, plan: TruncationPlan): TruncationStep[] {
  const temporary = join(logDir, INTENT_TEMPORARY_NAME);
  return [
    {
      name: 'write-intent',
      run: async () => {
        const handle = await open(temporary, 'w');
        try {
          await handle.writeFile(encodeIntent(plan));
          await handle.sync();
        } finally {
          await handle.close();
        }
      },
    },
    {
      name: 'commit-intent',
      run: async () => {
        await rename(temporary, join(logDir, INTENT_NAME));
        await syncDirectory(logDir);
      },
    },
  ];
}

/**
 * The steps after the commit point, each safe to run again: delete the segments after the cut
 * one (newest first), cut that one at `cutOffset`, write the kept record there, fsync, and remove
 * the intent. `segmentFirstIds` are the segments on disk.
 */
export function applySteps(
  logDir: string,
  plan: TruncationPlan,
  segmentFirstIds: readonly number[],
  refuse: (reason: string) => Error,
): TruncationStep[] {
  const path = join(logDir, segmentName(plan.segmentFirstId));
  const later = segmentFirstIds.filter((firstId) => firstId > plan.segmentFirstId);
  const steps: TruncationStep[] = later
    .sort((a, b) => b - a)
    .map((firstId) => ({
      name: 'drop-segment',
      run: () => unlinkIfPresent(join(logDir, segmentName(firstId))),
    }));
  steps.push({
    name: 'cut-segment',
    run: () => withSegment(path, plan, refuse, (handle) => handle.truncate(plan.cutOffset)),
  });
  if (plan.keptRecord.length > 0) {
    steps.push({
      name: 'write-kept-record',
      run: () =>
        withSegment(path, plan, refuse, async (handle) => {
          let written = 0;
          while (written < plan.keptRecord.length) {
            const { bytesWritten } = await handle.write(
              plan.keptRecord,
              written,
              plan.keptRecord.length - written,
              plan.cutOffset + written,
            );
            written += bytesWritten;
          }
          // A crash while it was written last time may have left bytes past it.
          await handle.truncate(plan.cutOffset + plan.keptRecord.length);
        }),
    });
  }
  steps.push(
    {
      name: 'sync-segment',
      run: async () => {
        await withSegment(path, plan, refuse, (handle) => handle.datasync());
        await syncDirectory(logDir);
      },
    },
    {
      name: 'remove-intent',
      run: async () => {
        await unlink(join(logDir, INTENT_NAME));
        await syncDirectory(logDir);
      },
    },
  );
  return steps;
}

/**
 * Recovery: finishes a truncation whose intent was committed (returns its plan), and removes a
 * temporary intent left by a crash before the commit (the truncation did not happen).
 * `refuse(reason)` makes the error for an intent that cannot be carried out.
 */
export async function finishTruncation(
  logDir: string,
  refuse: (reason: string) => Error,
): Promise<TruncationPlan | undefined> {
  await unlinkIfPresent(join(logDir, INTENT_TEMPORARY_NAME));
  let bytes: Buffer;
  try {
    const handle = await open(join(logDir, INTENT_NAME), 'r');
    try {
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const plan = decodeIntent(bytes);
  // The intent was renamed into place whole: a bad one is damage, not a torn write.
  if (typeof plan === 'string') throw refuse(`${INTENT_NAME} is unreadable (${plan})`);
  const firstIds = (await readdir(logDir))
    .map((name) => /^(\d{20})\.seg$/.exec(name)?.[1])
    .filter((digits) => digits !== undefined)
    .map(Number);
  if (!firstIds.includes(plan.segmentFirstId)) {
    throw refuse(`${INTENT_NAME} cuts ${segmentName(plan.segmentFirstId)}, which is missing`);
  }
  for (const step of applySteps(logDir, plan, firstIds, refuse)) await step.run();
  return plan;
}

/** Opens the cut segment for one step, refusing to grow it: bytes before the cut are kept data. */
async function withSegment(
  path: string,
  plan: TruncationPlan,
  refuse: (reason: string) => Error,
  use: (handle: Awaited<ReturnType<typeof open>>) => Promise<void>,
): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    if (size < plan.cutOffset) {
      throw refuse(
        `${path} holds ${size} bytes, fewer than the truncation's cut at ${plan.cutOffset}: the data before it is lost`,
      );
    }
    await use(handle);
  } finally {
    await handle.close();
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
