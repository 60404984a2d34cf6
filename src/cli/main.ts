#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadNodeConfig, optionHelp, type Role } from '../config/config.js';
import { StorageError } from '../adapters/file-store/file-log-store.js';
import { startNode } from '../node/start-node.js';
import { call, ClientError, errorText } from './client.js';
import { runCluster } from './cluster.js';

const USAGE = `rlog: a replicated append-only log

Usage:
  rlog cluster [--secondaries N] [--base-port 8000] [--data-dir .rlog-data | --in-memory]
               [--fsync always|interval|never] [--host 127.0.0.1] [--json]
                                  master + N secondaries (default 2) on 8000, 8001, ...,
                                  each node's log in DATA_DIR/<node name> (kept across runs)
  rlog master [options]           run a master node (every option also from its variable)
  rlog secondary [options]        run a secondary node
  rlog [options]                  with ROLE=master|secondary set: run that node (the container)
  rlog append "text" [-w N|majority|all] [--key K] [--timeout-ms MS]
  rlog list [--node NAME|URL] [--since ID] [--limit N] [--json]
  rlog health [--json]

Client commands find the master with --master URL, else RLOG_MASTER, else http://127.0.0.1:8000.
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
  let node;
  try {
    node = await startNode(loaded.config, loaded.warnings);
  } catch (error) {
    if (error instanceof StorageError) {
      process.stderr.write(`rlog ${role}: cannot start: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
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

function masterUrl(flag: string | undefined): string {
  return (flag ?? process.env['RLOG_MASTER'] ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
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
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) {
    process.stderr.write('rlog append: give the message, as in: rlog append "hello" -w 2\n');
    return 2;
  }
  const body: Record<string, unknown> =
    positionals.length === 1 ? { message: positionals[0] } : { messages: positionals };
  if (values.w !== undefined) body['w'] = /^[0-9]+$/.test(values.w) ? Number(values.w) : values.w;
  if (values['timeout-ms'] !== undefined) body['timeoutMs'] = Number(values['timeout-ms']);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (values.key !== undefined) headers['idempotency-key'] = values.key;
  const url = `${masterUrl(values.master)}/logs`;
  if (process.stderr.isTTY)
    process.stderr.write(`appending to ${url} (w=${values.w ?? 'all'}) ...\n`);
  const answer = await call(url, { method: 'POST', headers, body: JSON.stringify(body) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(answer.body)}\n`);
  } else if (answer.status === 200 || answer.status === 201) {
    const result = answer.body as {
      log?: { id: number };
      logs?: { id: number }[];
      acks: number;
      w: number;
    };
    const ids = result.logs?.map((entry) => entry.id).join(', ') ?? String(result.log?.id);
    const replay = answer.status === 200 ? ' (replayed: this key was used before)' : '';
    process.stdout.write(
      `appended as id ${ids}: held by ${result.acks} nodes (w=${result.w})${replay}\n`,
    );
  } else {
    process.stderr.write(`rlog append: ${answer.status} ${errorText(answer.body)}\n`);
  }
  return answer.status === 200 || answer.status === 201 ? 0 : 1;
}

async function resolveNode(master: string, node: string | undefined): Promise<string> {
  if (node === undefined || node === 'master') return master;
  if (/^https?:\/\//.test(node)) return node.replace(/\/+$/, '');
  const answer = await call(`${master}/health`);
  const secondaries =
    (answer.body as { secondaries?: { name: string; url: string }[] }).secondaries ?? [];
  const found = secondaries.find((candidate) => candidate.name === node);
  if (found === undefined) {
    throw new ClientError(
      `no node named "${node}"; the master knows: master, ${secondaries.map((s) => s.name).join(', ')}`,
    );
  }
  return found.url;
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
  const query = new URLSearchParams();
  if (values.since !== undefined) query.set('since', values.since);
  if (values.limit !== undefined) query.set('limit', values.limit);
  const answer = await call(`${base}/logs${query.size > 0 ? `?${query.toString()}` : ''}`);
  if (answer.status !== 200) {
    process.stderr.write(`rlog list: ${answer.status} ${errorText(answer.body)}\n`);
    return 1;
  }
  const entries = answer.body as { id: number; message: string }[];
  if (values.json) process.stdout.write(`${JSON.stringify(entries)}\n`);
  else for (const entry of entries) process.stdout.write(`${entry.id}\t${entry.message}\n`);
  return 0;
}

async function health(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { master: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const answer = await call(`${masterUrl(values.master)}/health`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
    return answer.status === 200 ? 0 : 1;
  }
  const h = answer.body as {
    node: string;
    status: string;
    quorum: { size: number; required: number; healthy: number };
    log: { lastId: number };
    secondaries: {
      name: string;
      url: string;
      status: string;
      ackedId: number;
      lag: number;
      lastContactMs: number | null;
    }[];
  };
  process.stdout.write(
    `${h.node}: ${h.status}, last id ${h.log.lastId}, quorum ${h.quorum.healthy}/${h.quorum.size} healthy (${h.quorum.required} needed)\n`,
  );
  for (const s of h.secondaries) {
    const contact = s.lastContactMs === null ? 'never' : `${s.lastContactMs} ms ago`;
    process.stdout.write(
      `  ${s.name.padEnd(8)} ${s.status.padEnd(10)} acked ${s.ackedId}, lag ${s.lag}, last contact ${contact}  ${s.url}\n`,
    );
  }
  return 0;
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
