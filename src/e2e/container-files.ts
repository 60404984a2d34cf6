/**
 * Reading the container setup the way Docker and Compose read it, for the checks in
 * container.test.ts: a small Dockerfile parser (stages, instructions, ENV, HEALTHCHECK, exec
 * forms) and a normaliser of `docker-compose config` output (both the short syntax of Compose v1
 * and the long one of Compose v2). No Docker engine is needed.
 *
 * The parser covers what a Dockerfile of this project may use; anything it does not understand
 * (heredocs, a custom escape character, variables in ENV values) is an error naming it, never a
 * silent misreading.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { makeTemporaryDir, removeTemporaryDir } from './harness.js';

/** The repository root, from this compiled file (dist/e2e/container-files.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Dockerfile

export interface Instruction {
  /** Upper case: FROM, RUN, ENV, ... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with single spaces. */
  readonly args: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

export interface Stage {
  readonly index: number;
  /** The `AS name`, lower case, if given. */
  readonly name: string | undefined;
  /** The base image, global ARG defaults substituted. */
  readonly from: string;
  /** The instructions after FROM, in order. */
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly stages: readonly Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions = instructionsOf(text);
  const globalArgs = new Map<string, string>();
  const stages: { index: number; name: string | undefined; from: string; body: Instruction[] }[] =
    [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = words[0];
      if (image === undefined) throw new Error(`line ${instruction.line}: FROM without an image`);
      const alias = words[1]?.toUpperCase() === 'AS' ? words[2]?.toLowerCase() : undefined;
      stages.push({
        index: stages.length,
        name: alias,
        from: substitute(image, globalArgs, instruction.line),
        body: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (instruction.keyword !== 'ARG') {
        throw new Error(
          `line ${instruction.line}: ${instruction.keyword} before the first FROM (only ARG may come first)`,
        );
      }
      // An ARG without a default gives FROM nothing to substitute: left out, so that a FROM
      // using it is an error.
      const eq = instruction.args.indexOf('=');
      if (eq > 0) {
        globalArgs.set(
          instruction.args.slice(0, eq).trim(),
          unquote(instruction.args.slice(eq + 1).trim()),
        );
      }
      continue;
    }
    stage.body.push(instruction);
  }
  return {
    globalArgs,
    stages: stages.map(({ body, ...rest }) => ({ ...rest, instructions: body })),
  };
}

/** Instructions with continuation lines joined and comments dropped, as Docker reads them. */
function instructionsOf(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const found: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  let directivesAllowed = true;
  for (const [index, raw] of lines.entries()) {
    const trimmed = raw.trim();
    if (directivesAllowed) {
      const directive = /^#\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(trimmed);
      if (directive !== null) {
        if (directive[1]!.toLowerCase() === 'escape' && directive[2] !== '\\') {
          throw new Error(`the escape directive "${trimmed}" is not supported by this parser`);
        }
        continue;
      }
      directivesAllowed = false;
    }
    // A comment line is dropped, inside a continuation too; so is an empty line.
    if (trimmed.startsWith('#') || trimmed === '') continue;
    const continued = trimmed.endsWith('\\');
    const content = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending === undefined) pending = { parts: [], line: index + 1 };
    pending.parts.push(content);
    if (continued) continue;
    const joined = pending.parts.join(' ').trim();
    const match = /^(\S+)\s*(.*)$/s.exec(joined);
    const keyword = match![1]!.toUpperCase();
    const args = match![2]!.trim();
    if (['RUN', 'COPY', 'ADD'].includes(keyword) && /<<-?\s*["']?[A-Za-z_]/.test(args)) {
      throw new Error(`line ${pending.line}: heredocs are not supported by this parser`);
    }
    found.push({ keyword, args, line: pending.line });
    pending = undefined;
  }
  if (pending !== undefined) {
    throw new Error(`line ${pending.line}: the last instruction ends with a continuation "\\"`);
  }
  return found;
}

function substitute(value: string, args: ReadonlyMap<string, string>, line: number): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => {
    const name = String(a ?? b);
    const found = args.get(name);
    if (found === undefined)
      throw new Error(`line ${line}: $${name} has no default in a global ARG`);
    return found;
  });
}

function unquote(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
    return value.slice(1, -1);
  }
  return value;
}

/** The last stage: the image that is run. */
export function finalStage(dockerfile: Dockerfile): Stage {
  const stage = dockerfile.stages.at(-1);
  if (stage === undefined) throw new Error('the Dockerfile has no FROM');
  return stage;
}

export function instructionsIn(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** The last instruction of a kind in a stage (the one in force), if any. */
export function lastInstruction(stage: Stage, keyword: string): Instruction | undefined {
  return instructionsIn(stage, keyword).at(-1);
}

/** A JSON array of strings (the exec form of CMD, ENTRYPOINT, HEALTHCHECK CMD), else undefined. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return undefined;
  }
  return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')
    ? parsed
    : undefined;
}

/**
 * The variables a stage's ENV instructions set, in order (later ones win). Both forms: `ENV A=1
 * B="two words"` and the legacy `ENV A one value`.
 */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of instructionsIn(stage, 'ENV')) {
    const words = shellWords(instruction.args, instruction.line);
    const first = words[0];
    if (first === undefined) throw new Error(`line ${instruction.line}: ENV without a variable`);
    if (!first.includes('=')) {
      env[first] = words.slice(1).join(' ');
      continue;
    }
    for (const word of words) {
      const eq = word.indexOf('=');
      if (eq <= 0) throw new Error(`line ${instruction.line}: "${word}" in ENV is not NAME=value`);
      env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/** Splits on unquoted whitespace; handles "..." and '...' and backslash escapes. */
function shellWords(text: string, line: number): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote === undefined && /\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (char === '$' && quote !== "'") {
      throw new Error(`line ${line}: variables in ENV values are not supported by this parser`);
    }
    if (char === '\\' && quote !== "'" && index + 1 < text.length) {
      word += text[++index]!;
    } else if (quote === undefined && (char === '"' || char === "'")) {
      quote = char;
    } else if (char === quote) {
      quote = undefined;
    } else {
      word += char;
    }
  }
  if (quote !== undefined) throw new Error(`line ${line}: unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

export interface Healthcheck {
  /** `--interval=10s` and so on, by name without dashes. */
  readonly options: Readonly<Record<string, string>>;
  /** The exec form of its CMD, or undefined for the shell form. */
  readonly command: string[] | undefined;
  /** The CMD's arguments as written. */
  readonly commandText: string;
}

/** The HEALTHCHECK in force in a stage; undefined if none or `HEALTHCHECK NONE`. */
export function healthcheckOf(stage: Stage): Healthcheck | undefined {
  const instruction = lastInstruction(stage, 'HEALTHCHECK');
  if (instruction === undefined || /^NONE$/i.test(instruction.args)) return undefined;
  const options: Record<string, string> = {};
  let rest = instruction.args;
  for (;;) {
    const option = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (option === null) break;
    options[option[1]!] = option[2]!;
    rest = rest.slice(option[0].length);
  }
  const cmd = /^CMD\s+(.*)$/is.exec(rest);
  if (cmd === null) {
    throw new Error(`line ${instruction.line}: HEALTHCHECK must be NONE or [options] CMD command`);
  }
  const commandText = cmd[1]!.trim();
  return { options, command: execForm(commandText), commandText };
}

/** A Go duration as Docker writes them (`30s`, `1m30s`, `500ms`), in milliseconds. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const part = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/.exec(rest);
    if (part === null) throw new Error(`"${text}" is not a duration like 10s, 1m30s or 500ms`);
    total += Number(part[1]) * units[part[2]!]!;
    rest = rest.slice(part[0].length);
  }
  if (text === '') throw new Error('an empty duration');
  return total;
}

// ---------------------------------------------------------------------------------------------
// docker-compose config

export interface PortMapping {
  readonly hostIp: string | undefined;
  readonly published: number | undefined;
  readonly target: number;
  readonly protocol: string;
}

export interface VolumeMount {
  readonly type: string;
  readonly source: string | undefined;
  readonly target: string;
}

export interface ComposeService {
  readonly name: string;
  readonly image: string | undefined;
  /** The build context, absolute as `config` resolves it; undefined without `build`. */
  readonly buildContext: string | undefined;
  readonly dockerfile: string | undefined;
  /** Values as strings; a variable listed without a value (taken from the shell) is undefined. */
  readonly environment: Readonly<Record<string, string | undefined>>;
  readonly ports: readonly PortMapping[];
  readonly volumes: readonly VolumeMount[];
  /** Service name → condition (`service_started` for the list form). */
  readonly dependsOn: Readonly<Record<string, string>>;
  readonly networks: readonly string[];
  readonly restart: string | undefined;
  readonly healthcheck: unknown;
  readonly command: unknown;
  readonly entrypoint: unknown;
  readonly user: unknown;
}

export interface ComposeProject {
  readonly services: ReadonlyMap<string, ComposeService>;
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalar(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`expected a scalar, got ${JSON.stringify(value)}`);
}

function keysOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((item) => String(item));
  if (isRecord(value)) return Object.keys(value);
  return [];
}

/** Turns `docker-compose config` YAML (Compose v1 or v2) into one shape. */
export function parseComposeConfig(text: string): ComposeProject {
  const document: unknown = parseYaml(text);
  if (!isRecord(document) || !isRecord(document['services'])) {
    throw new Error(`docker-compose config printed no services:\n${text}`);
  }
  const services = new Map<string, ComposeService>();
  for (const [name, raw] of Object.entries(document['services'])) {
    if (!isRecord(raw)) throw new Error(`service ${name} is not a mapping`);
    services.set(name, normaliseService(name, raw));
  }
  return {
    services,
    networks: keysOf(document['networks']),
    volumes: keysOf(document['volumes']),
  };
}

function normaliseService(name: string, raw: Json): ComposeService {
  const build = raw['build'];
  const buildRecord = isRecord(build) ? build : undefined;
  return {
    name,
    image: scalar(raw['image']),
    buildContext: typeof build === 'string' ? build : scalar(buildRecord?.['context']),
    dockerfile: scalar(buildRecord?.['dockerfile']),
    environment: environmentOf(raw['environment']),
    ports: Array.isArray(raw['ports']) ? raw['ports'].map(portOf) : [],
    volumes: Array.isArray(raw['volumes']) ? raw['volumes'].map(volumeOf) : [],
    dependsOn: dependsOnOf(raw['depends_on']),
    networks: keysOf(raw['networks']),
    restart: scalar(raw['restart']),
    healthcheck: raw['healthcheck'],
    command: raw['command'],
    entrypoint: raw['entrypoint'],
    user: raw['user'],
  };
}

function environmentOf(raw: unknown): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq < 0) env[text] = undefined;
      else env[text.slice(0, eq)] = text.slice(eq + 1);
    }
  } else if (isRecord(raw)) {
    for (const [key, value] of Object.entries(raw)) env[key] = scalar(value);
  }
  return env;
}

function portOf(raw: unknown): PortMapping {
  if (isRecord(raw)) {
    const published = scalar(raw['published']);
    return {
      hostIp: scalar(raw['host_ip']),
      published: published === undefined ? undefined : Number(published),
      target: Number(scalar(raw['target'])),
      protocol: scalar(raw['protocol']) ?? 'tcp',
    };
  }
  // [host_ip:][published:]target[/protocol]; a host IP of IPv6 form is not used here.
  const text = String(raw);
  const [spec = '', protocol = 'tcp'] = text.split('/');
  const parts = spec.split(':');
  const target = Number(parts.at(-1));
  const published = parts.length >= 2 ? Number(parts.at(-2)) : undefined;
  const hostIp = parts.length >= 3 ? parts.slice(0, -2).join(':') : undefined;
  if (!Number.isInteger(target)) throw new Error(`cannot read the port mapping "${text}"`);
  return { hostIp, published, target, protocol };
}

function volumeOf(raw: unknown): VolumeMount {
  if (isRecord(raw)) {
    return {
      type: scalar(raw['type']) ?? 'volume',
      source: scalar(raw['source']),
      target: scalar(raw['target']) ?? '',
    };
  }
  // source:target[:mode], or target alone (an anonymous volume).
  const parts = String(raw).split(':');
  if (parts.length === 1) return { type: 'volume', source: undefined, target: parts[0]! };
  const source = parts[0]!;
  const isPath = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
  return { type: isPath ? 'bind' : 'volume', source, target: parts[1]! };
}

function dependsOnOf(raw: unknown): Record<string, string> {
  const dependsOn: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const item of raw) dependsOn[String(item)] = 'service_started';
  } else if (isRecord(raw)) {
    for (const [service, spec] of Object.entries(raw)) {
      dependsOn[service] = isRecord(spec)
        ? (scalar(spec['condition']) ?? 'service_started')
        : 'service_started';
    }
  }
  return dependsOn;
}

/**
 * The services in the order Compose starts them: each after everything it depends on (ties by
 * name, for a stable order). Throws on an unknown dependency or a cycle.
 */
export function startOrder(project: ComposeProject): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const remaining = new Set(project.services.keys());
  while (remaining.size > 0) {
    const ready = [...remaining]
      .filter((name) =>
        Object.keys(project.services.get(name)!.dependsOn).every((dep) => {
          if (!project.services.has(dep)) throw new Error(`${name} depends on unknown ${dep}`);
          return done.has(dep);
        }),
      )
      .sort();
    if (ready.length === 0)
      throw new Error(`depends_on has a cycle among ${[...remaining].join(', ')}`);
    for (const name of ready) {
      order.push(name);
      done.add(name);
      remaining.delete(name);
    }
  }
  return order;
}

export interface ComposeRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const COMPOSE_TIMEOUT_MS = 60_000;

/**
 * `docker-compose config` on the repository's compose file, with only PATH and `variables` in
 * its environment and an empty env file in place of a developer's `.env`, so that the answer
 * depends on the files in the repository alone.
 */
export function composeConfig(variables: Readonly<Record<string, string>>): ComposeRun {
  const scratch = makeTemporaryDir('rlog-compose-');
  try {
    const envFile = join(scratch, 'empty.env');
    writeFileSync(envFile, '');
    const result = spawnSync(
      'docker-compose',
      ['--file', resolve(REPO_ROOT, 'docker-compose.yml'), '--env-file', envFile, 'config'],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env['PATH'] ?? '', ...variables },
        encoding: 'utf8',
        timeout: COMPOSE_TIMEOUT_MS,
      },
    );
    if (result.error !== undefined) {
      const code = (result.error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new Error(
          'docker-compose is not installed, and the compose file cannot be checked without it. ' +
            'Install it: "apt-get install docker-compose" (the Debian package, Compose 1.29) or ' +
            'the standalone Compose v2 binary as docker-compose on the PATH.',
        );
      }
      throw new Error(`docker-compose config failed to run: ${result.error.message}`);
    }
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    removeTemporaryDir(scratch);
  }
}
