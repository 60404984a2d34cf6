/* eslint-disable no-console -- a command-line tool: its output is the point */
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { MUTANTS, type Mutant } from './mutants.js';

/**
 * Applies each mutant of mutants.ts to a copy of the build and runs the simulator over it.
 *
 *   npm run sim:mutants [-- --seeds N] [--only ID[,ID]] [--all-seeds]
 *
 * A mutant is one source file changed in one place; that file alone is transpiled again (the
 * project compiles with isolatedModules, so one file's output does not depend on the others) into
 * `.mutants/<id>/dist`, beside a copy of the rest of the build. The simulator then runs seeds
 * 1..N there and stops at the first violation (with --all-seeds it runs them all and counts the
 * seeds that catch the mutant). Prints one line per mutant (caught with the seed and the
 * guarantee, or missed) and ends with `mutants: N caught, M missed`; exits 1 if any was missed. Two mutants run at a time, each bounded by its seeds and MUTANT_TIMEOUT_MS.
 */
const ROOT = process.cwd();
const MUTANT_TIMEOUT_MS = 10 * 60_000;
const PARALLEL = 2;

interface Verdict {
  readonly mutant: Mutant;
  readonly caught: boolean;
  readonly seed?: number;
  readonly guarantee?: string | undefined;
  /** What the simulator saw, cut to one line. */
  readonly details?: string | undefined;
  readonly wallS: number;
  /** With --all-seeds: how many of the seeds caught it (the margin before it could be missed). */
  readonly catchingSeeds?: number;
}

const USAGE = `usage: npm run sim:mutants -- [--seeds N] [--only ID[,ID]] [--all-seeds]

  --seeds N        seeds 1..N of the simulator per mutant (default 300; CI runs 200)
  --only ID[,ID]   only these mutants (ids of src/sim/mutants.ts)
  --all-seeds      run every seed instead of stopping at the first violation, and count the
                   seeds that catch each mutant: a mutant caught by few is one change of the
                   simulator's runs away from being missed`;

interface Options {
  readonly seeds: number;
  readonly only: ReadonlySet<string> | undefined;
  readonly allSeeds: boolean;
}

/** The options, or undefined after printing the usage (asked for, or an argument not known). */
function parseOptions(argv: readonly string[]): Options | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        seeds: { type: 'string', default: '300' },
        only: { type: 'string' },
        'all-seeds': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  const only = values.only === undefined ? undefined : new Set(values.only.split(','));
  const unknown = [...(only ?? [])].filter((id) => !MUTANTS.some((mutant) => mutant.id === id));
  if (!/^[1-9][0-9]*$/.test(values.seeds) || unknown.length > 0) {
    console.error(
      unknown.length > 0
        ? `no mutant ${unknown.join(', ')}; the ids are ${MUTANTS.map((mutant) => mutant.id).join(', ')}`
        : `--seeds must be a whole number of at least 1; got "${values.seeds}"`,
    );
    process.exitCode = 2;
    return undefined;
  }
  return { seeds: Number(values.seeds), only, allSeeds: values['all-seeds'] };
}

/** The build with one file replaced by its mutated, transpiled source; returns the copy's dist. */
function buildMutant(mutant: Mutant): string {
  const sourcePath = join(ROOT, 'src', `${mutant.file}.ts`);
  const source = readFileSync(sourcePath, 'utf8');
  const occurrences = source.split(mutant.find).length - 1;
  if (occurrences !== 1) {
    throw new Error(
      `mutant ${mutant.id} is stale: "${mutant.find}" occurs ${occurrences} times in src/${mutant.file}.ts (exactly once needed); update src/sim/mutants.ts`,
    );
  }
  const dist = join(ROOT, '.mutants', mutant.id, 'dist');
  rmSync(join(ROOT, '.mutants', mutant.id), { recursive: true, force: true });
  cpSync(join(ROOT, 'dist'), dist, { recursive: true });
  const output = ts.transpileModule(source.replace(mutant.find, mutant.replace), {
    fileName: sourcePath,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      // ES modules, as package.json's "type" makes every file of the build (one file alone cannot see it).
      module: ts.ModuleKind.ES2022,
      verbatimModuleSyntax: true,
    },
  });
  writeFileSync(join(dist, `${mutant.file}.js`), output.outputText);
  return dist;
}

function runMutant(mutant: Mutant, { seeds, allSeeds }: Options): Promise<Verdict> {
  const started = performance.now();
  const dist = buildMutant(mutant);
  const args = [
    join(dist, 'sim', 'sim-cli.js'),
    '--seeds',
    String(seeds),
    ...(allSeeds ? [] : ['--stop-on-first']),
    ...(mutant.failover === true ? ['--failover'] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), MUTANT_TIMEOUT_MS);
    child.on('close', () => {
      clearTimeout(timer);
      rmSync(join(ROOT, '.mutants', mutant.id), { recursive: true, force: true });
      const failure = /^FAIL seed (\d+): (.+?) violated at [^:]*: (.*)$/m.exec(output);
      const wallS = (performance.now() - started) / 1000;
      if (failure === null) {
        resolve({ mutant, caught: false, wallS });
        return;
      }
      const [, seed, guarantee, details] = failure;
      const violations = /violations (\d+)/.exec(output)?.[1];
      const verdict = { mutant, caught: true, seed: Number(seed), guarantee, details, wallS };
      resolve(allSeeds ? { ...verdict, catchingSeeds: Number(violations) } : verdict);
    });
  });
}

function line(verdict: Verdict, seeds: number): string {
  const { mutant, wallS } = verdict;
  const how = verdict.caught
    ? `caught  seed ${String(verdict.seed).padEnd(5)} ${verdict.guarantee ?? ''}`
    : 'MISSED';
  const margin =
    verdict.catchingSeeds === undefined
      ? ''
      : `; caught by ${verdict.catchingSeeds} of ${seeds} seeds`;
  const seen = verdict.details === undefined ? '' : `\n    seen: ${verdict.details.slice(0, 110)}`;
  return `${mutant.id.padEnd(28)} ${how} (${wallS.toFixed(1)} s${margin})\n    bug: ${mutant.description}${seen}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === undefined) return;
  const { seeds, only } = options;
  const mutants = MUTANTS.filter((mutant) => only === undefined || only.has(mutant.id));
  console.log(`${mutants.length} mutants of the shipped code, seeds 1..${seeds} each`);
  const queue = [...mutants];
  const verdicts: Verdict[] = [];
  const worker = async (): Promise<void> => {
    for (let mutant = queue.shift(); mutant !== undefined; mutant = queue.shift()) {
      const verdict = await runMutant(mutant, options);
      console.log(line(verdict, seeds));
      verdicts.push(verdict);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const missed = verdicts.filter((verdict) => !verdict.caught).length;
  console.log(`mutants: ${verdicts.length - missed} caught, ${missed} missed`);
  if (missed > 0) process.exitCode = 1;
}

await main();
