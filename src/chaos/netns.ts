/**
 * Network namespaces for the chaos tool: one namespace per node (`rlogchaos-<pid>-<node>`), each
 * with a veth pair to a bridge in the root namespace, addresses in a private /24 (10.231.X.0/24,
 * X chosen free) that exists only on that bridge and inside those namespaces. The chaos process
 * talks to the nodes from the bridge's first address; the fault proxies use the second. Partitions
 * are iptables DROP rules inside a node's namespace (full, or one direction only). Everything is
 * removed by `destroy()`, and synchronously at process exit or on SIGINT/SIGTERM; leftovers of
 * dead runs (their pid no longer alive) are removed at the next start.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const COMMAND_TIMEOUT_MS = 15_000;
const NS_PREFIX = 'rlogchaos-';
/** Interface names: `rlc<pid>-<k>` + b (bridge) | h<i> (host end) | n<i> (namespace end) ≤ 15 chars. */
const LINK_PREFIX = 'rlc';

export type NetnsSupport =
  | { readonly ok: true; readonly iptables: string }
  | { readonly ok: false; readonly reason: string };

/** Which way a partition drops traffic, seen from the partitioned node. */
export type PartitionMode =
  /** Nothing from the peers arrives and nothing reaches them. */
  | 'both'
  /** Requests from the peers are dropped before the node sees them. */
  | 'inbound'
  /** The node receives (and stores) but its answers never reach the peers. */
  | 'outbound';

async function ip(args: readonly string[]): Promise<string> {
  const { stdout } = await run('ip', args, { timeout: COMMAND_TIMEOUT_MS });
  return stdout;
}

function ipSync(args: readonly string[]): void {
  try {
    execFileSync('ip', args, { timeout: COMMAND_TIMEOUT_MS, stdio: 'ignore' });
  } catch {
    // Best effort: already gone.
  }
}

function findExecutable(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir !== '' && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let probed: Promise<NetnsSupport> | undefined;

/**
 * Whether namespaces and iptables can be used here, and which iptables binary works inside a
 * namespace: root, `ip`, an iptables binary, and a trial namespace with a rule added and removed.
 */
export function netnsSupport(): Promise<NetnsSupport> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<NetnsSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: `platform is ${process.platform}` };
  if (process.getuid?.() !== 0)
    return { ok: false, reason: `not running as root (uid ${process.getuid?.() ?? '?'})` };
  if (findExecutable('ip') === undefined) return { ok: false, reason: '`ip` (iproute2) not found' };
  const candidates = ['iptables', 'iptables-legacy', 'iptables-nft'].filter(
    (name) => findExecutable(name) !== undefined,
  );
  if (candidates.length === 0)
    return { ok: false, reason: 'no iptables binary found (apt-get install iptables)' };
  await removeStale();
  const ns = `${NS_PREFIX}${process.pid}-probe`;
  try {
    await ip(['netns', 'add', ns]);
  } catch (error) {
    return { ok: false, reason: `\`ip netns add\` failed: ${firstLine(error)}` };
  }
  try {
    const failures: string[] = [];
    for (const binary of candidates) {
      try {
        const rule = ['OUTPUT', '-d', '10.231.255.254', '-j', 'DROP'];
        await ip(['netns', 'exec', ns, binary, '-w', '5', '-A', ...rule]);
        await ip(['netns', 'exec', ns, binary, '-w', '5', '-D', ...rule]);
        return { ok: true, iptables: binary };
      } catch (error) {
        failures.push(`${binary}: ${firstLine(error)}`);
      }
    }
    return { ok: false, reason: `iptables does not work in a namespace: ${failures.join('; ')}` };
  } finally {
    ipSync(['netns', 'del', ns]);
  }
}

function firstLine(error: unknown): string {
  const record = error as { stderr?: string; message?: string };
  const text = (record.stderr ?? '') !== '' ? (record.stderr ?? '') : (record.message ?? '');
  return text.trim().split('\n')[0] ?? String(error);
}

/** Removes namespaces and links of earlier runs whose process is gone. */
async function removeStale(): Promise<void> {
  const namespaces = (await ip(['netns', 'list']).catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NS_PREFIX));
  for (const ns of namespaces) {
    const pid = Number(/^rlogchaos-(\d+)-/.exec(ns)?.[1]);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    killInside(ns);
    ipSync(['netns', 'del', ns]);
  }
  const links = (await ip(['-o', 'link', 'show']).catch(() => '')).split('\n');
  for (const line of links) {
    const name = /^\d+: (rlc\d+-\d+[bhn]\d*)[@:]/.exec(line)?.[1];
    const pid = Number(/^rlc(\d+)-/.exec(name ?? '')?.[1]);
    if (name === undefined || !Number.isInteger(pid) || alive(pid)) continue;
    ipSync(['link', 'del', name]);
  }
}

/** SIGKILLs every process left inside namespace `ns` (one of ours). */
function killInside(ns: string): void {
  let pids: string;
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], {
      timeout: COMMAND_TIMEOUT_MS,
      encoding: 'utf8',
    });
  } catch {
    return;
  }
  for (const pid of pids.split('\n').map(Number)) {
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
}

const activeLabs = new Set<NetnsLab>();
let labCounter = 0;
let handlersInstalled = false;

function onSignal(signal: NodeJS.Signals): void {
  for (const lab of activeLabs) lab.destroySync();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const lab of activeLabs) lab.destroySync();
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstallHandlers(): void {
  if (!handlersInstalled || activeLabs.size > 0) return;
  handlersInstalled = false;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** A subnet 10.231.X.0/24 with no address or route of this machine in it. */
async function freeSubnet(): Promise<number> {
  const used = (await ip(['-o', 'addr', 'show'])) + (await ip(['route', 'show', 'table', 'all']));
  for (let attempt = 0; attempt < 200; attempt++) {
    const x = 20 + ((process.pid + labCounter * 37 + attempt * 7) % 230);
    if (!used.includes(`10.231.${x}.`)) return x;
  }
  throw new Error('no free 10.231.X.0/24 subnet found');
}

export class NetnsLab {
  /** The chaos process's address on the bridge (clients and observers). */
  readonly clientIp: string;
  /** The fault proxies' address on the bridge. */
  readonly proxyIp: string;
  readonly #bridge: string;
  readonly #ips = new Map<string, string>();
  readonly #namespaces = new Map<string, string>();
  readonly #rules = new Map<string, string[][]>();
  #destroyed = false;

  private constructor(
    readonly iptables: string,
    readonly subnet: string,
    private readonly linkBase: string,
    readonly nodes: readonly string[],
  ) {
    this.clientIp = `${subnet}.1`;
    this.proxyIp = `${subnet}.2`;
    this.#bridge = `${linkBase}b`;
    for (const [index, node] of nodes.entries()) {
      this.#ips.set(node, `${subnet}.${10 + index}`);
      this.#namespaces.set(node, `${NS_PREFIX}${process.pid}-${node}`);
    }
  }

  /** Creates the bridge and one namespace per node; throws (having removed what it made) on failure. */
  static async create(nodes: readonly string[]): Promise<NetnsLab> {
    const support = await netnsSupport();
    if (!support.ok) throw new Error(`network namespaces not available: ${support.reason}`);
    if (nodes.length > 9) throw new Error('at most 9 nodes in a namespace lab');
    const x = await freeSubnet();
    const k = labCounter++ % 10;
    const lab = new NetnsLab(
      support.iptables,
      `10.231.${x}`,
      `${LINK_PREFIX}${process.pid}-${k}`,
      nodes,
    );
    activeLabs.add(lab);
    installHandlers();
    try {
      await lab.#setUp();
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  async #setUp(): Promise<void> {
    const bridge = this.#bridge;
    await ip(['link', 'add', bridge, 'type', 'bridge']);
    // Traffic bridged between namespaces must not pass through the host's iptables.
    await ip(['link', 'set', bridge, 'type', 'bridge', 'nf_call_iptables', '0']).catch(
      () => undefined,
    );
    await ip(['addr', 'add', `${this.clientIp}/24`, 'dev', bridge]);
    await ip(['addr', 'add', `${this.proxyIp}/24`, 'dev', bridge]);
    await ip(['link', 'set', bridge, 'up']);
    for (const [index, node] of this.nodes.entries()) {
      const ns = this.namespaceOf(node);
      const host = `${this.linkBase}h${index}`;
      const inner = `${this.linkBase}n${index}`;
      await ip(['netns', 'add', ns]);
      await ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', inner]);
      await ip(['link', 'set', inner, 'netns', ns]);
      await ip(['link', 'set', host, 'master', bridge]);
      await ip(['link', 'set', host, 'up']);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${this.ipOf(node)}/24`, 'dev', inner]);
      await ip(['-n', ns, 'link', 'set', inner, 'up']);
    }
  }

  namespaceOf(node: string): string {
    const ns = this.#namespaces.get(node);
    if (ns === undefined) throw new Error(`no namespace for ${node}`);
    return ns;
  }

  ipOf(node: string): string {
    const address = this.#ips.get(node);
    if (address === undefined) throw new Error(`no address for ${node}`);
    return address;
  }

  /** The command prefix that runs a program inside `node`'s namespace. */
  wrap(node: string): string[] {
    return ['ip', 'netns', 'exec', this.namespaceOf(node)];
  }

  /**
   * Cuts `node` off from the `peers` (addresses) with iptables DROP rules inside its namespace:
   * `both` ways, only `inbound` (requests never arrive) or only `outbound` (answers never leave).
   */
  async partition(node: string, peers: readonly string[], mode: PartitionMode): Promise<void> {
    const rules: string[][] = [];
    for (const peer of peers) {
      if (mode !== 'outbound') rules.push(['INPUT', '-s', peer, '-j', 'DROP']);
      if (mode !== 'inbound') rules.push(['OUTPUT', '-d', peer, '-j', 'DROP']);
    }
    const active = this.#rules.get(node) ?? [];
    this.#rules.set(node, active);
    for (const rule of rules) {
      await this.#iptables(node, ['-A', ...rule]);
      active.push(rule);
    }
  }

  /** Removes every partition rule of `node`. */
  async heal(node: string): Promise<void> {
    const active = this.#rules.get(node) ?? [];
    while (active.length > 0) {
      const rule = active.pop()!;
      await this.#iptables(node, ['-D', ...rule]).catch(() => undefined);
    }
  }

  async healAll(): Promise<void> {
    for (const node of this.nodes) await this.heal(node);
  }

  /** The rules in force in `node`'s namespace (iptables -S), for diagnostics. */
  async rules(node: string): Promise<string> {
    const { stdout } = await run(
      'ip',
      ['netns', 'exec', this.namespaceOf(node), this.iptables, '-w', '5', '-S'],
      {
        timeout: COMMAND_TIMEOUT_MS,
      },
    );
    return stdout;
  }

  async #iptables(node: string, args: readonly string[]): Promise<void> {
    await run('ip', ['netns', 'exec', this.namespaceOf(node), this.iptables, '-w', '5', ...args], {
      timeout: COMMAND_TIMEOUT_MS,
    });
  }

  /** Kills what is left inside the namespaces, removes them, the veths and the bridge. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const node of this.nodes) {
      const ns = this.namespaceOf(node);
      killInside(ns);
      await ip(['netns', 'del', ns]).catch(() => undefined);
    }
    for (const [index] of this.nodes.entries()) {
      await ip(['link', 'del', `${this.linkBase}h${index}`]).catch(() => undefined);
    }
    await ip(['link', 'del', this.#bridge]).catch(() => undefined);
    activeLabs.delete(this);
    uninstallHandlers();
  }

  /** The same, synchronously (process exit). */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const node of this.nodes) {
      const ns = this.namespaceOf(node);
      killInside(ns);
      ipSync(['netns', 'del', ns]);
    }
    for (const [index] of this.nodes.entries())
      ipSync(['link', 'del', `${this.linkBase}h${index}`]);
    ipSync(['link', 'del', this.#bridge]);
    activeLabs.delete(this);
  }
}

/** Names of namespaces and links this process created and has not removed (for tests). */
export async function leftovers(): Promise<string[]> {
  const namespaces = (await ip(['netns', 'list']).catch(() => ''))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${NS_PREFIX}${process.pid}-`));
  const links = (await ip(['-o', 'link', 'show']).catch(() => ''))
    .split('\n')
    .map((line) => /^\d+: ([^@:]+)[@:]/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(`${LINK_PREFIX}${process.pid}-`));
  return [...namespaces, ...links];
}
