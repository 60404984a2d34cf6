#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadNodeConfig, optionHelp, type Role } from '../config/config.js';
import { StorageError } from '../adapters/file-store/file-log-store.js';
import { InvariantError } from '../core/assert.js';
import { INVARIANT_EXIT_CODE, stopOnUncaughtInvariant } from '../node/fatal.js';
import { startNode } from '../main/start-node.js';
import { exitWithParent } from '../launcher/exit-with-parent.js';
import { call, ClientError } from './client.js';
import { runCluster } from './cluster.js';
import {
  apiToken,
  appendWithProgress,
  DEFAULT_CATCH_UP_TIMEOUT_S,
  fetchHealth,
  masterUrl,
  progressTo,
  READ_TIMEOUT_MS,
  readLog,
  resolveNode,
  waitForCatchUp,
} from './commands.js';
import { healthcheck } from './healthcheck.js';
import { runShell } from './shell.js';
import { parseWriteConcern } from './shell-commands.js';
import { appendOutcome, entryLines, healthSummary } from './texts.js';

/** `rlog wait --timeout-s` at most a day: a bound, not a policy. */
const MAX_CATCH_UP_TIMEOUT_S = 86_400;

const USAGE = `rlog: a replicated append-only log

Usage:
  rlog cluster [--secondaries N] [--base-port 8000] [--data-dir .rlog-data | --in-memory]
               [--fsync always|interval|never] [--host 127.0.0.1] [--json]
                                  master + N secondaries (default 2) on 8000, 8001, ...,
                                  each node's log in DATA_DIR/<node name> (kept across runs)
  rlog master [options]           run a master node (every option also from its variable)
  rlog secondary [options]        run a secondary node
  rlog [options]                  with ROLE=master|secondary set: run that node (the container)
  rlog healthcheck                this node's GET /health on 127.0.0.1:PORT (https with
                                  TLS_CERT): exit 0 if 200 (the container's HEALTHCHECK)
  rlog append "text" [-w N|majority|all] [--key K] [--timeout-ms MS] [--api-token T] [--quiet]
  rlog list [--node NAME|URL] [--since ID] [--limit N] [--json]
  rlog health [--json]
  rlog wait [--timeout-s 60] [--quiet]
                                  wait until every secondary is Healthy with lag 0
                                  (exit 0), or until the timeout (exit 1)
  rlog shell [-w N|majority|all] [--timeout-ms MS] [--api-token T] [--quiet]
                                  interactive client: a typed line is appended, "help"
                                  lists the commands; also reads a script on stdin

Client commands find the master with --master URL, else RLOG_MASTER, else http://127.0.0.1:8000.
Appends carry --api-token, else RLOG_API_TOKEN, for a master started with API_TOKEN.
An append or wait slower than a second says what it waits for on stderr (--quiet: not).
History of rlog shell: RLOG_HISTORY, else ~/.rlog_history (RLOG_HISTORY= keeps none).
"rlog master --help" and "rlog secondary --help" list the node options.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  // The container runs plain `rlog` and says which node it is with ROLE, as every other option.
  const role = process.env['ROLE'];
  if ((command === undefined || command.startsWith('--')) && role !== undefined) {
    return runNode(role === 'master' || role === 'secondary' ? role : undefined, argv);
  }
  switch (command) {
    case 'master':
    case 'secondary':
      return runNode(command, rest);
    case 'cluster':
      return cluster(rest);
    case 'append':
      return append(rest);
    case 'list':
      return list(rest);
    case 'health':
      return health(rest);
    case 'wait':
      return wait(rest);
    case 'shell':
      return shell(rest);
    case 'healthcheck':
      return healthcheck(process.env);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`rlog: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

async function runNode(role: Role | undefined, args: readonly string[]): Promise<number> {
  if (role !== undefined && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(
      `rlog ${role} [options]; each flag also reads the variable beside it (the flag wins)\n\n${optionHelp(role)}\n`,
    );
    return 0;
  }
  let loaded;
  try {
    loaded = loadNodeConfig(role, args, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`rlog ${role ?? 'node'}: invalid configuration: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  role = loaded.config.role;
  // Started by a launcher (tests, chaos, benches, `rlog cluster`): no node outlives it.
  exitWithParent();
  let node;
  try {
    node = await startNode(loaded.config, loaded.warnings);
  } catch (error) {
    if (error instanceof StorageError) {
      process.stderr.write(`rlog ${role}: cannot start: ${error.message}\n`);
      return 1;
    }
    // Configuration checked at start, such as unreadable TLS files.
    if (error instanceof ConfigError) {
      process.stderr.write(`rlog ${role}: invalid configuration: ${error.message}\n`);
      return 2;
    }
    // Recovery found a log that breaks an invariant: the same exit as a running node's.
    if (error instanceof InvariantError) {
      process.stderr.write(`rlog ${role}: invariant broken at start: ${error.stack ?? ''}\n`);
      return INVARIANT_EXIT_CODE;
    }
    throw error;
  }
  stopOnUncaughtInvariant(node.logger);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      node.logger.info({ event: 'stopping', signal }, `stopping on ${signal}`);
      void node.stop().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

async function cluster(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      secondaries: { type: 'string', default: '2' },
      'base-port': { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      'heartbeat-interval-ms': { type: 'string' },
      'log-level': { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: '.rlog-data' },
      fsync: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const secondaries = Number(values.secondaries);
  const basePort = Number(values['base-port']);
  if (!Number.isInteger(secondaries) || secondaries < 0 || secondaries > 64) {
    process.stderr.write(
      `rlog cluster: --secondaries must be an integer from 0 to 64; got "${values.secondaries}"\n`,
    );
    return 2;
  }
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + secondaries > 65535) {
    process.stderr.write(
      `rlog cluster: --base-port must leave room for ${secondaries + 1} ports; got "${values['base-port']}"\n`,
    );
    return 2;
  }
  const env: Record<string, string> = {};
  const masterEnv: Record<string, string> = {};
  if (values['heartbeat-interval-ms'] !== undefined) {
    masterEnv['HEARTBEAT_INTERVAL_MS'] = values['heartbeat-interval-ms'];
  }
  if (values['log-level'] !== undefined) env['LOG_LEVEL'] = values['log-level'];
  if (values.fsync !== undefined) env['FSYNC'] = values.fsync;
  return runCluster({
    secondaries,
    basePort,
    host: values.host,
    json: values.json,
    env,
    masterEnv,
    dataDir: values['in-memory'] ? undefined : resolve(values['data-dir']),
  });
}

async function append(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      w: { type: 'string', short: 'w' },
      key: { type: 'string' },
      'timeout-ms': { type: 'string' },
      master: { type: 'string' },
      'api-token': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
  });
  if (positionals.length === 0) {
    process.stderr.write('rlog append: give the message, as in: rlog append "hello" -w 2\n');
    return 2;
  }
  const body: Record<string, unknown> =
    positionals.length === 1 ? { message: positionals[0] } : { messages: positionals };
  // The master checks w against the cluster's size and names the allowed range.
  if (values.w !== undefined) body['w'] = /^[0-9]+$/.test(values.w) ? Number(values.w) : values.w;
  if (values['timeout-ms'] !== undefined) body['timeoutMs'] = Number(values['timeout-ms']);
  const master = masterUrl(values.master);
  if (process.stderr.isTTY && !values.quiet)
    process.stderr.write(`appending to ${master}/logs (w=${values.w ?? 'all'}) ...\n`);
  const answer = await appendWithProgress({
    master,
    body,
    apiToken: apiToken(values['api-token']),
    ...(values.key === undefined ? {} : { idempotencyKey: values.key }),
    ...progressTo(values.quiet ? undefined : process.stderr),
  });
  const outcome = appendOutcome(answer.status, answer.body);
  if (values.json) process.stdout.write(`${JSON.stringify(answer.body)}\n`);
  else if (outcome.ok) process.stdout.write(`${outcome.text}\n`);
  else process.stderr.write(`rlog append: ${outcome.text}\n`);
  return outcome.ok ? 0 : 1;
}

async function list(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      node: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      master: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const base = await resolveNode(masterUrl(values.master), values.node);
  let entries;
  try {
    entries = await readLog(base, {
      ...(values.since === undefined ? {} : { since: values.since }),
      ...(values.limit === undefined ? {} : { limit: values.limit }),
    });
  } catch (error) {
    // A node that answered with an error (a bad --since, say) is exit 1; no answer at all is 2.
    if (!(error instanceof ClientError) || error.unreachable) throw error;
    process.stderr.write(`rlog list: ${error.message}\n`);
    return 1;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(entries)}\n`);
  else for (const line of entryLines(entries)) process.stdout.write(`${line}\n`);
  return 0;
}

async function health(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { master: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const master = masterUrl(values.master);
  if (values.json) {
    const answer = await call(`${master}/health`, { timeoutMs: READ_TIMEOUT_MS });
    process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
    return answer.status === 200 ? 0 : 1;
  }
  process.stdout.write(`${healthSummary(await fetchHealth(master))}\n`);
  return 0;
}

async function wait(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'timeout-s': { type: 'string', default: String(DEFAULT_CATCH_UP_TIMEOUT_S) },
      master: { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
  });
  const timeoutS = Number(values['timeout-s']);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > MAX_CATCH_UP_TIMEOUT_S) {
    process.stderr.write(
      `rlog wait: --timeout-s must be a number of seconds above 0 and at most ${MAX_CATCH_UP_TIMEOUT_S}; got "${values['timeout-s']}"\n`,
    );
    return 2;
  }
  const outcome = await waitForCatchUp(masterUrl(values.master), {
    timeoutS,
    ...progressTo(values.quiet ? undefined : process.stderr),
  });
  if (outcome.ok) process.stdout.write(`${outcome.text}\n`);
  else process.stderr.write(`rlog wait: ${outcome.text}\n`);
  return outcome.ok ? 0 : 1;
}

async function shell(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      w: { type: 'string', short: 'w', default: 'all' },
      'timeout-ms': { type: 'string' },
      master: { type: 'string' },
      'api-token': { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
  });
  const w = parseWriteConcern(values.w);
  if (w === undefined) {
    process.stderr.write(
      `rlog shell: -w must be a number of nodes (1 or more), "majority" or "all"; got "${values.w}"\n`,
    );
    return 2;
  }
  const timeoutMs = values['timeout-ms'];
  if (timeoutMs !== undefined && !/^[0-9]+$/.test(timeoutMs)) {
    process.stderr.write(
      `rlog shell: --timeout-ms must be a whole number of milliseconds; got "${timeoutMs}"\n`,
    );
    return 2;
  }
  return runShell({
    master: masterUrl(values.master),
    apiToken: apiToken(values['api-token']),
    w,
    timeoutMs: timeoutMs === undefined ? undefined : Number(timeoutMs),
    quiet: values.quiet,
    env: process.env,
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (
      error instanceof ClientError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true
    ) {
      process.stderr.write(`rlog: ${(error as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`rlog: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
