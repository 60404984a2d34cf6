/**
 * A local cluster of real processes: a master and secondaries sub1..subN (NodeProcess each), wired
 * to each other through SECONDARIES and MASTER_URL, on free ports or given ones, each with its own
 * DATA_DIR if asked, optionally with something (a fault proxy) between the master and each
 * secondary. Secondaries start first, so that the master's first requests find them listening.
 * Used by the end-to-end tests, the chaos runs, the benches and `rlog cluster`.
 */
import { join } from 'node:path';
import { LOOPBACK, NodeProcess, type Env, type NodeProcessOptions } from './node-process.js';
import { freePort } from './ports.js';
import { makeTemporaryDir, removeTemporaryDir } from './temporary-dir.js';

const MAX_SECONDARIES = 64;

/** Where a node listens and how it is started (network namespaces: an address and a wrapper). */
export interface NodePlacement {
  readonly host: string;
  readonly port: number;
  readonly wrap?: readonly string[];
}

/** Something between the master and one secondary; the master is given its URL. */
export interface NodeProxy {
  readonly url: string;
  close(): Promise<void>;
}

export interface LocalClusterOptions {
  /** Number of secondaries, named sub1..subN. */
  readonly secondaries: number;
  /** Where every node listens; default 127.0.0.1. */
  readonly host?: string;
  /** The nodes' ports, the master's first; default a free port each. */
  readonly ports?: readonly number[];
  /** Per node name: where it listens and how it starts. Overrides `host` and `ports`. */
  readonly place?: (name: string) => Promise<NodePlacement>;
  /**
   * Environment of every node, then of the master or of every secondary, then per node name (each
   * wins over the one before). The wiring (SECONDARIES, MASTER_URL) is the cluster's own.
   */
  readonly env?: Env;
  readonly masterEnv?: Env;
  readonly secondaryEnv?: Env;
  readonly nodeEnv?: Readonly<Record<string, Env>>;
  /**
   * Each node's DATA_DIR is `<root>/<node name>`: `{ temporary: prefix }` makes the root a new
   * temporary directory that `stop()` removes; `{ root }` keeps it. Default: no DATA_DIR (in memory).
   */
  readonly dataDirs?: { readonly temporary: string } | { readonly root: string };
  readonly inherit?: NodeProcessOptions['inherit'];
  /** Options for node itself, per node name (e.g. --cpu-prof). */
  readonly nodeArgs?: (name: string) => readonly string[];
  /** Every line a node prints, as it prints it. */
  readonly onLine?: (name: string, line: string) => void;
  /** Each end of a node's process, with how it ended (`code 1`, `SIGKILL`, ...). */
  readonly onExit?: (name: string, how: string) => void;
  /**
   * How `stop()` ends the nodes: undefined (the default) kills -9 every one at once, as a test or
   * a chaos run wants; a number sends SIGTERM to the master, then to the secondaries (so that the
   * master does not log failures of secondaries going away under it), and SIGKILLs any still
   * running after that many ms.
   */
  readonly stopGraceMs?: number;
  /** Puts something between the master and `secondary`; it is closed by `stop()`. */
  readonly proxy?: (secondary: NodeProcess) => Promise<NodeProxy>;
  /**
   * Automatic failover (FAILOVER=true): every node gets PEERS (all nodes, itself included) and
   * NODE_NAME instead of SECONDARIES/MASTER_URL; `master` is started with ROLE=master, so it leads
   * epoch 1 of a fresh cluster. Needs `dataDirs` (the election state is durable); no `proxy`.
   */
  readonly failover?: boolean;
}

export interface ClusterStartOptions {
  /** Bound on each node's start (default: NodeProcess's). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Secondaries not started (their ports are reserved and the master knows them). */
  readonly down?: readonly string[];
}

export class LocalCluster {
  private constructor(
    readonly master: NodeProcess,
    readonly secondaries: readonly NodeProcess[],
    /** The directory holding the nodes' data directories, if they have some. */
    readonly dataRoot: string | undefined,
    readonly proxies: ReadonlyMap<string, NodeProxy>,
    private readonly temporaryRoot: boolean,
    private readonly stopGraceMs: number | undefined,
    /** Failover: every node starts at once (each waits for the others on its own). */
    private readonly failover = false,
  ) {}

  /** Creates and starts a cluster; on a failed start, stops what started and throws. */
  static async launch(
    options: LocalClusterOptions,
    start: ClusterStartOptions = {},
  ): Promise<LocalCluster> {
    const cluster = await LocalCluster.create(options);
    try {
      await cluster.start(start);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The nodes (ports chosen, proxies listening), none started yet. */
  static async create(options: LocalClusterOptions): Promise<LocalCluster> {
    checkOptions(options);
    const count = options.secondaries;
    const names = ['master', ...Array.from({ length: count }, (_, i) => `sub${i + 1}`)];
    const places = await placeAll(names, options);
    const temporary = options.dataDirs !== undefined && 'temporary' in options.dataDirs;
    const dataRoot = dataRootOf(options.dataDirs);
    const envOf = (name: string, roleEnv: Env | undefined): Env => ({
      ...options.env,
      ...roleEnv,
      ...(dataRoot === undefined ? {} : { DATA_DIR: join(dataRoot, name) }),
      ...options.nodeEnv?.[name],
    });
    const node = (name: string, role: 'master' | 'secondary', env: Env): NodeProcess =>
      new NodeProcess({
        ...processOptions(name, places[names.indexOf(name)]!, options),
        role,
        env,
      });
    const masterEnv = envOf('master', options.masterEnv);
    const masterPlace = places[0]!;
    const scheme = masterEnv['TLS_CERT'] === undefined ? 'http' : 'https';
    const masterUrl = `${scheme}://${masterPlace.host}:${masterPlace.port}`;
    if (options.failover === true) {
      const peers = names
        .map((name, index) => `${name}=${scheme}://${places[index]!.host}:${places[index]!.port}`)
        .join(',');
      const failoverEnv = (name: string, roleEnv: Env | undefined): Env => ({
        ...envOf(name, roleEnv),
        FAILOVER: 'true',
        PEERS: peers,
        NODE_NAME: name,
      });
      const subs = names
        .slice(1)
        .map((name) => node(name, 'secondary', failoverEnv(name, options.secondaryEnv)));
      const first = node('master', 'master', failoverEnv('master', options.masterEnv));
      return new LocalCluster(
        first,
        subs,
        dataRoot,
        new Map(),
        temporary,
        options.stopGraceMs,
        true,
      );
    }
    const secondaries = names
      .slice(1)
      .map((name) =>
        node(name, 'secondary', { ...envOf(name, options.secondaryEnv), MASTER_URL: masterUrl }),
      );
    const proxies = await proxiesFor(secondaries, options.proxy, () => {
      if (temporary && dataRoot !== undefined) removeTemporaryDir(dataRoot);
    });
    const wiring = secondaries.map((sub) => `${sub.name}=${proxies.get(sub.name)?.url ?? sub.url}`);
    const master = node('master', 'master', { ...masterEnv, SECONDARIES: wiring.join(',') });
    return new LocalCluster(master, secondaries, dataRoot, proxies, temporary, options.stopGraceMs);
  }

  get nodes(): NodeProcess[] {
    return [this.master, ...this.secondaries];
  }

  node(name: string): NodeProcess {
    const found = this.nodes.find((node) => node.name === name);
    if (found === undefined)
      throw new Error(`no node ${name}; the nodes are ${this.nodes.map((n) => n.name).join(', ')}`);
    return found;
  }

  /** Starts the secondaries (in parallel, but those `down`), then the master; throws on a failure. */
  async start(options: ClusterStartOptions = {}): Promise<void> {
    const down = new Set(options.down ?? []);
    const startNode = (node: NodeProcess): Promise<void> =>
      node.start(options.timeoutMs, options.signal);
    const subs = this.secondaries.filter((sub) => !down.has(sub.name));
    if (this.failover) {
      await Promise.all([this.master, ...subs].map(startNode));
      return;
    }
    await Promise.all(subs.map(startNode));
    await startNode(this.master);
  }

  /** Ends every node (see `stopGraceMs`), closes the proxies, removes a temporary data root. */
  async stop(): Promise<void> {
    const graceMs = this.stopGraceMs;
    try {
      if (graceMs === undefined) {
        await Promise.all(this.nodes.map((node) => node.kill()));
      } else {
        await this.master.stop(graceMs);
        await Promise.all(this.secondaries.map((node) => node.stop(graceMs)));
      }
    } finally {
      await Promise.all([...this.proxies.values()].map((proxy) => proxy.close()));
      if (this.temporaryRoot && this.dataRoot !== undefined) removeTemporaryDir(this.dataRoot);
    }
  }

  /** Every node's recent output, for failure messages. */
  dump(lines?: number): string {
    return this.nodes
      .map((node) => `===== ${node.name} (${node.url})\n${node.tail(lines)}`)
      .join('\n');
  }
}

/** Throws on a count of secondaries out of range, or a failover cluster it cannot make. */
function checkOptions(options: LocalClusterOptions): void {
  const count = options.secondaries;
  if (!Number.isInteger(count) || count < 0 || count > MAX_SECONDARIES)
    throw new Error(`secondaries must be an integer from 0 to ${MAX_SECONDARIES}; got ${count}`);
  if (options.failover === true && (options.dataDirs === undefined || options.proxy !== undefined))
    throw new Error(
      'a failover cluster needs dataDirs (each node keeps its election state on disk) and takes no proxy (every node talks to every other)',
    );
}

/** The directory holding the nodes' data directories, made now if it is a temporary one. */
function dataRootOf(dataDirs: LocalClusterOptions['dataDirs']): string | undefined {
  if (dataDirs === undefined) return undefined;
  return 'temporary' in dataDirs ? makeTemporaryDir(dataDirs.temporary) : dataDirs.root;
}

async function placeAll(
  names: readonly string[],
  options: LocalClusterOptions,
): Promise<NodePlacement[]> {
  const host = options.host ?? LOOPBACK;
  if (options.ports !== undefined && options.ports.length !== names.length)
    throw new Error(
      `ports must give one port per node (${names.length}: ${names.join(', ')}); got ${options.ports.length}`,
    );
  const places: NodePlacement[] = [];
  for (const [index, name] of names.entries()) {
    if (options.place !== undefined) places.push(await options.place(name));
    else places.push({ host, port: options.ports?.[index] ?? (await freePort(host)) });
  }
  return places;
}

function processOptions(
  name: string,
  place: NodePlacement,
  options: LocalClusterOptions,
): NodeProcessOptions {
  const { onLine, onExit, nodeArgs, inherit } = options;
  return {
    name,
    host: place.host,
    port: place.port,
    ...(place.wrap === undefined ? {} : { wrap: place.wrap }),
    ...(inherit === undefined ? {} : { inherit }),
    ...(nodeArgs === undefined ? {} : { nodeArgs: nodeArgs(name) }),
    ...(onLine === undefined
      ? {}
      : {
          onLine: (line: string): void => {
            onLine(name, line);
          },
        }),
    ...(onExit === undefined
      ? {}
      : {
          onExit: (how: string): void => {
            onExit(name, how);
          },
        }),
  };
}

/** One proxy per secondary; if one fails, those made are closed and `undo` runs. */
async function proxiesFor(
  secondaries: readonly NodeProcess[],
  make: LocalClusterOptions['proxy'],
  undo: () => void,
): Promise<Map<string, NodeProxy>> {
  const proxies = new Map<string, NodeProxy>();
  if (make === undefined) return proxies;
  try {
    for (const sub of secondaries) proxies.set(sub.name, await make(sub));
  } catch (error) {
    await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
    undo();
    throw error;
  }
  return proxies;
}
