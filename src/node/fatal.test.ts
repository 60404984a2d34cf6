import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { INVARIANT_EXIT_CODE } from './fatal.js';

const here = (module: string): string => new URL(module, import.meta.url).href;

/**
 * A process like a running node: the node's logger, stopOnUncaughtInvariant, log lines queued
 * before the failure, then `failure` (a statement) with nobody to catch what it throws.
 */
function runFailing(failure: string): Promise<{ code: number | null; lines: string[] }> {
  const script = `
    import { createLogger } from ${JSON.stringify(here('../adapters/logger.js'))};
    import { InvariantError } from ${JSON.stringify(here('../core/assert.js'))};
    import { stopOnUncaughtInvariant } from ${JSON.stringify(here('./fatal.js'))};
    const logger = createLogger('n1', 'secondary', 'info');
    stopOnUncaughtInvariant(logger);
    for (let i = 0; i < 100; i++) logger.info({ event: 'before', i }, 'queued before the failure');
    void InvariantError;
    ${failure}
  `;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 10_000, encoding: 'utf8' },
      (error, stdout) => {
        const code = error === null ? 0 : (error as { code?: unknown }).code;
        resolve({
          code: typeof code === 'number' ? code : null,
          lines: stdout.split('\n').filter((line) => line !== ''),
        });
      },
    );
  });
}

void describe('stopOnUncaughtInvariant', () => {
  for (const [origin, failure] of [
    ['uncaughtException', "setTimeout(() => { throw new InvariantError('broken in a timer'); });"],
    ['unhandledRejection', "void Promise.reject(new InvariantError('broken in a promise'));"],
  ] as const) {
    void it(`${origin}: logs every line and one fatal line, exits ${INVARIANT_EXIT_CODE}`, async () => {
      const { code, lines } = await runFailing(failure);
      assert.equal(code, INVARIANT_EXIT_CODE);
      assert.equal(lines.length, 101, 'the lines queued before it are written out too');
      const fatal = JSON.parse(lines[100]!) as Record<string, unknown>;
      assert.equal(fatal['level'], 'fatal');
      assert.equal(fatal['event'], 'invariant-broken');
      assert.equal(fatal['origin'], origin);
      assert.match((fatal['err'] as { stack: string }).stack, /^InvariantError: broken/);
    });
  }

  void it('leaves other errors to Node: exit 1, no fatal line', async () => {
    const { code, lines } = await runFailing("setTimeout(() => { throw new Error('a bug'); });");
    assert.equal(code, 1);
    assert.ok(!lines.some((line) => line.includes('invariant-broken')));
  });
});
