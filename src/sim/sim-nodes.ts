import { pino, type Logger } from 'pino';
import type { MasterConfig, SecondaryConfig } from '../config/config.js';
import type { Entry } from '../core/entry.js';
import type { CoreEvent } from '../core/master-core.js';
import { MasterNode } from '../node/master-node.js';
import { SecondaryNode } from '../node/secondary-node.js';
import type { Prng } from '../core/prng.js';
import type { NodeView } from './safety-checker.js';
import type { Scheduler } from './scheduler.js';
import { simClock } from './sim-clock.js';
import { SimDisk } from './sim-disk.js';
import type { SimNetwork } from './sim-network.js';
import { HEALTHY_DISK, SimLogStore, type DiskFaults } from './sim-store.js';
import { SimReplicationTransport } from './sim-transport.js';

/** What every simulated process shares: time, the network, randomness, the trace, failure. */
export interface SimWorld {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork;
  readonly prng: Prng;
  note(line: string): void;
  /** A node threw where it must not (a broken invariant): the run fails with it. */
  readonly fatal: (error: unknown) => void;
  /** A store write failed (an injected EIO or ENOSPC). */
  readonly storeFailed: () => void;
}

/** A node's log lines go to the run's trace, without timestamps (a run is a function of its seed). */
export function simLogger(world: SimWorld, name: string): Logger {
  return pino(
    {
      level: process.env['SIM_LOG_LEVEL'] ?? 'info',
      base: null,
      timestamp: false,
      formatters: { level: (label) => ({ level: label }) },
    },
    {
      write: (line: string) => {
        world.note(`${name} log ${line.trimEnd()}`);
      },
    },
  );
}

/**
 * One node's process in the simulation: the real node class built over the simulated disk,
 * network and clock. `start` is a process start (a new object, state recovered from the disk),
 * `crash` a kill -9 (the object and every event of its lifetime are gone).
 */
export abstract class SimProcess<
  N extends { lastVisibleId(): number; read(sinceId: number, limit: number): Entry[] },
> implements NodeView {
  diskFaults: DiskFaults = HEALTHY_DISK;
  #node: N | undefined;
  #ready = false;

  constructor(
    readonly name: string,
    public disk: SimDisk,
    protected readonly world: SimWorld,
  ) {}

  /** Started and serving (its HTTP server would be listening). */
  get up(): boolean {
    return this.#ready;
  }

  /** The running node, if it serves requests now. */
  get node(): N | undefined {
    return this.#ready ? this.#node : undefined;
  }

  start(): void {
    const store = new SimLogStore(
      this.disk,
      this.world.scheduler,
      this.name,
      this.world.prng,
      () => this.diskFaults,
      this.world.storeFailed,
    );
    const node = this.create(store);
    this.#node = node;
    this.#ready = false;
    this.open(node).then(() => {
      if (this.#node === node) this.#ready = true;
    }, this.world.fatal);
  }

  crash(): void {
    this.#node = undefined;
    this.#ready = false;
    this.diskFaults = HEALTHY_DISK;
    this.world.scheduler.endLifetime(this.name);
  }

  shownLength(): number {
    return this.node?.lastVisibleId() ?? 0;
  }

  shownEntry(index: number): Entry | undefined {
    return this.node?.read(index, 1)[0];
  }

  shownLog(): readonly Entry[] {
    const node = this.node;
    return node === undefined ? [] : node.read(0, node.lastVisibleId());
  }

  protected abstract create(store: SimLogStore): N;
  protected abstract open(node: N): Promise<void>;
}

export class MasterProcess extends SimProcess<MasterNode> {
  constructor(
    world: SimWorld,
    private readonly config: MasterConfig,
    private readonly secondaries: (name: string) => SecondaryNode | undefined,
    private readonly onCoreEvent: (event: CoreEvent) => void,
  ) {
    super(config.name, new SimDisk('always'), world);
  }

  protected create(store: SimLogStore): MasterNode {
    const { world, config } = this;
    return new MasterNode({
      config,
      store,
      transport: new SimReplicationTransport(
        world.network,
        this.name,
        this.secondaries,
        world.fatal,
      ),
      clock: simClock(world.scheduler, this.name),
      random: () => world.prng.float(),
      newId: () => `log-${world.prng.hex(16)}`,
      logger: simLogger(world, this.name),
      fatal: world.fatal,
      observer: {
        appendEnded: () => undefined,
        replicationEnded: () => undefined,
        probeEnded: () => undefined,
        coreEvent: this.onCoreEvent,
      },
    });
  }

  protected open(node: MasterNode): Promise<void> {
    return node.start();
  }
}

export class SecondaryProcess extends SimProcess<SecondaryNode> {
  /** Every process's incarnation, in start order. */
  readonly incarnations: string[] = [];

  constructor(
    world: SimWorld,
    private readonly config: SecondaryConfig,
    disk: SimDisk,
  ) {
    super(config.name, disk, world);
  }

  get incarnation(): string {
    return this.incarnations[this.incarnations.length - 1] ?? '';
  }

  get pendingCount(): number {
    return this.node?.health().log.pending ?? 0;
  }

  /** An operator wiped the data directory while the node was down: it restarts empty. */
  wipe(): void {
    this.disk = new SimDisk(this.disk.fsync);
  }

  protected create(store: SimLogStore): SecondaryNode {
    const { world, config } = this;
    const node = new SecondaryNode({
      config,
      store,
      clock: simClock(world.scheduler, this.name),
      random: () => world.prng.float(),
      newId: () => `${this.name}-${world.prng.hex(12)}`,
      logger: simLogger(world, this.name),
    });
    this.incarnations.push(node.incarnation);
    return node;
  }

  protected open(node: SecondaryNode): Promise<void> {
    return node.start();
  }
}
