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
  #lateReplies(secondary: SecondaryProcess): string | undefined {
    if (!secondary.up) return undefined;
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
    return s;
  }

  /**
   * The faults, in the order the PRNG picks from (crash twice: it is the commonest failure). Each
   * injects itself and says what it did, or undefined when it does not apply now.
   */
  #kinds(): [string, (secondary: SecondaryProcess) => string | undefined][] {
    const kinds: [string, (secondary: SecondaryProcess) => string | undefined][] = [
      ['partition', (secondary) => this.#partition(secondary)],
      ['one-way', (secondary) => this.#oneWay(secondary)],
      ['flaky-link', (secondary) => this.#flakyLink(secondary)],
      ['error-500', (secondary) => this.#errors500(secondary)],
      ['pause', (secondary) => this.#pause(secondary)],
      ['crash', (secondary) => this.#crash(secondary)],
      ['crash', (secondary) => this.#crash(secondary)],
      ['restart', (secondary) => this.#restart(secondary)],
      ['late-replies', (secondary) => this.#lateReplies(secondary)],
      ['majority-partition', () => this.#majorityPartition()],
      ['flaky-clients', () => this.#flakyClients()],
      ['pause-master', () => this.#pauseMaster()],
      ['delay', (secondary) => this.#delay(secondary)],
      ['disk-errors', (secondary) => this.#disk('disk-errors', secondary)],
      ['slow-disk', (secondary) => this.#disk('slow-disk', secondary)],
      ['stray-master', (secondary) => this.#strayMaster(secondary)],
    ];
    if (this.config.masterCrashes) kinds.push(['crash-master', () => this.#crashMaster()]);
    return kinds;
  }

  #inject(): void {
    const secondary = this.prng.pick(this.cluster.secondaries);
    const [kind, inject] = this.prng.pick(this.#kinds());
    const detail = inject(secondary);
    if (detail !== undefined) this.#count(kind, detail);
  }

  /** Both directions between the master and a secondary. */
  #cutBoth(other: string, cut: boolean): void {
    const m = this.cluster.master.name;
    this.network.setLink(m, other, { cut });
    this.network.setLink(other, m, { cut });
  }

  #partition(secondary: SecondaryProcess): string {
    const s = secondary.name;
    this.#cutBoth(s, true);
    this.#later(() => {
      this.#cutBoth(s, false);
    }, `partition ${s}`);
    return s;
  }

  #oneWay(secondary: SecondaryProcess): string {
    const [m, s] = [this.cluster.master.name, secondary.name];
    const [from, to] = this.prng.chance(0.5) ? [m, s] : [s, m];
    this.network.setLink(from, to, { cut: true });
    this.#later(() => {
      this.network.setLink(from, to, { cut: false });
    }, `one-way ${from}>${to}`);
    return `${from}>${to}`;
  }

  #flakyLink(secondary: SecondaryProcess): string {
    const [m, s] = [this.cluster.master.name, secondary.name];
    const faults = {
      dropRate: this.prng.float() * 0.3,
      duplicateRate: this.prng.float() * 0.3,
      minDelayMs: 1,
      maxDelayMs: this.prng.int(10, MAX_FAULT_DELAY_MS),
    };
    this.network.setLink(m, s, faults);
    this.network.setLink(s, m, { ...faults, duplicateRate: this.prng.float() * 0.3 });
    this.#later(() => {
      const calm = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 10 };
      this.network.setLink(m, s, calm);
      this.network.setLink(s, m, calm);
    }, `flaky-link ${s}`);
    return `${s} ${JSON.stringify(faults)}`;
  }

  #majorityPartition(): string {
    for (const other of this.cluster.secondaries) this.#cutBoth(other.name, true);
    this.#later(() => {
      for (const other of this.cluster.secondaries) this.#cutBoth(other.name, false);
    }, `majority-partition`);
    return 'master alone';
  }

  #flakyClients(): string {
    const m = this.cluster.master.name;
    // No duplicates on client links: TCP never delivers one POST twice.
    const faults = { dropRate: this.prng.float() * 0.3, maxDelayMs: this.prng.int(10, 200) };
    const set = (change: { dropRate: number; maxDelayMs: number }): void => {
      for (const client of this.cluster.clients) {
        this.network.setLink(client, m, change);
        this.network.setLink(m, client, change);
      }
    };
    set(faults);
    this.#later(() => {
      set({ dropRate: 0, maxDelayMs: 10 });
    }, `flaky-clients`);
    return JSON.stringify(faults);
  }

  /** 500s after storing: the secondary's own fault injection (FAULT_INJECTION's errorRate). */
  #errors500(secondary: SecondaryProcess): string | undefined {
    const node = secondary.node;
    if (node === undefined) return undefined;
    node.setFaults({ errorRate: 0.2 + this.prng.float() * 0.6 });
    this.#later(() => {
      node.setFaults({ errorRate: 0 });
    }, `error-500 ${secondary.name}`);
    return secondary.name;
  }

  /** Replication delayed before storing: the secondary's own fault injection (delayMs). */
  #delay(secondary: SecondaryProcess): string | undefined {
    const node = secondary.node;
    if (node === undefined) return undefined;
    const delayMs: [number, number] = [0, this.prng.int(10, 150)];
    node.setFaults({ delayMs });
    this.#later(() => {
      node.setFaults({ delayMs: 0 });
    }, `delay ${secondary.name}`);
    return `${secondary.name} ${delayMs.join('-')}ms`;
  }

  #strayMaster(secondary: SecondaryProcess): string | undefined {
    return this.cluster.strayBatch(secondary) ? secondary.name : undefined;
  }

  /** Failing writes (EIO, ENOSPC) or slow fsyncs, on the master's disk or a secondary's. */
  #disk(kind: 'disk-errors' | 'slow-disk', secondary: SecondaryProcess): string {
    const target = this.prng.chance(0.3) ? this.cluster.master : secondary;
    const faults =
      kind === 'slow-disk'
        ? { ...HEALTHY_DISK, slowFsyncRate: 0.3 + this.prng.float() * 0.7 }
        : {
            ...HEALTHY_DISK,
            writeErrorRate: 0.2 + this.prng.float() * 0.8,
            errorCode: this.prng.pick(['EIO', 'ENOSPC'] as const),
          };
    target.diskFaults = faults;
    this.#later(() => {
      target.diskFaults = HEALTHY_DISK;
    }, `${kind} ${target.name}`);
    return `${target.name} ${JSON.stringify(faults)}`;
  }

  /** SIGSTOP, then SIGCONT: nothing of the process runs meanwhile, everything queues up. */
  #pause(secondary: SecondaryProcess): string | undefined {
    const s = secondary.name;
    if (!secondary.up || this.scheduler.isPaused(s)) return undefined;
    this.scheduler.pause(s);
    this.#later(() => {
      if (this.scheduler.isPaused(s)) this.scheduler.resume(s);
    }, `pause ${s}`);
    return s;
  }

  #pauseMaster(): string | undefined {
    const m = this.cluster.master.name;
    if (!this.cluster.master.up || this.scheduler.isPaused(m)) return undefined;
    this.scheduler.pause(m);
    this.#later(() => {
      if (this.scheduler.isPaused(m)) this.scheduler.resume(m);
    }, `pause-master`);
    return m;
  }

  #crash(secondary: SecondaryProcess): string | undefined {
    if (!secondary.up) return undefined;
    this.cluster.crashSecondary(secondary);
    this.#later(() => {
      if (!secondary.up) this.cluster.restartSecondary(secondary);
    }, `crash ${secondary.name}`);
    return secondary.name;
  }

  /**
   * kill -9 and a supervisor's restart a moment later: answers of the old process may still be
   * on their way when the new one answers.
   */
  #restart(secondary: SecondaryProcess): string | undefined {
    if (!secondary.up) return undefined;
    this.cluster.crashSecondary(secondary);
    this.scheduler.after(this.prng.int(1, 20), undefined, () => {
      if (!secondary.up) this.cluster.restartSecondary(secondary);
    });
    return secondary.name;
  }

  #crashMaster(): string | undefined {
    const master = this.cluster.master;
    if (!master.up) return undefined;
    this.cluster.crashMaster();
    this.#later(() => {
      if (!master.up) this.cluster.restartMaster();
    }, `crash-master`);
    return master.name;
  }
}
