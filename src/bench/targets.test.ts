import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, formatTargets, issue15Targets, type TargetFigures } from './targets.js';

function finder(rows: Record<string, TargetFigures>) {
  return (id: string, clients: number): TargetFigures | undefined => rows[`${id}@${clients}`];
}

const labelOf = (id: string): string => id;

describe('issue 15 targets', () => {
  const rows = {
    'wall@64': { throughput: 10_000, p50Ms: 5 },
    'redis-wait2@64': { throughput: 12_500, p50Ms: 4 },
    'w1@64': { throughput: 11_000, p50Ms: 4 },
    'redis-wait0@64': { throughput: 12_000, p50Ms: 3 },
    'wall@1': { throughput: 1000, p50Ms: 0.6 },
    'noop@1': { throughput: 3000, p50Ms: 0.25 },
    'wall-fsync@1': { throughput: 400, p50Ms: 2 },
    'etcd@1': { throughput: 500, p50Ms: 2.5 },
    'wall-fsync@64': { throughput: 7000, p50Ms: 9 },
    'etcd@64': { throughput: 2000, p50Ms: 30 },
    'batch@16': { throughput: 260_000, p50Ms: 5 },
    'batch@64': { throughput: 240_000, p50Ms: 20 },
  };

  it('computes each ratio from the same run and says whether it meets its bound', () => {
    const results = evaluate(issue15Targets('', labelOf), finder(rows));
    const byName = new Map(results.map((result) => [result.name, result]));
    const check = (name: string, measured: number, met: boolean): void => {
      const result = byName.get(name);
      assert.ok(result !== undefined, `no target ${name} in ${[...byName.keys()].join(', ')}`);
      assert.ok(
        Math.abs((result.measured ?? Number.NaN) - measured) < 1e-9,
        `${name}: ${result.measured}`,
      );
      assert.equal(result.met, met, name);
    };
    check('wall 64c vs redis-wait2', 0.8, false);
    check('w1 64c vs wall', 1.1, true);
    check('w1 64c vs redis-wait0', 11_000 / 12_000, true);
    check('wall 1c p50 vs noop', 2.4, false);
    check('wall-fsync 1c p50 vs etcd', 0.8, true);
    check('wall-fsync 64c vs etcd', 3.5, true);
    check('wall-fsync 64c vs wall', 0.7, true);
    // The best rate over the client counts measured.
    check('batch messages/s', 260_000, true);
  });

  it('names the run that is missing rather than guessing a figure', () => {
    const results = evaluate(issue15Targets('fo-', labelOf), finder(rows));
    for (const result of results.filter(
      (r) => !r.name.includes('noop') && !r.name.includes('redis-wait0'),
    )) {
      assert.equal(result.measured, undefined, result.name);
      assert.equal(result.met, undefined, result.name);
      assert.match(result.missing ?? '', /fo-\S+ .*not measured/);
    }
    const text = formatTargets(results);
    assert.match(
      text,
      /fo-wall 64c vs redis-wait2 +- +target >= 1\.0 +not measured \(fo-wall at 64 clients not measured\)/,
    );
  });

  it('prints the ratio, the bound and MISSED or met on one line each', () => {
    const text = formatTargets(evaluate(issue15Targets('', labelOf), finder(rows)));
    const lines = text.split('\n');
    assert.equal(lines.length, 8);
    assert.match(lines[0]!, /^wall 64c vs redis-wait2 +x0\.80 +target >= 1\.0 +✗ MISSED$/);
    assert.match(lines[7]!, /^batch messages\/s +260,000\/s +target >= 250,000\/s +✓ met$/);
  });
});
