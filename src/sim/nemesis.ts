import type { Prng } from '../core/prng.js';
import type { Scheduler } from './scheduler.js';
import type { MasterProcess, SecondaryProcess } from './sim-nodes.js';
import type { SimNetwork } from './sim-network.js';
import { HEALTHY_DISK } from './sim-store.js';

/** The cluster as the nemesis acts on it; restarts go through the simulation's bookkeeping. */
export interface Cluster {
  readonly master: MasterProcess;
  readonly secondaries: readonly SecondaryProcess[];
  readonly clients: readonly string[];
  /** kill -9; `wipe`: its data directory is lost too (default: now and then). */
  crashSecondary(secondary: SecondaryProcess, wipe?: boolean): void;
  restartSecondary(secondary: SecondaryProcess): void;
  crashMaster(): void;
  restartMaster(): void;
  /** A master of another log (a second cluster started by mistake) sends the secondary a batch. */
  strayBatch(secondary: SecondaryProcess): boolean;
}

export interface NemesisConfig {
  /** No new fault starts after this time; healing follows. */
  readonly untilMs: number;
  readonly maxFaults: number;
  readonly meanGapMs: number;
  /** Long enough, at its upper end, for a secondary to become Unhealthy. */
  readonly maxFaultMs: number;
  readonly masterCrashes: boolean;
}

/** Worst delay any faulty link may add, for the bound on failure detection. */
export const MAX_FAULT_DELAY_MS = 250;

/**
 * Random faults over time, each undone after a random duration: partitions (full, one-way, of the
 * master from a majority), lossy, duplicating and slow links, 500s after storing and delays (the
 * secondaries' own fault injection), failing writes (EIO, ENOSPC) and slow fsyncs, pauses, and
 * crash/restart of secondaries (with their disk) and of the master (durable disk).
 */
export class Nemesis {
  faults = 0;
  readonly kinds = new Map<string, number>();

  constructor(
    private readonly cluster: Cluster,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork,
    private readonly prng: Prng,
    private readonly config: NemesisConfig,
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

  /** Removes every fault: links calm, every node up and running. */
  healAll(): void {
    const { master, secondaries } = this.cluster;
    this.network.healAll();
    master.diskFaults = HEALTHY_DISK;
    for (const secondary of secondaries) {
      secondary.node?.setFaults({ errorRate: 0, delayMs: 0 });
      secondary.diskFaults = HEALTHY_DISK;
      if (this.scheduler.isPaused(secondary.name)) this.scheduler.resume(secondary.name);
      if (!secondary.up) this.cluster.restartSecondary(secondary);
    }
    if (this.scheduler.isPaused(master.name)) this.scheduler.resume(master.name);
    if (!master.up) this.cluster.restartMaster();
    this.trace('heal all');
  }

  /** Undoes a fault after a random duration (healing at the end undoes everything anyway). */
  #later(run: () => void, what = ''): void {
    this.scheduler.after(this.prng.int(50, this.config.maxFaultMs), undefined, () => {
      if (this.scheduler.nowMs >= this.config.untilMs) return;
      this.trace(`undo ${what}`);
      run();
    });
  }

  #count(kind: string, detail: string): void {
    this.faults += 1;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    this.trace(`fault ${kind} ${detail}`);
  }

  /**
   * The secondary's answers slow down, then it restarts (often empty) and the path is fast
   * again: answers of the old process arrive after those of the new one. The master must not
   * count what the old process held once it has heard from the new one.
   */
  #lateReplies(secondary: SecondaryProcess): void {
    const [m, s] = [this.cluster.master.name, secondary.name];
    this.network.setLink(s, m, { minDelayMs: 100, maxDelayMs: MAX_FAULT_DELAY_MS });
    this.scheduler.after(this.prng.int(20, 100), undefined, () => {
      this.network.setLink(s, m, { minDelayMs: 1, maxDelayMs: 10 });
      if (!secondary.up) return;
      this.cluster.crashSecondary(secondary, this.prng.chance(0.5));
      this.scheduler.after(this.prng.int(1, 20), undefined, () => {
        if (!secondary.up) this.cluster.restartSecondary(secondary);
      });
    });
  }

  #inject(): void {
    const { master, secondaries, clients } = this.cluster;
    const secondary = this.prng.pick(secondaries);
    const m = master.name;
    const s = secondary.name;
    const kinds = [
      'partition',
      'one-way',
      'flaky-link',
      'error-500',
      'pause',
      'crash',
      'crash',
      'restart',
      'late-replies',
      'majority-partition',
      'flaky-clients',
      'pause-master',
      'delay',
      'disk-errors',
      'slow-disk',
      'stray-master',
      ...(this.config.masterCrashes ? ['crash-master'] : []),
    ];
    const kind = this.prng.pick(kinds);
    switch (kind) {
      case 'partition':
        this.#count(kind, s);
        this.network.setLink(m, s, { cut: true });
        this.network.setLink(s, m, { cut: true });
        this.#later(() => {
          this.network.setLink(m, s, { cut: false });
          this.network.setLink(s, m, { cut: false });
        }, `partition ${s}`);
        return;
      case 'one-way': {
        const [from, to] = this.prng.chance(0.5) ? [m, s] : [s, m];
        this.#count(kind, `${from}>${to}`);
        this.network.setLink(from, to, { cut: true });
        this.#later(() => {
          this.network.setLink(from, to, { cut: false });
        }, `one-way ${from}>${to}`);
        return;
      }
      case 'flaky-link': {
        const faults = {
          dropRate: this.prng.float() * 0.3,
          duplicateRate: this.prng.float() * 0.3,
          minDelayMs: 1,
          maxDelayMs: this.prng.int(10, MAX_FAULT_DELAY_MS),
        };
        this.#count(kind, `${s} ${JSON.stringify(faults)}`);
        this.network.setLink(m, s, faults);
        this.network.setLink(s, m, { ...faults, duplicateRate: this.prng.float() * 0.3 });
        this.#later(() => {
          const calm = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 10 };
          this.network.setLink(m, s, calm);
          this.network.setLink(s, m, calm);
        }, `flaky-link ${s}`);
        return;
      }
      case 'error-500': {
        const node = secondary.node;
        if (node === undefined) return;
        this.#count(kind, s);
        node.setFaults({ errorRate: 0.2 + this.prng.float() * 0.6 });
        this.#later(() => {
          node.setFaults({ errorRate: 0 });
        }, `error-500 ${s}`);
        return;
      }
      case 'delay': {
        const node = secondary.node;
        if (node === undefined) return;
        const delayMs: [number, number] = [0, this.prng.int(10, 150)];
        this.#count(kind, `${s} ${delayMs.join('-')}ms`);
        node.setFaults({ delayMs });
        this.#later(() => {
          node.setFaults({ delayMs: 0 });
        }, `delay ${s}`);
        return;
      }
      case 'stray-master':
        if (this.cluster.strayBatch(secondary)) this.#count(kind, s);
        return;
      case 'disk-errors':
      case 'slow-disk': {
        const target = this.prng.chance(0.3) ? master : secondary;
        const faults =
          kind === 'slow-disk'
            ? { ...HEALTHY_DISK, slowFsyncRate: 0.3 + this.prng.float() * 0.7 }
            : {
                ...HEALTHY_DISK,
                writeErrorRate: 0.2 + this.prng.float() * 0.8,
                errorCode: this.prng.pick(['EIO', 'ENOSPC'] as const),
              };
        this.#count(kind, `${target.name} ${JSON.stringify(faults)}`);
        target.diskFaults = faults;
        this.#later(() => {
          target.diskFaults = HEALTHY_DISK;
        }, `${kind} ${target.name}`);
        return;
      }
      case 'pause':
        if (!secondary.up || this.scheduler.isPaused(s)) return;
        this.#count(kind, s);
        this.scheduler.pause(s);
        this.#later(() => {
          if (this.scheduler.isPaused(s)) this.scheduler.resume(s);
        }, `pause ${s}`);
        return;
      case 'crash':
        if (!secondary.up) return;
        this.#count(kind, s);
        this.cluster.crashSecondary(secondary);
        this.#later(() => {
          if (!secondary.up) this.cluster.restartSecondary(secondary);
        }, `crash ${s}`);
        return;
      case 'restart':
        // kill -9 and a supervisor's restart a moment later: answers of the old process may
        // still be on their way when the new one answers.
        if (!secondary.up) return;
        this.#count(kind, s);
        this.cluster.crashSecondary(secondary);
        this.scheduler.after(this.prng.int(1, 20), undefined, () => {
          if (!secondary.up) this.cluster.restartSecondary(secondary);
        });
        return;
      case 'late-replies':
        if (!secondary.up) return;
        this.#count(kind, s);
        this.#lateReplies(secondary);
        return;
      case 'majority-partition':
        this.#count(kind, 'master alone');
        for (const other of secondaries) {
          this.network.setLink(m, other.name, { cut: true });
          this.network.setLink(other.name, m, { cut: true });
        }
        this.#later(() => {
          for (const other of secondaries) {
            this.network.setLink(m, other.name, { cut: false });
            this.network.setLink(other.name, m, { cut: false });
          }
        }, `majority-partition`);
        return;
      case 'flaky-clients': {
        // No duplicates on client links: TCP never delivers one POST twice.
        const faults = { dropRate: this.prng.float() * 0.3, maxDelayMs: this.prng.int(10, 200) };
        this.#count(kind, JSON.stringify(faults));
        for (const client of clients) {
          this.network.setLink(client, m, faults);
          this.network.setLink(m, client, faults);
        }
        this.#later(() => {
          for (const client of clients) {
            this.network.setLink(client, m, { dropRate: 0, maxDelayMs: 10 });
            this.network.setLink(m, client, { dropRate: 0, maxDelayMs: 10 });
          }
        }, `flaky-clients`);
        return;
      }
      case 'pause-master':
        if (!master.up || this.scheduler.isPaused(m)) return;
        this.#count(kind, m);
        this.scheduler.pause(m);
        this.#later(() => {
          if (this.scheduler.isPaused(m)) this.scheduler.resume(m);
        }, `pause-master`);
        return;
      case 'crash-master':
        if (!master.up) return;
        this.#count(kind, m);
        this.cluster.crashMaster();
        this.#later(() => {
          if (!master.up) this.cluster.restartMaster();
        }, `crash-master`);
        return;
    }
  }
}
