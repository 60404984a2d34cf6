import type { Prng } from '../core/prng.js';
import type { FailoverProcess } from './failover-process.js';
import type { Scheduler } from './scheduler.js';
import type { SimNetwork } from './sim-network.js';
import { HEALTHY_DISK } from './sim-store.js';

/** A failover cluster as its nemesis acts on it; crashes and restarts go through the simulation. */
export interface FailoverCluster {
  readonly processes: readonly FailoverProcess[];
  readonly clients: readonly string[];
  /** The node that leads now (started as master in the highest epoch), if any. */
  currentMaster(): FailoverProcess | undefined;
  crash(process: FailoverProcess): void;
  restart(process: FailoverProcess): void;
}

export interface FailoverNemesisConfig {
  readonly untilMs: number;
  readonly maxFaults: number;
  readonly meanGapMs: number;
  /** The longest a fault lasts: a few election timeouts. */
  readonly maxFaultMs: number;
  readonly electionTimeoutMs: number;
  /** The nodes' REPLICATION_TIMEOUT_MS: an answer later than that is dropped unread. */
  readonly replicationTimeoutMs: number;
  /** Which faults it picks from (FAILOVER_NEMESIS_VERSIONS). */
  readonly version: FailoverNemesisVersion;
}

/**
 * The nemesis's versions: each adds kinds of faults, and a new kind changes every seed's run, so a
 * test that replays a seed found under an older version names it.
 * - 1: as when failover was written, and its regression seeds were found;
 * - 2: adds `slow-then-cut` and `restart-behind-slow-disk`, aimed at the lease and at the end of
 *   an epoch as a master that writes in parallel with replicating answers it, and
 *   `crash-new-master` (see `elected`). Each made the simulator catch a mutant by many seeds
 *   instead of one or two (`npm run sim:mutants -- --all-seeds`).
 */
export const FAILOVER_NEMESIS_VERSIONS = [1, 2] as const;
export type FailoverNemesisVersion = (typeof FAILOVER_NEMESIS_VERSIONS)[number];
export const LATEST_FAILOVER_NEMESIS: FailoverNemesisVersion = 2;

const CALM = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 10 };

/**
 * Random faults against a failover cluster, each undone after a random duration: crashes (kill
 * -9, then a restart), pauses, full and one-way partitions, a split into a minority and a
 * majority, lossy, duplicating and reordering links, slow disks, 500s and delays from the nodes'
 * own fault injection, late answers to a master about to be cut off, and a follower restarting
 * while the master's fsyncs are slow. Half the node-directed faults hit whichever node is master
 * now.
 */
export class FailoverNemesis {
  faults = 0;
  readonly kinds = new Map<string, number>();

  constructor(
    private readonly cluster: FailoverCluster,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork,
    private readonly prng: Prng,
    private readonly config: FailoverNemesisConfig,
    private readonly trace: (line: string) => void,
  ) {}

  start(): void {
    const next = (): void => {
      if (this.scheduler.nowMs >= this.config.untilMs || this.faults >= this.config.maxFaults)
        return;
      this.#inject();
      this.scheduler.after(this.prng.int(1, 2 * this.config.meanGapMs), undefined, next);
    };
    this.scheduler.after(this.prng.int(1, this.config.meanGapMs), undefined, next);
  }

  healAll(): void {
    this.network.healAll();
    for (const process of this.cluster.processes) {
      process.diskFaults = HEALTHY_DISK;
      process.node?.setFaults({ errorRate: 0, delayMs: 0, partitioned: false });
      if (this.scheduler.isPaused(process.name)) this.scheduler.resume(process.name);
      if (!process.up) this.cluster.restart(process);
    }
    this.trace('heal all');
  }

  #inject(): void {
    const target = this.#target();
    const [kind, inject] = this.prng.pick(this.#kinds());
    const detail = inject(target);
    if (detail !== undefined) this.#count(kind, detail);
  }

  #count(kind: string, detail: string): void {
    this.faults += 1;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    this.trace(`fault ${kind} ${detail}`);
  }

  /** The current master half the time, any node otherwise. */
  #target(): FailoverProcess {
    const master = this.cluster.currentMaster();
    if (master !== undefined && this.prng.chance(0.5)) return master;
    return this.prng.pick(this.cluster.processes);
  }

  #kinds(): [string, (target: FailoverProcess) => string | undefined][] {
    const kinds: [string, (target: FailoverProcess) => string | undefined][] = [
      ['crash', (target) => this.#crash(target)],
      ['crash', (target) => this.#crash(target)],
      ['restart', (target) => this.#restart(target)],
      ['pause', (target) => this.#pause(target)],
      ['isolate', (target) => this.#isolate(target)],
      ['one-way', (target) => this.#oneWay(target)],
      ['split', () => this.#split()],
      ['flaky-link', (target) => this.#flakyLink(target)],
      ['flaky-clients', () => this.#flakyClients()],
      ['slow-disk', (target) => this.#slowDisk(target)],
      ['error-500', (target) => this.#errors500(target)],
      ['delay', (target) => this.#delay(target)],
      ['partitioned', (target) => this.#partitioned(target)],
    ];
    if (this.config.version >= 2) {
      kinds.push(['slow-then-cut', () => this.#slowThenCut()]);
      kinds.push(['restart-behind-slow-disk', () => this.#restartBehindSlowDisk()]);
    }
    return kinds;
  }

  /**
   * From version 2, half the masters are killed within 50 ms of their election (and restarted
   * soon after): before all its followers heard from it in its epoch, so that some took the epoch
   * and some did not when the next election compares their logs.
   */
  elected(process: FailoverProcess): void {
    if (this.config.version < 2 || this.scheduler.nowMs >= this.config.untilMs) return;
    if (!this.prng.chance(0.5)) return;
    const crashAfterMs = this.prng.int(1, 50);
    const incarnations = process.incarnations.length;
    this.scheduler.after(crashAfterMs, undefined, () => {
      if (!process.up || process.incarnations.length !== incarnations) return;
      this.#count('crash-new-master', `${process.name} (${crashAfterMs} ms after its election)`);
      this.#restart(process);
    });
  }

  #later(run: () => void, what: string): void {
    this.scheduler.after(this.prng.int(50, this.config.maxFaultMs), undefined, () => {
      if (this.scheduler.nowMs >= this.config.untilMs) return;
      this.trace(`undo ${what}`);
      run();
    });
  }

  #others(target: FailoverProcess): FailoverProcess[] {
    return this.cluster.processes.filter((process) => process !== target);
  }

  #crash(target: FailoverProcess): string | undefined {
    if (!target.up) return undefined;
    this.cluster.crash(target);
    this.#later(() => {
      if (!target.up) this.cluster.restart(target);
    }, `crash ${target.name}`);
    return target.name;
  }

  #restart(target: FailoverProcess): string | undefined {
    if (!target.up) return undefined;
    this.cluster.crash(target);
    this.scheduler.after(this.prng.int(1, 20), undefined, () => {
      if (!target.up) this.cluster.restart(target);
    });
    return target.name;
  }

  #pause(target: FailoverProcess): string | undefined {
    const name = target.name;
    if (!target.up || this.scheduler.isPaused(name)) return undefined;
    this.scheduler.pause(name);
    this.#later(() => {
      if (this.scheduler.isPaused(name)) this.scheduler.resume(name);
    }, `pause ${name}`);
    return name;
  }

  #cut(from: string, to: string, cut: boolean): void {
    this.network.setLink(from, to, { cut });
  }

  #isolate(target: FailoverProcess): string {
    const others = this.#others(target);
    const set = (cut: boolean): void => {
      for (const other of others) {
        this.#cut(target.name, other.name, cut);
        this.#cut(other.name, target.name, cut);
      }
    };
    set(true);
    this.#later(() => {
      set(false);
    }, `isolate ${target.name}`);
    return target.name;
  }

  #oneWay(target: FailoverProcess): string {
    const other = this.prng.pick(this.#others(target));
    const [from, to] = this.prng.chance(0.5) ? [target, other] : [other, target];
    this.#cut(from.name, to.name, true);
    this.#later(() => {
      this.#cut(from.name, to.name, false);
    }, `one-way ${from.name}>${to.name}`);
    return `${from.name}>${to.name}`;
  }

  /** The nodes split in two groups that cannot reach each other (one of them a majority, or none). */
  #split(): string {
    const shuffled = [...this.cluster.processes].sort(() => this.prng.float() - 0.5);
    const cutAt = this.prng.int(1, shuffled.length - 1);
    const left = shuffled.slice(0, cutAt);
    const right = shuffled.slice(cutAt);
    const set = (cut: boolean): void => {
      for (const a of left) {
        for (const b of right) {
          this.#cut(a.name, b.name, cut);
          this.#cut(b.name, a.name, cut);
        }
      }
    };
    set(true);
    this.#later(() => {
      set(false);
    }, 'split');
    return `${left.map((p) => p.name).join('+')} | ${right.map((p) => p.name).join('+')}`;
  }

  #flakyLink(target: FailoverProcess): string {
    const other = this.prng.pick(this.#others(target));
    const faults = {
      dropRate: this.prng.float() * 0.3,
      duplicateRate: this.prng.float() * 0.3,
      minDelayMs: 1,
      maxDelayMs: this.prng.int(10, 250),
    };
    this.network.setLink(target.name, other.name, faults);
    this.network.setLink(other.name, target.name, faults);
    this.#later(() => {
      this.network.setLink(target.name, other.name, CALM);
      this.network.setLink(other.name, target.name, CALM);
    }, `flaky-link ${target.name}-${other.name}`);
    return `${target.name}-${other.name} ${JSON.stringify(faults)}`;
  }

  #flakyClients(): string {
    const faults = { dropRate: this.prng.float() * 0.3, maxDelayMs: this.prng.int(10, 200) };
    const set = (change: { dropRate: number; maxDelayMs: number }): void => {
      for (const client of this.cluster.clients) {
        for (const process of this.cluster.processes) {
          this.network.setLink(client, process.name, change);
          this.network.setLink(process.name, client, change);
        }
      }
    };
    set(faults);
    this.#later(() => {
      set({ dropRate: 0, maxDelayMs: 10 });
    }, 'flaky-clients');
    return JSON.stringify(faults);
  }

  /**
   * The master's answers come back late, then its requests stop reaching anyone: the others'
   * promises not to vote run out while answers to its last requests are still on their way. A
   * master that dated its lease from their arrival would hold it past a newer master's election.
   */
  #slowThenCut(): string | undefined {
    const master = this.cluster.currentMaster();
    if (master === undefined) return undefined;
    const others = this.#others(master);
    // Mostly within the request timeout (a master reads them), now and then just past it.
    const lateMs = this.prng.int(20, this.config.replicationTimeoutMs + 20);
    const late = { minDelayMs: lateMs, maxDelayMs: lateMs + this.prng.int(0, 20) };
    for (const other of others) this.network.setLink(other.name, master.name, late);
    const cutAfterMs = this.prng.int(1, Math.floor(this.config.electionTimeoutMs / 2));
    let undone = false;
    this.scheduler.after(cutAfterMs, undefined, () => {
      if (undone || this.scheduler.nowMs >= this.config.untilMs) return;
      for (const other of others) this.#cut(master.name, other.name, true);
    });
    this.#later(() => {
      undone = true;
      for (const other of others) {
        this.network.setLink(other.name, master.name, CALM);
        this.#cut(master.name, other.name, false);
      }
    }, `slow-then-cut ${master.name}`);
    return `${master.name} answers ${lateMs} ms late, cut after ${cutAfterMs} ms`;
  }

  /**
   * The master's fsyncs turn slow, then a follower restarts at once: it asks where the master's
   * epoch ends while the master has written and sent entries it has not fsynced yet.
   */
  #restartBehindSlowDisk(): string | undefined {
    const master = this.cluster.currentMaster();
    if (master === undefined) return undefined;
    const follower = this.prng.pick(this.#others(master));
    master.diskFaults = { ...HEALTHY_DISK, slowFsyncRate: 0.5 + this.prng.float() * 0.5 };
    const restartAfterMs = this.prng.int(1, 100);
    this.scheduler.after(restartAfterMs, undefined, () => {
      if (follower.up && this.scheduler.nowMs < this.config.untilMs) this.#restart(follower);
    });
    this.#later(() => {
      master.diskFaults = HEALTHY_DISK;
    }, `restart-behind-slow-disk ${master.name}`);
    return `${master.name} slow, ${follower.name} restarts after ${restartAfterMs} ms`;
  }

  #slowDisk(target: FailoverProcess): string {
    target.diskFaults = { ...HEALTHY_DISK, slowFsyncRate: 0.3 + this.prng.float() * 0.7 };
    this.#later(() => {
      target.diskFaults = HEALTHY_DISK;
    }, `slow-disk ${target.name}`);
    return target.name;
  }

  #errors500(target: FailoverProcess): string | undefined {
    const node = target.node;
    if (node === undefined) return undefined;
    node.setFaults({ errorRate: 0.2 + this.prng.float() * 0.6 });
    this.#later(() => {
      node.setFaults({ errorRate: 0 });
    }, `error-500 ${target.name}`);
    return target.name;
  }

  /** The node's own fault injection (PUT /admin/faults {"partitioned":true}), as chaos runs use it. */
  #partitioned(target: FailoverProcess): string | undefined {
    const node = target.node;
    if (node === undefined) return undefined;
    node.setFaults({ partitioned: true });
    this.#later(() => {
      node.setFaults({ partitioned: false });
    }, `partitioned ${target.name}`);
    return target.name;
  }

  #delay(target: FailoverProcess): string | undefined {
    const node = target.node;
    if (node === undefined) return undefined;
    const delayMs: [number, number] = [0, this.prng.int(10, 150)];
    node.setFaults({ delayMs });
    this.#later(() => {
      node.setFaults({ delayMs: 0 });
    }, `delay ${target.name}`);
    return `${target.name} ${delayMs.join('-')}ms`;
  }
}
