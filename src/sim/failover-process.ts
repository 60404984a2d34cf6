import { failoverLogId, type FailoverConfig } from '../config/config.js';
import { FailoverNode, type RoleChange } from '../node/failover/failover-node.js';
import { MEMORY_ROLLBACKS, type Rollback } from '../node/failover/rollbacks.js';
import type { FailoverNodeConfig } from '../node/failover/failover-node.js';
import { simClock } from './sim-clock.js';
import { SimDisk } from './sim-disk.js';
import { SimElectionDisk, SimElectionStateStore } from './sim-election-state.js';
import { SimProcess, simLogger, type SimWorld } from './sim-nodes.js';
import { HEALTHY_DISK, type SimLogStore } from './sim-store.js';
import { SimPeerTransport, type PeerServer } from './sim-transport.js';

/** What the simulation hears from a failover process (its checks and its trace). */
export interface FailoverEvents {
  roleChanged(node: string, change: RoleChange): void;
  rolledBack(node: string, rollback: Rollback): void;
  /** `node` granted its vote (not a pre-vote) in `epoch` to `candidate`. */
  voted(node: string, epoch: number, candidate: string): void;
}

/**
 * One failover node's process in the simulation: the real FailoverNode over the simulated disk
 * (its log, with FSYNC=always, and its election state), network and clock. A crash loses the
 * process and whatever of its disks was not durable.
 */
export class FailoverProcess extends SimProcess<FailoverNode> {
  readonly electionDisk = new SimElectionDisk();
  /** Every process's incarnation, in start order. */
  readonly incarnations: string[] = [];

  constructor(
    world: SimWorld,
    private readonly config: FailoverNodeConfig,
    private readonly peers: (name: string) => PeerServer | undefined,
    private readonly events: FailoverEvents,
  ) {
    super(config.self, new SimDisk('always'), world);
  }

  override crash(): void {
    super.crash();
    this.electionDisk.crash(this.world.prng);
  }

  protected create(store: SimLogStore): FailoverNode {
    const { world, config } = this;
    const name = this.name;
    const node = new FailoverNode({
      config,
      store,
      electionStore: new SimElectionStateStore(
        this.electionDisk,
        world.scheduler,
        name,
        world.prng,
        () => HEALTHY_DISK,
      ),
      rollbackStore: MEMORY_ROLLBACKS,
      transport: new SimPeerTransport(world.network, name, this.peers, world.fatal),
      clock: simClock(world.scheduler, name),
      wallClockMs: () => world.scheduler.nowMs,
      random: () => world.prng.float(),
      newId: () => `${name}-${world.prng.hex(12)}`,
      logger: simLogger(world, name),
      fatal: world.fatal,
      observer: {
        roleChanged: (change) => {
          this.events.roleChanged(name, change);
        },
        rolledBack: (rollback) => {
          this.events.rolledBack(name, rollback);
        },
        voteAnswered: (vote) => {
          if (!vote.preVote && vote.verdict === 'granted')
            this.events.voted(name, vote.epoch, vote.candidate);
        },
      },
    });
    this.incarnations.push(node.incarnation);
    return node;
  }

  protected open(node: FailoverNode): Promise<void> {
    return node.start();
  }
}

/** A failover node's configuration from its master and secondary halves (as wireFailover does). */
export function failoverNodeConfigOf(config: FailoverConfig): FailoverNodeConfig {
  const { peers, electionTimeoutMs } = config.failover;
  return {
    self: config.name,
    peers,
    advertisedUrls: new Map(peers.map((peer) => [peer.name, peer.url])),
    electionTimeoutMs,
    logId: failoverLogId(peers),
    preferredRole: config.preferredRole,
    master: { ...config, role: 'master' },
    secondary: { ...config, role: 'secondary' },
  };
}
