import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_ENTRIES,
  QUICK_ENTRIES,
  UsageError,
  checkLogBody,
  formatRatio,
  formatTable,
  latencyStats,
  longestGapMs,
  parseMemoryOptions,
  percentile,
  type Sample,
} from './memory-summary.js';

void describe('parseMemoryOptions', () => {
  void it('defaults to 1,000,000 entries, --quick to 100,000, --entries wins over both', () => {
    assert.deepEqual(parseMemoryOptions([]), { entries: DEFAULT_ENTRIES, quick: false });
    assert.deepEqual(parseMemoryOptions(['--quick']), { entries: QUICK_ENTRIES, quick: true });
    assert.deepEqual(parseMemoryOptions(['--quick', '--entries', '5000']), {
      entries: 5000,
      quick: true,
    });
    assert.deepEqual(parseMemoryOptions(['--entries=2_000_000']), {
      entries: 2_000_000,
      quick: false,
    });
  });

  void it('is undefined for --help and -h', () => {
    assert.equal(parseMemoryOptions(['--help']), undefined);
    assert.equal(parseMemoryOptions(['-h']), undefined);
  });

  void it('refuses counts that are not integers in range, naming the value', () => {
    for (const bad of ['', 'many', '1.5', '-5', '999', '1e6', '30000000']) {
      assert.throws(
        () => parseMemoryOptions([`--entries=${bad}`]),
        (error: unknown) => error instanceof UsageError && error.message.includes(`"${bad}"`),
        bad,
      );
    }
  });

  void it('refuses unknown options', () => {
    assert.throws(() => parseMemoryOptions(['--entires', '5']), {
      code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    });
  });
});

void describe('latency statistics', () => {
  void it('percentile is nearest-rank and 0 for nothing', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile(sorted, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([], 50), 0);
  });

  void it('latencyStats counts the selected samples, errors apart', () => {
    const samples: Sample[] = [
      { sentAtMs: 0, doneAtMs: 2, ok: true },
      { sentAtMs: 2, doneAtMs: 3, ok: true },
      { sentAtMs: 3, doneAtMs: 9, ok: false },
      { sentAtMs: 9, doneAtMs: 14, ok: true },
      { sentAtMs: 100, doneAtMs: 400, ok: true },
    ];
    assert.deepEqual(
      latencyStats(samples, (s) => s.doneAtMs < 50),
      { count: 3, errors: 1, p50Ms: 2, p99Ms: 5, maxMs: 5 },
    );
    assert.deepEqual(
      latencyStats(samples, () => false),
      { count: 0, errors: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 },
    );
  });

  void it('longestGapMs is the longest time without a completion, edges included', () => {
    assert.equal(longestGapMs([12, 14, 40, 41, 200], 10, 50), 26);
    assert.equal(longestGapMs([11, 12], 10, 100), 88);
    assert.equal(longestGapMs([], 10, 30), 20);
  });
});

void describe('checkLogBody', () => {
  const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  void it('accepts ids 1..n in order, each with a message', () => {
    assert.deepEqual(
      checkLogBody(
        body([
          { id: 1, message: 'a' },
          { id: 2, message: 'b' },
        ]),
      ),
      { entries: 2, lastId: 2, problem: undefined, parsed: true },
    );
    assert.deepEqual(checkLogBody(Buffer.from('[]')), {
      entries: 0,
      lastId: undefined,
      problem: undefined,
      parsed: true,
    });
  });

  void it('names a gap, a missing message, a body cut short', () => {
    assert.match(
      checkLogBody(
        body([
          { id: 1, message: 'a' },
          { id: 3, message: 'c' },
        ]),
      ).problem ?? '',
      /entry 1 .*expected id 2/,
    );
    assert.match(checkLogBody(body([{ id: 1 }])).problem ?? '', /entry 0/);
    assert.match(checkLogBody(Buffer.from('[{"id":1,"mess')).problem ?? '', /not a JSON array/);
    assert.match(checkLogBody(Buffer.from('[{"id":1]')).problem ?? '', /not JSON/);
    assert.match(checkLogBody(Buffer.from('')).problem ?? '', /not a JSON array/);
  });
});

void describe('formatting', () => {
  void it('formatTable pads the first column left and the others right', () => {
    assert.equal(
      formatTable(
        ['node', 'MiB'],
        [
          ['master', '12'],
          ['sub1', '3'],
        ],
      ),
      ['node    MiB', '------  ---', 'master   12', 'sub1      3'].join('\n'),
    );
  });

  void it('formatRatio divides later by earlier, "-" without a base', () => {
    assert.equal(formatRatio(3, 2), 'x1.50');
    assert.equal(formatRatio(250, 10), 'x25.0');
    assert.equal(formatRatio(1, 0), '-');
  });
});
