/**
 * The etcd anchor: etcd (Debian's) as 3 members on loopback, each a child with its own temporary
 * data directory, with etcd's default durability (each member fsyncs its WAL, a put is committed
 * once a quorum has). A request is one put through etcd's JSON gateway, `POST /v3/kv/put`, sent
 * to the leader by the same undici generator as our nodes.
 */
import { request } from 'undici';
import { HOST } from '../bench-cluster.js';
import { makeTemporaryDir, removeTemporaryDir } from '../../launcher/temporary-dir.js';
import { AnchorProcess, findExecutable, waitReady } from './anchor-process.js';

export const ETCD_MISSING = 'etcd not found: apt-get install etcd-server to add the etcd anchor';
const READY_TIMEOUT_MS = 20_000;
const PROBE_TIMEOUT_MS = 1000;
export const ETCD_PUT_PATH = '/v3/kv/put';

export interface EtcdCluster {
  /** The client URL of the member that leads now. */
  readonly leaderUrl: string;
  readonly processes: readonly AnchorProcess[];
  stop(): Promise<void>;
}

export function etcdPath(): string | undefined {
  return findExecutable('etcd');
}

/** The put's body, encoded once: the key and the message in base64, as the gateway wants. */
export function etcdPutBody(message: string): string {
  const base64 = (text: string): string => Buffer.from(text).toString('base64');
  return JSON.stringify({ key: base64('bench'), value: base64(message) });
}

function memberArgs(index: number, dir: string, clientPort: number, cluster: string): string[] {
  const peerUrl = peerUrlOf(cluster, index);
  return [
    '--name', `e${index}`,
    '--data-dir', dir,
    '--listen-client-urls', `http://${HOST}:${clientPort}`,
    '--advertise-client-urls', `http://${HOST}:${clientPort}`,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', cluster,
    '--initial-cluster-token', `rlog-bench-${process.pid}-${cluster}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--log-level', 'warn',
  ]; // prettier-ignore
}

function peerUrlOf(cluster: string, index: number): string {
  return cluster.split(',')[index]!.split('=')[1]!;
}

/**
 * Starts 3 members: client ports `ports[0..2]`, peer ports `ports[3..5]`; resolves once every
 * member is healthy and one leads. Stops everything it started when it fails.
 */
export async function startEtcd(
  executable: string,
  ports: readonly number[],
  signal: AbortSignal,
): Promise<EtcdCluster> {
  if (ports.length !== 6)
    throw new Error(`startEtcd needs 6 ports (3 client, 3 peer); got ${ports.length}`);
  const clientPorts = ports.slice(0, 3);
  const cluster = ports
    .slice(3)
    .map((port, index) => `e${index}=http://${HOST}:${port}`)
    .join(',');
  const dirs = clientPorts.map(() => makeTemporaryDir('rlog-bench-etcd-'));
  const processes = clientPorts.map(
    (port, index) =>
      new AnchorProcess(
        `etcd-e${index}`,
        executable,
        memberArgs(index, dirs[index]!, port, cluster),
      ),
  );
  const stop = async (): Promise<void> => {
    try {
      await Promise.all(processes.map((child) => child.stop()));
    } finally {
      for (const dir of dirs) removeTemporaryDir(dir);
    }
  };
  const urls = clientPorts.map((port) => `http://${HOST}:${port}`);
  let leaderUrl: string | undefined;
  try {
    for (const child of processes) child.start();
    const ready = async (): Promise<string | true> => {
      leaderUrl = await findLeader(urls);
      return leaderUrl === undefined ? 'no member says it leads yet' : true;
    };
    await waitReady('etcd had no healthy leader', processes, ready, READY_TIMEOUT_MS, signal);
  } catch (error) {
    await stop();
    throw error;
  }
  return { leaderUrl: leaderUrl!, processes, stop };
}

interface StatusBody {
  readonly header?: { readonly member_id?: string };
  readonly leader?: string;
}

/** The client URL of the member whose id is the leader's, when every member answers healthy. */
async function findLeader(urls: readonly string[]): Promise<string | undefined> {
  let leader: string | undefined;
  for (const url of urls) {
    const health = await request(`${url}/health`, { headersTimeout: PROBE_TIMEOUT_MS });
    const healthBody = (await health.body.json()) as { health?: string };
    if (healthBody.health !== 'true') return undefined;
    const status = await request(`${url}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      headersTimeout: PROBE_TIMEOUT_MS,
    });
    const body = (await status.body.json()) as StatusBody;
    const id = body.header?.member_id;
    if (id !== undefined && body.leader === id) leader = url;
  }
  return leader;
}
