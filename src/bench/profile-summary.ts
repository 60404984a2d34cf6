/**
 * `node dist/bench/profile-summary.js FILE.cpuprofile... [--top N] [--callers TEXT]`: where a V8
 * CPU profile (as written by `npm run bench -- --cpu-prof DIR`) spends its time, as text: busy time
 * by package or source file, then the functions with the most self time; with `--callers`, whose
 * calls the self time of the functions named like TEXT comes from (`write (node:buffer:1102)` is
 * one line; which of our functions writes is another). A flame graph shows the same in more detail
 * (open the file in Chrome DevTools or speedscope); this is for a terminal and for notes.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Time not idle: everything but `(idle)`. */
  readonly busyMs: number;
  /** Self time by where the code lives: a package, one of our source files, node itself, GC. */
  readonly byOrigin: readonly (readonly [string, number])[];
  /** Self time by function, `name (origin:line)`. */
  readonly byFunction: readonly (readonly [string, number])[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Which package, source file or runtime part a frame belongs to. */
export function originOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName) && frame.url === '') return frame.functionName;
  const url = frame.url;
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) {
    // node:internal/http/... → node:http; node:internal/streams/readable → node:streams.
    const parts = url.slice('node:'.length).split('/');
    return `node:${parts[0] === 'internal' ? (parts[1] ?? 'internal') : (parts[0] ?? url)}`;
  }
  const dist = url.lastIndexOf('/dist/');
  return dist >= 0 ? url.slice(dist + '/dist/'.length) : url;
}

export function summarize(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const origin = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    const node = byId.get(profile.samples[index]!);
    const deltaUs = Math.max(0, profile.timeDeltas[index] ?? 0);
    totalUs += deltaUs;
    if (node === undefined) continue;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += deltaUs;
      continue;
    }
    const where = originOf(frame);
    origin.set(where, (origin.get(where) ?? 0) + deltaUs);
    const name = frameName(frame);
    functions.set(name, (functions.get(name) ?? 0) + deltaUs);
  }
  const sorted = (map: Map<string, number>): [string, number][] =>
    [...map.entries()]
      .map(([key, us]): [string, number] => [key, us / 1000])
      .sort((a, b) => b[1] - a[1]);
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    byOrigin: sorted(origin),
    byFunction: sorted(functions),
  };
}

/** `name (origin:line)`, as the summary lists functions. */
function frameName(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'} (${originOf(frame)}:${frame.lineNumber + 1})`;
}

/**
 * The self time of the functions whose `name (origin:line)` contains `match`, by their callers:
 * the first frame up the stack that is not itself a match, then its caller (`caller < its
 * caller`), longest first, in ms.
 */
export function callersOf(profile: CpuProfile, match: string): [string, number][] {
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parentOf.set(child, node);
  }
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const callers = new Map<string, number>();
  for (let index = 0; index < profile.samples.length; index++) {
    let node = byId.get(profile.samples[index]!);
    if (node === undefined || !frameName(node.callFrame).includes(match)) continue;
    while (node !== undefined && frameName(node.callFrame).includes(match)) {
      node = parentOf.get(node.id);
    }
    const caller = node === undefined ? '(root)' : frameName(node.callFrame);
    const above = node === undefined ? undefined : parentOf.get(node.id);
    const key = above === undefined ? caller : `${caller} < ${frameName(above.callFrame)}`;
    const deltaUs = Math.max(0, profile.timeDeltas[index] ?? 0);
    callers.set(key, (callers.get(key) ?? 0) + deltaUs);
  }
  return [...callers.entries()]
    .map(([key, us]): [string, number] => [key, us / 1000])
    .sort((a, b) => b[1] - a[1]);
}

export function formatSummary(name: string, summary: ProfileSummary, top: number): string {
  const busy = summary.busyMs;
  const pct = (ms: number): string =>
    `${((100 * ms) / Math.max(busy, 1e-9)).toFixed(1)}%`.padStart(6);
  const lines = [
    `${name}: ${(summary.totalMs / 1000).toFixed(2)} s profiled, ${(busy / 1000).toFixed(2)} s busy (${((100 * busy) / Math.max(summary.totalMs, 1e-9)).toFixed(0)}%)`,
    '  busy time by origin:',
    ...summary.byOrigin.slice(0, top).map(([key, ms]) => `    ${pct(ms)}  ${key}`),
    '  functions by self time:',
    ...summary.byFunction.slice(0, top).map(([key, ms]) => `    ${pct(ms)}  ${key}`),
  ];
  return lines.join('\n');
}

const USAGE =
  'Usage: node dist/bench/profile-summary.js FILE.cpuprofile... [--top N] [--callers TEXT]\n';

function main(argv: readonly string[]): void {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        top: { type: 'string', default: '20' },
        callers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { values, positionals } = parsed;
  const top = Number(values.top);
  if (values.help === true || positionals.length === 0 || !Number.isInteger(top) || top < 1) {
    process.stderr.write(USAGE);
    process.exitCode = values.help === true ? 0 : 2;
    return;
  }
  for (const file of positionals) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const summary = summarize(profile);
    process.stdout.write(`${formatSummary(basename(file), summary, top)}\n`);
    if (values.callers !== undefined) {
      const pct = (ms: number): string =>
        `${((100 * ms) / Math.max(summary.busyMs, 1e-9)).toFixed(1)}%`.padStart(6);
      process.stdout.write(`  callers of ${JSON.stringify(values.callers)}:\n`);
      for (const [key, ms] of callersOf(profile, values.callers).slice(0, top)) {
        process.stdout.write(`    ${pct(ms)}  ${key}\n`);
      }
    }
    process.stdout.write('\n');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
