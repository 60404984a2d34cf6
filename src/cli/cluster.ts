import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MASTER_URL } from './commands.js';
import { prettyLogLine } from './pretty-log.js';

export interface ClusterOptions {
  readonly secondaries: number;
  readonly basePort: number;
  readonly host: string;
  /** Print the nodes' JSON lines as they are instead of the short human form. */
  readonly json: boolean;
  /** Extra environment for every node (LOG_LEVEL, ...). */
  readonly env: Readonly<Record<string, string>>;
  /** Each node keeps its log in `dataDir/<node name>`; undefined: in memory. */
  readonly dataDir: string | undefined;
  /** Extra environment for the master only (HEARTBEAT_INTERVAL_MS, ...). */
  readonly masterEnv: Readonly<Record<string, string>>;
}

interface ClusterNode {
  readonly name: string;
  readonly role: 'master' | 'secondary';
  readonly port: number;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * `rlog cluster`: a master and N secondaries as child processes of this one, each started exactly
 * as a container would start it (`rlog master` / `rlog secondary` with environment variables),
 * their log lines merged on this terminal. Ctrl-C stops them all.
 */
export async function runCluster(options: ClusterOptions): Promise<number> {
  const nodes: ClusterNode[] = [{ name: 'master', role: 'master', port: options.basePort }];
  for (let index = 1; index <= options.secondaries; index++) {
    nodes.push({ name: `sub${index}`, role: 'secondary', port: options.basePort + index });
  }
  const url = (node: ClusterNode): string => `http://${options.host}:${node.port}`;
  const masterUrl = url(nodes[0]!);
  const secondaries = nodes
    .filter((node) => node.role === 'secondary')
    .map((node) => `${node.name}=${url(node)}`)
    .join(',');
  const width = Math.max(...nodes.map((node) => node.name.length));
  const color = process.stdout.isTTY;

  const children = new Map<string, ChildProcess>();
  // An object, not a boolean: it is flipped from signal handlers the compiler cannot see.
  const state = { stopping: false };
  const exited: Promise<void>[] = [];
  const spawnNode = (node: ClusterNode): void => {
    const env: Record<string, string> = {
      ...filterEnv(process.env),
      FAULT_INJECTION: 'true',
      ...options.env,
      ...(node.role === 'master' ? options.masterEnv : {}),
      ROLE: node.role,
      NODE_NAME: node.name,
      HOST: options.host,
      PORT: String(node.port),
    };
    if (options.dataDir !== undefined) env['DATA_DIR'] = join(options.dataDir, node.name);
    if (node.role === 'master') env['SECONDARIES'] = secondaries;
    else env['MASTER_URL'] = masterUrl;
    const child = spawn(process.execPath, [MAIN, node.role], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(node.name, child);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        process.stdout.write(
          `${options.json ? `[${node.name}] ${line}` : prettyLogLine(line, width, color)}\n`,
        );
      });
    }
    exited.push(
      new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          if (!state.stopping) {
            process.stdout.write(
              `${node.name} exited (${signal ?? `code ${code ?? '?'}`}); the other nodes keep running\n`,
            );
          }
          resolve();
        });
      }),
    );
  };
  const stop = (): void => {
    if (state.stopping) return;
    state.stopping = true;
    for (const child of children.values()) child.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  // Secondaries first, so that the master's first requests find them listening.
  const secondaryNodes = nodes.slice(1);
  for (const node of secondaryNodes) spawnNode(node);
  const secondariesUp = await Promise.all(
    secondaryNodes.map((node) => waitForHealth(url(node), () => state.stopping)),
  );
  if (!state.stopping) spawnNode(nodes[0]!);
  const masterUp = await waitForHealth(masterUrl, () => state.stopping);
  if (masterUp && secondariesUp.every(Boolean)) {
    const storage =
      options.dataDir === undefined
        ? 'logs in memory'
        : `logs in ${options.dataDir}/<node> (--in-memory to keep them in memory)`;
    process.stdout.write(
      `cluster ready: master ${masterUrl}, ${secondaryNodes.map((node) => `${node.name} ${url(node)}`).join(', ')}; ${storage}; Ctrl-C stops all\n` +
        `dashboard: ${masterUrl}/   terminal client: npx rlog shell${masterUrl === DEFAULT_MASTER_URL ? '' : ` --master ${masterUrl}`}   API: ${masterUrl}/docs\n`,
    );
  } else if (!state.stopping) {
    process.stdout.write(
      'cluster: some nodes did not start (see their lines above); Ctrl-C stops the rest\n',
    );
  }
  await Promise.all(exited);
  return 0;
}

/** Polls GET /health until it answers 200; bounded to 15 s. */
async function waitForHealth(base: string, cancelled: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !cancelled()) {
    try {
      const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** The environment minus node options that would override what the cluster sets per node. */
function filterEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !CLUSTER_SET.includes(key)) out[key] = value;
  }
  return out;
}

/** Variables the cluster sets per node; an inherited value would put every node in one place. */
const CLUSTER_SET = ['ROLE', 'NODE_NAME', 'PORT', 'SECONDARIES', 'MASTER_URL', 'DATA_DIR'];
