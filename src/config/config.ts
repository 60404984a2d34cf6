import { parseArgs } from 'node:util';
import type { PeerConfig } from '../core/master-core.js';
import type { FsyncPolicy } from '../adapters/file-store/file-log-store.js';
import type { LogFormat, LogLevel } from '../adapters/logger.js';
import { BATCH_BYTES_LIMIT, BATCH_ENTRIES_LIMIT } from '../protocol/limits.js';

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

export type NodeConfig = MasterConfig | SecondaryConfig;

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

const secondaries: Parser<readonly PeerConfig[]> = (raw, option) => {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const peers = items.map((item, index): PeerConfig => {
    const eq = item.indexOf('=');
    const name = eq > 0 && !item.slice(0, eq).includes('/') ? item.slice(0, eq) : `sub${index + 1}`;
    const url = eq > 0 && !item.slice(0, eq).includes('/') ? item.slice(eq + 1) : item;
    if (!NAME_PATTERN.test(name)) {
      throw new ConfigError(
        `${describe(option)}: secondary name "${name}" may hold only letters, digits, '.', '_' and '-'`,
      );
    }
    return { name, url: httpUrl(url, `${describe(option)} (${name})`) };
  });
  const names = new Set(peers.map((peer) => peer.name));
  if (names.size !== peers.length) {
    throw new ConfigError(
      `${describe(option)} names a secondary twice; give each one its own name, as in sub1=...,sub2=...`,
    );
  }
  return peers;
};

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
    help: 'node name in logs and health (default: master, or secondary)',
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
    help: 'port to listen on (a secondary: 8001)',
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
  secondaries: {
    flag: 'secondaries',
    roles: MASTER,
    parse: secondaries,
    defaultValue: [],
    help: 'sub1=http://127.0.0.1:8001,sub2=http://127.0.0.1:8002',
  },
  heartbeatIntervalMs: {
    flag: 'heartbeat-interval-ms',
    roles: MASTER,
    parse: integer(10, 600_000),
    defaultValue: 1000,
    help: 'how often each secondary is probed',
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
    defaultValue: 1000,
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
    defaultValue: 2000,
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
  /** Options set for the other role: ignored, to be logged as warnings. */
  readonly warnings: readonly string[];
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

/**
 * Reads a node's configuration from argv (after the role) and the environment; a flag wins over
 * its variable. Throws ConfigError naming the option and the fix.
 */
export function loadNodeConfig(
  roleArg: string | undefined,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LoadResult {
  const roleRaw = roleArg ?? env['ROLE'];
  if (roleRaw !== 'master' && roleRaw !== 'secondary') {
    throw new ConfigError(
      `role must be "master" or "secondary" (first argument or ROLE); got "${roleRaw ?? ''}"`,
    );
  }
  const role: Role = roleRaw;
  const specs = OPTIONS as Record<OptionKey, OptionSpec<unknown>>;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.values(specs).map((spec) => [
          spec.flag,
          { type: spec.boolean === true ? 'boolean' : 'string' },
        ]),
      ),
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; run "rlog ${role} --help" for the options`);
  }
  const warnings: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const flagValue = parsed.values[spec.flag];
    const raw = flagValue === undefined ? env[variableOf(spec)] : String(flagValue);
    if (raw === undefined) {
      values[key] = spec.defaultValue;
      continue;
    }
    if (!spec.roles.includes(role)) {
      if (raw !== '')
        warnings.push(
          `${describe(spec)} is for the ${spec.roles.join('/')} only; ignored on a ${role}`,
        );
      values[key] = spec.defaultValue;
      continue;
    }
    values[key] = spec.parse(raw, spec);
  }
  // Each value was produced by its own option's parser (or is its default), hence this one cast.
  const get = <K extends OptionKey>(key: K): OptionValue<K> => values[key] as OptionValue<K>;
  const dataDir = get('dataDir');
  for (const key of ['fsync', 'fsyncIntervalMs', 'segmentBytes'] as const) {
    const spec = specs[key];
    if (
      dataDir === undefined &&
      (parsed.values[spec.flag] ?? env[variableOf(spec)]) !== undefined
    ) {
      warnings.push(
        `${describe(spec)} applies to a log on disk; ignored without --data-dir / DATA_DIR`,
      );
    }
  }
  const common = {
    name: get('name') || (role === 'master' ? 'master' : 'secondary'),
    host: get('host'),
    port:
      parsed.values['port'] === undefined && env['PORT'] === undefined && role === 'secondary'
        ? 8001
        : get('port'),
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
  if (role === 'master') {
    const config: MasterConfig = {
      ...common,
      role,
      secondaries: get('secondaries'),
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
    if (config.unhealthyAfterMisses <= config.suspectAfterMisses) {
      throw new ConfigError(
        `--unhealthy-after-misses (${config.unhealthyAfterMisses}) must be greater than --suspect-after-misses (${config.suspectAfterMisses})`,
      );
    }
    if (config.retryMaxMs < config.retryBaseMs) {
      throw new ConfigError(
        `--retry-max-ms (${config.retryMaxMs}) must be at least --retry-base-ms (${config.retryBaseMs})`,
      );
    }
    return { config, warnings };
  }
  const masterUrl = get('masterUrl');
  const config: SecondaryConfig = {
    ...common,
    role,
    masterUrl: masterUrl === undefined ? undefined : httpUrl(masterUrl, '--master / MASTER_URL'),
    delay: get('delayMs'),
    errorRate: get('errorRate'),
    maxPendingEntries: get('maxPendingEntries'),
  };
  return { config, warnings };
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
