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
}

const CALM = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 10 };

/**
 * Random faults against a failover cluster, each undone after a random duration: crashes (kill
 * -9, then a restart), pauses, full and one-way partitions, a split into a minority and a
 * majority, lossy, duplicating and reordering links, slow disks, 500s and delays from the nodes'
 * own fault injection. Half the node-directed faults hit whichever node is master now.
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
    if (detail === undefined) return;
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
    return [
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
