import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { PeerConfig } from '../core/master-core.js';
import type { FsyncPolicy } from '../adapters/file-store/file-log-store.js';
import type { LogFormat, LogLevel } from '../adapters/logger.js';
import { BATCH_BYTES_LIMIT, BATCH_ENTRIES_LIMIT } from '../protocol/limits.js';
import { fetchRefuses } from './bad-ports.js';

export type Role = 'master' | 'secondary';

export interface DelayRange {
  readonly minMs: number;
  readonly maxMs: number;
}

export interface CommonConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly clusterToken: string | undefined;
  readonly faultInjection: boolean;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly maxMessageBytes: number;
  readonly maxBodyBytes: number;
  readonly maxReadLimit: number;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxInflightBodyBytes: number;
  /** Following the log (`?waitMs=`, `/logs/stream`): see the options of the same names. */
  readonly maxWaitMs: number;
  readonly maxFollowers: number;
  readonly streamKeepAliveMs: number;
  readonly maxStreamBufferBytes: number;
  /** PEM files: this node's certificate and key (HTTPS for clients and peers), and the CAs it trusts. */
  readonly tls: TlsFiles | undefined;
  /** Where the log is kept; undefined: in memory. */
  readonly dataDir: string | undefined;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly segmentBytes: number;
}

export interface MasterConfig extends CommonConfig {
  readonly role: 'master';
  readonly secondaries: readonly PeerConfig[];
  readonly heartbeatIntervalMs: number;
  readonly suspectAfterMisses: number;
  readonly unhealthyAfterMisses: number;
  readonly replicationTimeoutMs: number;
  readonly maxInflightBatches: number;
  readonly maxBatchEntries: number;
  readonly maxBatchBytes: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly maxBatchCount: number;
  readonly maxWaitingAppends: number;
  readonly maxIdempotencyKeys: number;
  readonly apiToken: string | undefined;
}

export interface SecondaryConfig extends CommonConfig {
  readonly role: 'secondary';
  readonly masterUrl: string | undefined;
  readonly delay: DelayRange;
  readonly errorRate: number;
  readonly maxPendingEntries: number;
}

export interface FailoverSettings {
  /** Every node, this one included, in PEERS order. */
  readonly peers: readonly PeerConfig[];
  readonly electionTimeoutMs: number;
  /** What this node tells clients about itself (421 answers, health): ADVERTISED_URL or its PEERS URL. */
  readonly advertisedUrl: string;
}

/** FAILOVER=true: one node that can be master or secondary; it carries the options of both roles. */
export interface FailoverConfig extends Omit<MasterConfig, 'role'>, Omit<SecondaryConfig, 'role'> {
  readonly role: 'failover';
  /** ROLE: only a preference for a cluster's very first start (master = epoch 1 without election). */
  readonly preferredRole: Role;
  readonly failover: FailoverSettings;
}

export type NodeConfig = MasterConfig | SecondaryConfig | FailoverConfig;

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CAs to trust when calling other nodes; undefined: the certificate itself (one self-signed
   * certificate shared by the cluster). Node's built-in CAs are trusted too. */
  readonly caFile: string | undefined;
}

/** A configuration problem: the message names the option, the value and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Parser<T> = (raw: string, option: { readonly flag: string; readonly env?: string }) => T;

interface OptionSpec<T> {
  /** Flag without the leading dashes; the variable is the same in UPPER_SNAKE_CASE. */
  readonly flag: string;
  /** The variable, where it is not the flag in UPPER_SNAKE_CASE. */
  readonly env?: string;
  readonly roles: readonly Role[];
  readonly parse: Parser<T>;
  readonly defaultValue: T;
  readonly help: string;
  readonly boolean?: true;
  /** With FAILOVER=true: `only`, used only then (ignored otherwise); `replaced`, PEERS replaces it. */
  readonly withFailover?: 'only' | 'replaced';
}

export function envName(flag: string): string {
  return flag.replaceAll('-', '_').toUpperCase();
}

function variableOf(option: { readonly flag: string; readonly env?: string }): string {
  return option.env ?? envName(option.flag);
}

function describe(option: { readonly flag: string; readonly env?: string }): string {
  return `--${option.flag} / ${variableOf(option)}`;
}

function integer(min: number, max: number): Parser<number> {
  return (raw, option) => {
    const value = Number(raw);
    if (
      !/^-?[0-9]+$/.test(raw.trim()) ||
      !Number.isSafeInteger(value) ||
      value < min ||
      value > max
    ) {
      throw new ConfigError(
        `${describe(option)} must be an integer from ${min} to ${max}; got "${raw}"`,
      );
    }
    return value;
  };
}

const text: Parser<string> = (raw, option) => {
  if (raw.trim() === '') throw new ConfigError(`${describe(option)} must not be empty`);
  return raw.trim();
};

const optionalText: Parser<string | undefined> = (raw) => (raw === '' ? undefined : raw);

const bool: Parser<boolean> = (raw, option) => {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off', ''].includes(value)) return false;
  throw new ConfigError(`${describe(option)} must be true or false; got "${raw}"`);
};

const logLevel: Parser<LogLevel> = (raw, option) => {
  const value = raw.trim().toLowerCase();
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new ConfigError(`${describe(option)} must be debug, info, warn or error; got "${raw}"`);
};

const logFormat: Parser<LogFormat> = (raw, option) => {
  const value = raw.trim().toLowerCase();
  if (value === 'json' || value === 'pretty') return value;
  throw new ConfigError(
    `${describe(option)} must be json (for machines) or pretty (one readable line per event); got "${raw}"`,
  );
};

function httpUrl(raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${what}: "${raw}" is not a URL; write it as http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${what}: "${raw}" must start with http:// or https://`);
  }
  return url.origin;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

interface PeerListRules {
  /** What one entry is, in messages: "secondary" or "node". */
  readonly entry: string;
  /** The name of an entry given without `name=`; undefined: a name is required. */
  readonly defaultName: ((index: number) => string) | undefined;
  /** Refuse two entries with one URL (two votes for one node). */
  readonly distinctUrls: boolean;
}

/** `name=url,name=url,...`: names validated, URLs reduced to their origin, duplicates refused. */
function peerList(rules: PeerListRules): Parser<readonly PeerConfig[]> {
  return (raw, option) => {
    const peers = raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((item, index) => peerEntry(item, index, rules, option));
    const name = twice(peers.map((peer) => peer.name));
    if (name !== undefined) {
      throw new ConfigError(
        `${describe(option)} names a ${rules.entry} twice ("${name}"); give each one its own name, as in sub1=...,sub2=...`,
      );
    }
    const url = twice(peers.map((peer) => peer.url));
    if (rules.distinctUrls && url !== undefined) {
      throw new ConfigError(
        `${describe(option)} gives ${url} to two ${rules.entry}s; list each ${rules.entry} once, at its own URL`,
      );
    }
    return peers;
  };
}

/** The first value that comes twice. */
function twice(values: readonly string[]): string | undefined {
  return values.find((value, index) => values.indexOf(value) !== index);
}

function peerEntry(
  item: string,
  index: number,
  rules: PeerListRules,
  option: { readonly flag: string; readonly env?: string },
): PeerConfig {
  const eq = item.indexOf('=');
  const named = eq > 0 && !item.slice(0, eq).includes('/');
  const name = named ? item.slice(0, eq) : rules.defaultName?.(index);
  if (name === undefined) {
    throw new ConfigError(
      `${describe(option)}: "${item}" has no name; write each ${rules.entry} as name=url, as in master=http://127.0.0.1:8000,sub1=http://127.0.0.1:8001`,
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw new ConfigError(
      `${describe(option)}: ${rules.entry} name "${name}" may hold only letters, digits, '.', '_' and '-'`,
    );
  }
  return { name, url: httpUrl(named ? item.slice(eq + 1) : item, `${describe(option)} (${name})`) };
}

const secondaries = peerList({
  entry: 'secondary',
  defaultName: (index) => `sub${index + 1}`,
  distinctUrls: false,
});

const peers = peerList({ entry: 'node', defaultName: undefined, distinctUrls: true });

const optionalHttpUrl: Parser<string | undefined> = (raw, option) =>
  raw.trim() === '' ? undefined : httpUrl(raw.trim(), describe(option));

const delayRange: Parser<DelayRange> = (raw, option) => {
  const match = /^\s*([0-9]{1,7})\s*(?:-\s*([0-9]{1,7})\s*)?$/.exec(raw);
  if (match === null) {
    throw new ConfigError(
      `${describe(option)} must be milliseconds like "200" or a range like "100-500"; got "${raw}"`,
    );
  }
  const minMs = Number(match[1]);
  const maxMs = match[2] === undefined ? minMs : Number(match[2]);
  if (maxMs < minMs)
    throw new ConfigError(`${describe(option)}: range "${raw}" has its maximum below its minimum`);
  if (maxMs > 600_000)
    throw new ConfigError(`${describe(option)}: at most 600000 ms; got "${raw}"`);
  return { minMs, maxMs };
};

const fsyncPolicy: Parser<FsyncPolicy> = (raw, option) => {
  const value = raw.trim().toLowerCase();
  if (value === 'always' || value === 'interval' || value === 'never') return value;
  throw new ConfigError(`${describe(option)} must be always, interval or never; got "${raw}"`);
};

const rate: Parser<number> = (raw, option) => {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError(`${describe(option)} must be a number from 0 to 1; got "${raw}"`);
  }
  return value;
};

const BOTH: readonly Role[] = ['master', 'secondary'];
const MASTER: readonly Role[] = ['master'];
const SECONDARY: readonly Role[] = ['secondary'];
const KiB = 1024;
const MiB = 1024 * KiB;

/** Every node option, in the order `--help` lists them. */
export const OPTIONS = {
  name: {
    flag: 'name',
    env: 'NODE_NAME',
    roles: BOTH,
    parse: text,
    defaultValue: '',
    help: 'node name in logs and health (default: master, or secondary); with --failover, its entry in PEERS',
  },
  host: {
    flag: 'host',
    roles: BOTH,
    parse: text,
    defaultValue: '127.0.0.1',
    help: 'address to listen on (0.0.0.0 in a container)',
  },
  port: {
    flag: 'port',
    roles: BOTH,
    parse: integer(0, 65535),
    defaultValue: 8000,
    help: 'port to listen on (a secondary: 8001; with --failover: the port of its PEERS URL)',
  },
  clusterToken: {
    flag: 'cluster-token',
    roles: BOTH,
    parse: optionalText,
    defaultValue: undefined,
    help: 'shared secret for internal and admin endpoints',
  },
  faultInjection: {
    flag: 'fault-injection',
    roles: BOTH,
    parse: bool,
    defaultValue: false,
    boolean: true,
    help: 'enable /admin/faults',
  },
  logLevel: {
    flag: 'log-level',
    roles: BOTH,
    parse: logLevel,
    defaultValue: 'info',
    help: 'debug, info, warn or error',
  },
  logFormat: {
    flag: 'log-format',
    roles: BOTH,
    parse: logFormat,
    defaultValue: 'json',
    help: 'json (one object per line, for machines) or pretty (one readable line per event)',
  },
  maxMessageBytes: {
    flag: 'max-message-bytes',
    roles: BOTH,
    parse: integer(1, 16 * MiB),
    defaultValue: 64 * KiB,
    help: 'largest message, in UTF-8 bytes',
  },
  maxBodyBytes: {
    flag: 'max-body-bytes',
    roles: BOTH,
    parse: integer(1 * KiB, 256 * MiB),
    defaultValue: 8 * MiB,
    help: 'largest client request body',
  },
  maxReadLimit: {
    flag: 'max-read-limit',
    roles: BOTH,
    parse: integer(1, 10_000_000),
    defaultValue: 10_000,
    help: 'largest accepted ?limit= (larger values are capped)',
  },
  maxHeaderBytes: {
    flag: 'max-header-bytes',
    roles: BOTH,
    parse: integer(1 * KiB, 1 * MiB),
    defaultValue: 16 * KiB,
    help: 'largest request line and headers together (431 above)',
  },
  headersTimeoutMs: {
    flag: 'headers-timeout-ms',
    roles: BOTH,
    parse: integer(100, 600_000),
    defaultValue: 10_000,
    help: 'a connection must send its request headers within this (408, closed)',
  },
  requestTimeoutMs: {
    flag: 'request-timeout-ms',
    roles: BOTH,
    parse: integer(100, 3_600_000),
    defaultValue: 30_000,
    help: 'a request must arrive whole, body included, within this (408, closed)',
  },
  maxConnections: {
    flag: 'max-connections',
    roles: BOTH,
    parse: integer(8, 1_000_000),
    defaultValue: 1024,
    help: 'open client connections; over it, requests get 503 OVERLOADED and are closed',
  },
  maxInflightBodyBytes: {
    flag: 'max-inflight-body-bytes',
    roles: BOTH,
    parse: integer(1 * KiB, 4096 * MiB),
    defaultValue: 64 * MiB,
    help: 'request bodies being received at once (503 OVERLOADED above)',
  },
  maxWaitMs: {
    flag: 'max-wait-ms',
    roles: BOTH,
    parse: integer(0, 3_600_000),
    defaultValue: 30_000,
    help: 'longest ?waitMs= of a read that waits for new entries (larger values are capped)',
  },
  maxFollowers: {
    flag: 'max-followers',
    roles: BOTH,
    parse: integer(1, 1_000_000),
    defaultValue: 256,
    help: 'log streams and waiting reads at once, within MAX_CONNECTIONS (503 OVERLOADED above)',
  },
  streamKeepAliveMs: {
    flag: 'stream-keep-alive-ms',
    roles: BOTH,
    parse: integer(10, 600_000),
    defaultValue: 15_000,
    help: 'a quiet log stream gets a comment this often; a reader stalled this long is cut off',
  },
  maxStreamBufferBytes: {
    flag: 'max-stream-buffer-bytes',
    roles: BOTH,
    parse: integer(16 * KiB, 256 * MiB),
    defaultValue: 1 * MiB,
    help: 'unsent bytes a log stream may hold for its reader; a reader stalled above it is cut off',
  },
  tlsCert: {
    flag: 'tls-cert',
    roles: BOTH,
    parse: optionalText,
    defaultValue: undefined,
    help: 'PEM certificate (chain): serve HTTPS, to clients and other nodes (with TLS_KEY)',
  },
  tlsKey: {
    flag: 'tls-key',
    roles: BOTH,
    parse: optionalText,
    defaultValue: undefined,
    help: 'PEM private key of TLS_CERT',
  },
  tlsCa: {
    flag: 'tls-ca',
    roles: BOTH,
    parse: optionalText,
    defaultValue: undefined,
    help: "PEM CAs trusted for calls to other nodes (default: TLS_CERT itself), with Node's built-in CAs",
  },
  dataDir: {
    flag: 'data-dir',
    roles: BOTH,
    parse: optionalText,
    defaultValue: undefined,
    help: 'where the log is stored; absent: in memory',
  },
  fsync: {
    flag: 'fsync',
    roles: BOTH,
    parse: fsyncPolicy,
    defaultValue: 'always',
    help: 'with --data-dir: always (fsync before acknowledging, group commit), interval or never',
  },
  fsyncIntervalMs: {
    flag: 'fsync-interval-ms',
    roles: BOTH,
    parse: integer(1, 60_000),
    defaultValue: 100,
    help: 'with --fsync interval: how often written entries are fsynced',
  },
  segmentBytes: {
    flag: 'segment-bytes',
    roles: BOTH,
    parse: integer(64 * KiB, 1024 * MiB),
    defaultValue: 64 * MiB,
    help: 'with --data-dir: size at which a new segment file starts',
  },
  failover: {
    flag: 'failover',
    roles: BOTH,
    parse: bool,
    defaultValue: false,
    boolean: true,
    help: 'automatic failover: the nodes of PEERS elect the master; needs --data-dir',
  },
  peers: {
    flag: 'peers',
    roles: BOTH,
    parse: peers,
    defaultValue: [],
    withFailover: 'only',
    help: 'with --failover: every node, this one included: master=http://127.0.0.1:8000,sub1=...',
  },
  electionTimeoutMs: {
    flag: 'election-timeout-ms',
    roles: BOTH,
    parse: integer(50, 600_000),
    defaultValue: 1500,
    withFailover: 'only',
    help: 'with --failover: a node that hears from no master for 1x-2x this (at random) starts an election',
  },
  advertisedUrl: {
    flag: 'advertised-url',
    roles: BOTH,
    parse: optionalHttpUrl,
    defaultValue: undefined,
    withFailover: 'only',
    help: 'with --failover: the URL clients are given for this node (default: its PEERS URL)',
  },
  secondaries: {
    flag: 'secondaries',
    roles: MASTER,
    parse: secondaries,
    defaultValue: [],
    withFailover: 'replaced',
    help: 'sub1=http://127.0.0.1:8001,sub2=http://127.0.0.1:8002',
  },
  heartbeatIntervalMs: {
    flag: 'heartbeat-interval-ms',
    roles: MASTER,
    parse: integer(10, 600_000),
    defaultValue: 1000,
    help: 'how often each secondary is probed (with --failover: ELECTION_TIMEOUT_MS / 3 unless set)',
  },
  suspectAfterMisses: {
    flag: 'suspect-after-misses',
    roles: MASTER,
    parse: integer(1, 1000),
    defaultValue: 2,
    help: 'missed probes before a secondary is Suspected',
  },
  unhealthyAfterMisses: {
    flag: 'unhealthy-after-misses',
    roles: MASTER,
    parse: integer(2, 1000),
    defaultValue: 4,
    help: 'missed probes before a secondary is Unhealthy',
  },
  replicationTimeoutMs: {
    flag: 'replication-timeout-ms',
    roles: MASTER,
    parse: integer(10, 3_600_000),
    defaultValue: 5000,
    help: 'timeout of one replication request',
  },
  maxInflightBatches: {
    flag: 'max-inflight-batches',
    roles: MASTER,
    parse: integer(1, 256),
    defaultValue: 4,
    help: 'replication requests in flight per secondary',
  },
  maxBatchEntries: {
    flag: 'max-batch-entries',
    roles: MASTER,
    parse: integer(1, BATCH_ENTRIES_LIMIT),
    defaultValue: 4000,
    help: 'entries in one replication request',
  },
  maxBatchBytes: {
    flag: 'max-batch-bytes',
    roles: MASTER,
    parse: integer(1 * KiB, BATCH_BYTES_LIMIT),
    defaultValue: 1 * MiB,
    help: 'message bytes in one replication request',
  },
  retryBaseMs: {
    flag: 'retry-base-ms',
    roles: MASTER,
    parse: integer(1, 60_000),
    defaultValue: 50,
    help: 'first replication retry delay',
  },
  retryMaxMs: {
    flag: 'retry-max-ms',
    roles: MASTER,
    parse: integer(1, 600_000),
    // Was 250: a restarted secondary waited for the master's next retry. From its answering to
    // its first entries, ten durable catch-ups each: 85-293 ms (median 137) with 250, 71-168 ms
    // (median 100) with 100. The retry is an empty probe, cheap to repeat; towards an Unhealthy
    // secondary the delay still grows to UNHEALTHY_AFTER_MISSES heartbeat intervals.
    defaultValue: 100,
    help: 'longest replication retry delay',
  },
  maxBatchCount: {
    flag: 'max-batch-count',
    roles: MASTER,
    parse: integer(1, 100_000),
    defaultValue: 1000,
    help: 'messages in one batch append',
  },
  maxWaitingAppends: {
    flag: 'max-waiting-appends',
    roles: MASTER,
    parse: integer(1, 10_000_000),
    defaultValue: 100_000,
    help: 'appends being stored or waiting for their write concern at once',
  },
  maxIdempotencyKeys: {
    flag: 'max-idempotency-keys',
    roles: MASTER,
    parse: integer(1, 100_000_000),
    defaultValue: 1_000_000,
    help: 'idempotency keys remembered',
  },
  apiToken: {
    flag: 'api-token',
    roles: MASTER,
    parse: optionalText,
    defaultValue: undefined,
    help: 'secret that appends must carry as Authorization: Bearer <token>',
  },
  masterUrl: {
    flag: 'master',
    env: 'MASTER_URL',
    roles: SECONDARY,
    parse: optionalText,
    defaultValue: undefined,
    withFailover: 'replaced',
    help: "the master's URL (for NOT_MASTER answers and health)",
  },
  delayMs: {
    flag: 'delay-ms',
    roles: SECONDARY,
    parse: delayRange,
    defaultValue: { minMs: 0, maxMs: 0 },
    help: 'delay before storing each replicated batch: 200 or 100-500',
  },
  errorRate: {
    flag: 'error-rate',
    roles: SECONDARY,
    parse: rate,
    defaultValue: 0,
    help: 'probability of answering 500 after storing a batch',
  },
  maxPendingEntries: {
    flag: 'max-pending-entries',
    roles: SECONDARY,
    parse: integer(1, 10_000_000),
    defaultValue: 100_000,
    help: 'entries held back behind a gap',
  },
} satisfies Record<string, OptionSpec<never> | OptionSpec<unknown>>;

type OptionKey = keyof typeof OPTIONS;
/** The parsed type of one option, as its parser returns it. */
type OptionValue<K extends OptionKey> = ReturnType<(typeof OPTIONS)[K]['parse']>;

export interface LoadResult {
  readonly config: NodeConfig;
  /**
   * To be logged as warnings: options set but ignored (the other role's, PEERS without FAILOVER,
   * ...) and a port browsers refuse.
   */
  readonly warnings: readonly string[];
}

const SPECS = OPTIONS as Record<OptionKey, OptionSpec<unknown>>;

/** The value of an option: as its parser returned it, or its default. */
type Getter = <K extends OptionKey>(key: K) => OptionValue<K>;
/** The text given for an option (its flag, else its variable); undefined: not given. */
type RawGetter = (spec: OptionSpec<unknown>) => string | undefined;

/**
 * Reads a node's configuration from argv (after the role) and the environment; a flag wins over
 * its variable. Throws ConfigError naming the option and the fix.
 */
export function loadNodeConfig(
  roleArg: string | undefined,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LoadResult {
  const role = roleOf(roleArg, env);
  const flags = parseFlags(role, argv);
  const rawOf: RawGetter = (spec) => {
    const flagValue = flags[spec.flag];
    return flagValue === undefined ? env[variableOf(spec)] : String(flagValue);
  };
  const failover = bool(rawOf(SPECS.failover) ?? '', SPECS.failover);
  const warnings: string[] = [];
  const get = readValues(rawOf, role, failover, warnings);
  const given = (key: OptionKey): boolean => rawOf(SPECS[key]) !== undefined;
  const common = commonConfig(get, given, role, warnings);
  const config = failover
    ? failoverConfig(common, get, given, role)
    : role === 'master'
      ? { ...common, role, secondaries: get('secondaries'), ...masterOptions(get) }
      : secondaryConfig(common, get);
  if (fetchRefuses(config.port)) {
    warnings.push(
      `port ${config.port} is one of the ports browsers and fetch() refuse to connect to (the Fetch standard's "bad ports"): the node serves, but its dashboard will not load in a browser; pick another --port / PORT${failover ? ' (with failover: in its PEERS URL)' : ''}`,
    );
  }
  return { config, warnings };
}

function secondaryConfig(common: CommonConfig, get: Getter): SecondaryConfig {
  const masterUrl = get('masterUrl');
  return {
    ...common,
    role: 'secondary',
    masterUrl: masterUrl === undefined ? undefined : httpUrl(masterUrl, '--master / MASTER_URL'),
    ...secondaryOptions(get),
  };
}

function roleOf(
  roleArg: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Role {
  const roleRaw = roleArg ?? env['ROLE'];
  if (roleRaw !== 'master' && roleRaw !== 'secondary') {
    throw new ConfigError(
      `role must be "master" or "secondary" (first argument or ROLE); got "${roleRaw ?? ''}"`,
    );
  }
  return roleRaw;
}

function parseFlags(role: Role, argv: readonly string[]): ReturnType<typeof parseArgs>['values'] {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.values(SPECS).map((spec) => [
          spec.flag,
          { type: spec.boolean === true ? 'boolean' : 'string' },
        ]),
      ),
    }).values;
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; run "rlog ${role} --help" for the options`);
  }
}

/** Parses every option given; an option that does not apply gets its default and a warning. */
function readValues(rawOf: RawGetter, role: Role, failover: boolean, warnings: string[]): Getter {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SPECS)) {
    const raw = rawOf(spec);
    const ignored = raw === undefined ? undefined : whyIgnored(spec, role, failover);
    if (raw === undefined || ignored !== undefined) {
      if (ignored !== undefined && raw !== '') warnings.push(`${describe(spec)} ${ignored}`);
      values[key] = spec.defaultValue;
      continue;
    }
    values[key] = spec.parse(raw, spec);
  }
  // Each value was produced by its own option's parser (or is its default), hence this one cast.
  return <K extends OptionKey>(key: K): OptionValue<K> => values[key] as OptionValue<K>;
}

/** Why an option given is ignored on this node; undefined: it applies. */
function whyIgnored(spec: OptionSpec<unknown>, role: Role, failover: boolean): string | undefined {
  if (failover) {
    // A failover node can be either role: every option applies but those PEERS replaces.
    return spec.withFailover === 'replaced'
      ? 'is not used with --failover / FAILOVER: --peers / PEERS replaces it (every node, this one included); ignored'
      : undefined;
  }
  if (spec.withFailover === 'only') return 'applies only with --failover / FAILOVER; ignored';
  if (!spec.roles.includes(role)) {
    return `is for the ${spec.roles.join('/')} only; ignored on a ${role}`;
  }
  return undefined;
}

function tlsFiles(
  certFile: string | undefined,
  keyFile: string | undefined,
  caFile: string | undefined,
): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined) {
      throw new ConfigError(
        '--tls-ca / TLS_CA needs --tls-cert / TLS_CERT and --tls-key / TLS_KEY: TLS is all or nothing across the cluster',
      );
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    throw new ConfigError(
      `--tls-cert / TLS_CERT and --tls-key / TLS_KEY go together; only ${certFile === undefined ? 'TLS_KEY' : 'TLS_CERT'} is set`,
    );
  }
  return { certFile, keyFile, caFile };
}

function commonConfig(
  get: Getter,
  given: (key: OptionKey) => boolean,
  role: Role,
  warnings: string[],
): CommonConfig {
  const dataDir = get('dataDir');
  for (const key of ['fsync', 'fsyncIntervalMs', 'segmentBytes'] as const) {
    if (dataDir === undefined && given(key)) {
      warnings.push(
        `${describe(SPECS[key])} applies to a log on disk; ignored without --data-dir / DATA_DIR`,
      );
    }
  }
  const common: CommonConfig = {
    name: get('name') || (role === 'master' ? 'master' : 'secondary'),
    host: get('host'),
    port: !given('port') && role === 'secondary' ? 8001 : get('port'),
    clusterToken: get('clusterToken'),
    faultInjection: get('faultInjection'),
    logLevel: get('logLevel'),
    logFormat: get('logFormat'),
    maxMessageBytes: get('maxMessageBytes'),
    maxBodyBytes: get('maxBodyBytes'),
    maxReadLimit: get('maxReadLimit'),
    maxHeaderBytes: get('maxHeaderBytes'),
    headersTimeoutMs: get('headersTimeoutMs'),
    requestTimeoutMs: get('requestTimeoutMs'),
    maxConnections: get('maxConnections'),
    maxInflightBodyBytes: get('maxInflightBodyBytes'),
    maxWaitMs: get('maxWaitMs'),
    maxFollowers: get('maxFollowers'),
    streamKeepAliveMs: get('streamKeepAliveMs'),
    maxStreamBufferBytes: get('maxStreamBufferBytes'),
    tls: tlsFiles(get('tlsCert'), get('tlsKey'), get('tlsCa')),
    dataDir,
    fsync: get('fsync'),
    fsyncIntervalMs: get('fsyncIntervalMs'),
    segmentBytes: get('segmentBytes'),
  };
  checkConnectionLimits(common);
  return common;
}

function checkConnectionLimits(common: CommonConfig): void {
  if (common.maxInflightBodyBytes < common.maxBodyBytes) {
    throw new ConfigError(
      `--max-inflight-body-bytes / MAX_INFLIGHT_BODY_BYTES (${common.maxInflightBodyBytes}) must be at least --max-body-bytes / MAX_BODY_BYTES (${common.maxBodyBytes}), or the largest request could never be taken; raise the first or lower the second`,
    );
  }
  if (common.requestTimeoutMs < common.headersTimeoutMs) {
    throw new ConfigError(
      `--request-timeout-ms / REQUEST_TIMEOUT_MS (${common.requestTimeoutMs}) must be at least --headers-timeout-ms / HEADERS_TIMEOUT_MS (${common.headersTimeoutMs}): the headers are part of the request`,
    );
  }
}

/** The master's own options, but its peers. */
type MasterOptions = Omit<MasterConfig, keyof CommonConfig | 'role' | 'secondaries'>;

function masterOptions(get: Getter): MasterOptions {
  const options: MasterOptions = {
    heartbeatIntervalMs: get('heartbeatIntervalMs'),
    suspectAfterMisses: get('suspectAfterMisses'),
    unhealthyAfterMisses: get('unhealthyAfterMisses'),
    replicationTimeoutMs: get('replicationTimeoutMs'),
    maxInflightBatches: get('maxInflightBatches'),
    maxBatchEntries: get('maxBatchEntries'),
    maxBatchBytes: get('maxBatchBytes'),
    retryBaseMs: get('retryBaseMs'),
    retryMaxMs: get('retryMaxMs'),
    maxBatchCount: get('maxBatchCount'),
    maxWaitingAppends: get('maxWaitingAppends'),
    maxIdempotencyKeys: get('maxIdempotencyKeys'),
    apiToken: get('apiToken'),
  };
  if (options.unhealthyAfterMisses <= options.suspectAfterMisses) {
    throw new ConfigError(
      `--unhealthy-after-misses (${options.unhealthyAfterMisses}) must be greater than --suspect-after-misses (${options.suspectAfterMisses})`,
    );
  }
  if (options.retryMaxMs < options.retryBaseMs) {
    throw new ConfigError(
      `--retry-max-ms (${options.retryMaxMs}) must be at least --retry-base-ms (${options.retryBaseMs})`,
    );
  }
  return options;
}

/** The secondary's own options, but its master. */
function secondaryOptions(
  get: Getter,
): Omit<SecondaryConfig, keyof CommonConfig | 'role' | 'masterUrl'> {
  return {
    delay: get('delayMs'),
    errorRate: get('errorRate'),
    maxPendingEntries: get('maxPendingEntries'),
  };
}

/**
 * FAILOVER=true: the options of both roles, PEERS for the peers (SECONDARIES and MASTER_URL were
 * ignored), this node's entry picked by NODE_NAME.
 */
function failoverConfig(
  common: CommonConfig,
  get: Getter,
  given: (key: OptionKey) => boolean,
  preferredRole: Role,
): FailoverConfig {
  if (common.dataDir === undefined) {
    throw new ConfigError(
      '--failover / FAILOVER is true but --data-dir / DATA_DIR is not set: failover needs durable state (a node that forgets its vote could vote twice in one epoch); set DATA_DIR / --data-dir to a directory of its own for this node',
    );
  }
  const all = get('peers');
  const self = selfEntry(all, get('name'), preferredRole);
  const electionTimeoutMs = get('electionTimeoutMs');
  const master = masterOptions(get);
  const heartbeatIntervalMs = given('heartbeatIntervalMs')
    ? master.heartbeatIntervalMs
    : Math.max(10, Math.floor(electionTimeoutMs / 3));
  checkElectionTimeout(electionTimeoutMs, heartbeatIntervalMs);
  return {
    ...common,
    name: self.name,
    port: given('port') ? common.port : portOf(self.url),
    role: 'failover',
    preferredRole,
    ...master,
    heartbeatIntervalMs,
    secondaries: all.filter((peer) => peer.name !== self.name),
    masterUrl: undefined,
    ...secondaryOptions(get),
    failover: {
      peers: all,
      electionTimeoutMs,
      advertisedUrl: get('advertisedUrl') ?? self.url,
    },
  };
}

/** This node's entry of PEERS: NODE_NAME's, else (ROLE=master) master's. */
function selfEntry(all: readonly PeerConfig[], name: string, preferredRole: Role): PeerConfig {
  if (all.length === 0) {
    throw new ConfigError(
      '--failover / FAILOVER needs --peers / PEERS, the same list on every node of all the nodes, this one included: set PEERS=master=http://127.0.0.1:8000,sub1=http://127.0.0.1:8001,sub2=http://127.0.0.1:8002 (your own names and URLs); got none',
    );
  }
  const names = all.map((peer) => peer.name).join(', ');
  const wanted = name !== '' ? name : preferredRole === 'master' ? 'master' : undefined;
  if (wanted === undefined) {
    throw new ConfigError(
      `--name / NODE_NAME is not set: with --failover / FAILOVER it picks this node's entry in --peers / PEERS (${names}); set NODE_NAME to one of them`,
    );
  }
  const self = all.find((peer) => peer.name === wanted);
  if (self === undefined) {
    throw new ConfigError(
      `--name / NODE_NAME "${wanted}"${name === '' ? " (a master's default)" : ''} is not in --peers / PEERS (${names}): PEERS lists every node, this one included; add this node to PEERS or set NODE_NAME to its entry`,
    );
  }
  return self;
}

function checkElectionTimeout(electionTimeoutMs: number, heartbeatIntervalMs: number): void {
  if (electionTimeoutMs <= 2 * heartbeatIntervalMs) {
    throw new ConfigError(
      `--election-timeout-ms / ELECTION_TIMEOUT_MS (${electionTimeoutMs}) must be greater than twice --heartbeat-interval-ms / HEARTBEAT_INTERVAL_MS (${heartbeatIntervalMs}): a master heartbeats several times per election timeout, or the others elect a new one while it is alive; raise ELECTION_TIMEOUT_MS above ${2 * heartbeatIntervalMs}, or lower HEARTBEAT_INTERVAL_MS (unset, it is a third of ELECTION_TIMEOUT_MS)`,
    );
  }
}

/** The port a URL names, or its protocol's. */
function portOf(url: string): number {
  const parsed = new URL(url);
  if (parsed.port !== '') return Number(parsed.port);
  return parsed.protocol === 'https:' ? 443 : 80;
}

/** Every node's advertised URL by name: this node's is advertisedUrl, the others' their PEERS URL. */
/**
 * The log identity of a failover cluster, the same on every node: derived from the names in
 * PEERS, so that whichever node leads first, and whichever is elected after it before the others
 * ever heard from it, starts the same log (a random id would make two logs out of one cluster).
 */
export function failoverLogId(peers: readonly PeerConfig[]): string {
  const names = peers.map((peer) => peer.name).sort();
  return `peers-${createHash('sha256').update(names.join('\n')).digest('hex').slice(0, 24)}`;
}

export function advertisedUrlOf(config: FailoverConfig, name: string): string | undefined {
  if (name === config.name) return config.failover.advertisedUrl;
  return config.failover.peers.find((peer) => peer.name === name)?.url;
}

/** The options of one role, for `--help`. */
export function optionHelp(role: Role): string {
  const specs = Object.values(OPTIONS as Record<OptionKey, OptionSpec<unknown>>);
  return specs
    .filter((spec) => spec.roles.includes(role))
    .map((spec) => {
      const fallback = spec.defaultValue;
      const shown =
        typeof fallback === 'number' || (typeof fallback === 'string' && fallback !== '')
          ? ` (default ${String(fallback)})`
          : '';
      return `  --${spec.flag.padEnd(24)} ${variableOf(spec).padEnd(24)} ${spec.help}${shown}`;
    })
    .join('\n');
}
