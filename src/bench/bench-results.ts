/**
 * What the benchmarks share for their reports: the commit measured, number formats for the
 * tables, and the JSON files under bench-results/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function gitCommit(): { commit: string | undefined; dirty: boolean | undefined } {
  const git = (args: string[]): string =>
    execFileSync('git', args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  try {
    return { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain']) !== '' };
  } catch {
    return { commit: undefined, dirty: undefined };
  }
}

/** The machine a report was measured on, with its load before and after. */
export function environment(
  loadAvgStart: readonly number[],
  loadAvgEnd: readonly number[],
): Record<string, unknown> {
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim(),
    totalMemoryBytes: os.totalmem(),
    loadAvgStart,
    loadAvgEnd,
  };
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Three significant digits or so: the noise is larger than that anyway. */
export function formatMs(value: number): string {
  if (value === 0) return '-';
  if (value < 1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

/** 2024-05-01T12-30-00Z: a time stamp that is a valid file name everywhere. */
export function fileStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
}

/**
 * Writes `text` to bench-results/<prefix>-<stamp>.json and to `extraPath` if given; returns the
 * paths written.
 */
export function writeResults(
  prefix: string,
  startedAt: Date,
  text: string,
  extraPath?: string,
): string[] {
  const resultsDir = resolve(REPO_ROOT, 'bench-results');
  mkdirSync(resultsDir, { recursive: true });
  const paths = [resolve(resultsDir, `${prefix}-${fileStamp(startedAt)}.json`)];
  if (extraPath !== undefined) paths.push(resolve(extraPath));
  for (const path of paths) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return paths;
}
