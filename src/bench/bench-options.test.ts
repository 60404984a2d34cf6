import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions, PRIME_CLIENTS, USAGE } from './bench-options.js';

const parse = (argv: readonly string[]): NonNullable<ReturnType<typeof parseOptions>> => {
  const options = parseOptions(argv);
  assert.ok(options !== undefined, `${argv.join(' ')} parses`);
  return options;
};

void describe('bench options', () => {
  void it('defaults, and --quick’s shorter ones', () => {
    const full = parse(['--scenarios', 'wall']);
    assert.deepEqual(
      [full.durationS, full.warmupS, full.primeS, full.clients, full.mode, full.repeat],
      [5, 1, 2, [1, 16, 64], 'both', 1],
    );
    const quick = parse(['--quick', '--scenarios', 'wall']);
    assert.deepEqual(
      [quick.durationS, quick.warmupS, quick.primeS, quick.clients, quick.mode],
      [2, 0.5, 1, [1, 64], 'fixed'],
    );
  });

  void it('--prime-s takes seconds from 0 (no burst) to 60, and names itself when refused', () => {
    assert.equal(parse(['--scenarios', 'wall', '--prime-s', '0']).primeS, 0);
    assert.equal(parse(['--quick', '--scenarios', 'wall', '--prime-s', '3.5']).primeS, 3.5);
    for (const bad of ['-1', '61', 'soon', '']) {
      assert.throws(
        () => parseOptions(['--scenarios', 'wall', `--prime-s=${bad}`]),
        (error: Error) =>
          error.name === 'UsageError' &&
          error.message === `--prime-s must be a number of seconds from 0 to 60; got "${bad}"`,
      );
    }
    assert.match(USAGE, new RegExp(`--prime-s S .*fewer than ${PRIME_CLIENTS} clients`));
  });

  void it('our scenarios run in the modes asked for, the fixed master’s first', () => {
    const ids = (argv: readonly string[]): string[] => parse(argv).scenarios.map((s) => s.id);
    assert.deepEqual(ids(['--scenarios', 'wall,w1', '--mode', 'fixed']), ['w1', 'wall']);
    assert.deepEqual(ids(['--scenarios', 'wall', '--mode', 'failover']), ['fo-wall']);
    assert.deepEqual(ids(['--scenarios', 'wall', '--mode', 'both']), ['wall', 'fo-wall']);
  });

  void it('refuses what it cannot run, naming the flag and what it takes', () => {
    const cases: [string[], RegExp][] = [
      [['--scenarios', 'wall', '--clients', '1,0'], /^--clients takes integers from 1 to 1024/],
      [['--scenarios', 'nope'], /^--scenarios takes w1, .*; got "nope"$/],
      [['--scenarios', 'wall', '--mode', 'solo'], /^--mode takes fixed, failover, both/],
      [['--scenarios', 'wall', '--repeat', '21'], /^--repeat takes an integer from 1 to 20/],
      [['--scenarios', 'wall', '--env', 'lower=1'], /^--env takes KEY=VALUE/],
      [['--scenarios', 'wall', '--duration-s', '0.05'], /^--duration-s must be at least 0.1/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseOptions(argv),
        (error: Error) => error.name === 'UsageError' && message.test(error.message),
        argv.join(' '),
      );
    }
  });

  void it('keeps distinct client counts in order, --env as a record, and --help as undefined', () => {
    const options = parse(['--scenarios', 'wall', '--clients', '64,1,64', '--env', 'A_B=x=y']);
    assert.deepEqual(options.clients, [64, 1]);
    assert.deepEqual(options.nodeEnv, { A_B: 'x=y' });
    assert.equal(parseOptions(['--help']), undefined);
  });
});
