/**
 * The published OpenAPI document, checked by Redocly's own linter with its `recommended` rules:
 * the same check a consumer of `/openapi.json` would run. Any error or warning fails the test, and
 * every finding is printed (rule, JSON pointer, message).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { openApiDocument } from './openapi.js';

const REDOCLY_CLI = join(
  dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')),
  'bin',
  'cli.js',
);
const LINT_TIMEOUT_MS = 60_000;

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number };
  readonly problems: readonly {
    readonly ruleId: string;
    readonly severity: string;
    readonly message: string;
    readonly location: readonly { readonly pointer: string }[];
  }[];
}

/** `redocly lint --extends=recommended --format=json`; its report, or why there is none. */
function lint(file: string, cwd: string): Promise<LintReport> {
  const args = [REDOCLY_CLI, 'lint', '--extends=recommended', '--format=json', file];
  // No telemetry and no update check: the test reads a file and talks to nobody.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  return new Promise((resolve, reject) => {
    // The exit code is 1 whenever there is an error: the report on stdout says which.
    execFile(
      process.execPath,
      args,
      { cwd, env, timeout: LINT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as LintReport);
        } catch {
          reject(
            new Error(
              `redocly lint gave no JSON report (${error?.message ?? 'exit 0'}):\n${stdout}${stderr}`,
            ),
          );
        }
      },
    );
  });
}

test('the OpenAPI document passes redocly lint with its recommended rules', async (t) => {
  // A directory of its own: no redocly.yaml of anyone else's is picked up.
  const dir = await mkdtemp(join(tmpdir(), 'rlog-openapi-lint-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'openapi.json');
  await writeFile(file, JSON.stringify(openApiDocument('1.2.3'), null, 2));

  const report = await lint(file, dir);
  const findings = report.problems.map(
    (problem) =>
      `${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer ?? '?'}: ${problem.message}`,
  );
  if (findings.length > 0) t.diagnostic(findings.join('\n'));
  assert.deepEqual(
    findings,
    [],
    `redocly lint found ${report.totals.errors} errors and ${report.totals.warnings} warnings`,
  );
});
