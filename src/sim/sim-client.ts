import type { AppendOperation, AppendOutcome } from '../checker/history.js';
import type { WriteConcern } from '../core/write-concern.js';
import type { Prng } from '../core/prng.js';
import type { CheckedOperation, SafetyChecker } from './safety-checker.js';
import type { Scheduler } from './scheduler.js';
import type { AppendRequest } from '../node/append-outcome.js';
import type { SimNetwork } from './sim-network.js';

/** How a client sees an append end: the master's answer, as the HTTP status and error code say it. */
export type AppendAnswer =
  | {
      readonly kind: 'ok';
      /** 201 created, 200 replayed by key, 504 stored but w not reached in time. */
      readonly statusCode: 200 | 201 | 504;
      readonly ids: readonly number[];
      readonly w: number;
      readonly acks: number;
    }
  | {
      readonly kind: 'refused';
      readonly code: string;
      /** NOT_MASTER: where the master is (a node name), or null while none is known. */
      readonly master?: string | null;
    };

/** The master as a client reaches it. */
export interface AppendTarget {
  readonly name: string;
  readonly clusterSize: number;
  /**
   * POST /logs to `node` (the master's name unless `nodeFor` says otherwise): false when no
   * process listens (connection refused).
   */
  serveAppend(
    request: AppendRequest,
    respond: (answer: AppendAnswer) => void,
    node: string,
  ): boolean;
  /** With failover: where this client sends its next append (the master it believes in). */
  nodeFor?(client: string): string;
  /** With failover: a NOT_MASTER answer named the master (or none: try another node). */
  redirected?(client: string, master: string | null): void;
}

export interface ClientConfig {
  /** A client gives up on one attempt after this long: the outcome is unknown. */
  readonly requestTimeoutMs: number;
  /** Attempts of one keyed append (first try plus retries of unknown outcomes). */
  readonly maxAttempts: number;
  readonly meanThinkMs: number;
}

/** Refusals a careful client retries (the master said Retry-After: nothing was stored). */
const RETRIED_REFUSALS = new Set(['OVERLOADED', 'STORAGE_UNAVAILABLE', 'NOT_MASTER']);

/** One logical append: what the checker tracks and what the history records. */
export interface ClientOperation extends CheckedOperation {
  readonly client: string;
  readonly invokedAt: number;
  readonly request: AppendRequest;
  /** Sent after healing: must succeed before the run ends. */
  readonly afterHealing: boolean;
  attempts: number;
  completedAt: number | undefined;
  outcome: AppendOutcome | undefined;
}

export function toHistory(operation: ClientOperation): AppendOperation {
  return {
    messages: operation.messages,
    idempotencyKey: operation.idempotencyKey,
    invokedAt: operation.invokedAt,
    completedAt: operation.completedAt ?? Infinity,
    outcome: operation.outcome ?? { kind: 'unknown' },
  };
}

/**
 * A client of the master: one append at a time, each with unique messages, most with an
 * idempotency key. An attempt that times out or loses its connection has an unknown outcome and
 * is retried with the same key (bounded); without a key it is not retried, as a careful client
 * would not risk a duplicate.
 */
export class SimClient {
  readonly operations: ClientOperation[] = [];
  #opNo = 0;
  #busy = false;

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork,
    private readonly prng: Prng,
    private readonly master: AppendTarget,
    private readonly checker: SafetyChecker,
    private readonly config: ClientConfig,
    private readonly trace: (line: string) => void,
  ) {}

  get busy(): boolean {
    return this.#busy;
  }

  /** Appends one after another, with think time between them, until `untilMs`. */
  runWorkload(untilMs: number): void {
    const next = (): void => {
      if (this.scheduler.nowMs >= untilMs) return;
      this.submit(this.#randomRequest(), false, () => {
        this.scheduler.after(this.prng.int(0, 2 * this.config.meanThinkMs), undefined, next);
      });
    };
    this.scheduler.after(this.prng.int(0, this.config.meanThinkMs), undefined, next);
  }

  submit(
    shape: {
      readonly count: number;
      readonly w: WriteConcern | undefined;
      readonly timeoutMs: number | undefined;
      readonly keyed: boolean;
    },
    afterHealing: boolean,
    done: () => void,
  ): ClientOperation {
    this.#opNo += 1;
    const messages = Array.from(
      { length: shape.count },
      (_, index) => `${this.name}-${this.#opNo}-${index}`,
    );
    const request: AppendRequest = {
      messages,
      messageBytes: messages.map((message) => Buffer.byteLength(message, 'utf8')),
      w: shape.w,
      timeoutMs: shape.timeoutMs,
      idempotencyKey: shape.keyed ? `${this.name}-key-${this.#opNo}` : undefined,
    };
    const operation: ClientOperation = {
      client: this.name,
      messages,
      idempotencyKey: request.idempotencyKey,
      ackedBeforeInvokeId: this.checker.clientAckedId,
      refusedOnly: true,
      finallyRefused: false,
      invokedAt: this.scheduler.nowMs,
      request,
      afterHealing,
      attempts: 0,
      completedAt: undefined,
      outcome: undefined,
    };
    this.operations.push(operation);
    this.checker.register(operation);
    this.#busy = true;
    this.#attempt(operation, () => {
      this.#busy = false;
      done();
    });
    return operation;
  }

  #randomRequest(): {
    count: number;
    w: WriteConcern | undefined;
    timeoutMs: number | undefined;
    keyed: boolean;
  } {
    const size = this.master.clusterSize;
    const roll = this.prng.float();
    // Mostly valid write concerns; now and then one the master must refuse (INVALID_REQUEST).
    const w: WriteConcern | undefined =
      roll < 0.03
        ? size + 1
        : this.prng.pick<WriteConcern | undefined>([
            1,
            1,
            2,
            'majority',
            'majority',
            'all',
            undefined,
          ]);
    return {
      count: this.prng.chance(0.7) ? 1 : this.prng.int(2, 4),
      w,
      timeoutMs: this.prng.chance(0.4) ? this.prng.int(20, 1500) : undefined,
      keyed: this.prng.chance(0.85),
    };
  }

  #attempt(operation: ClientOperation, done: () => void): void {
    operation.attempts += 1;
    const node = this.master.nodeFor?.(this.name) ?? this.master.name;
    this.network.request<AppendAnswer>(
      this.name,
      node,
      this.config.requestTimeoutMs,
      (respond) => this.master.serveAppend(operation.request, respond, node),
      (delivery) => {
        if (delivery.kind === 'answer') {
          const answer = delivery.answer;
          if (answer.kind === 'refused' && answer.master !== undefined)
            this.master.redirected?.(this.name, answer.master);
          this.#answered(operation, answer, done);
          return;
        }
        // Connection refused or no answer: with failover, the master may be gone; ask another.
        this.master.redirected?.(this.name, null);
        operation.refusedOnly = false;
        const retry =
          operation.idempotencyKey !== undefined && operation.attempts < this.config.maxAttempts;
        if (retry) {
          this.scheduler.after(this.prng.int(20, 300), undefined, () => {
            this.#attempt(operation, done);
          });
        } else {
          this.#complete(operation, { kind: 'unknown' }, done);
        }
      },
    );
  }

  #answered(operation: ClientOperation, answer: AppendAnswer, done: () => void): void {
    if (answer.kind === 'refused') {
      this.checker.clientRefused(operation);
      if (RETRIED_REFUSALS.has(answer.code) && operation.attempts < this.config.maxAttempts) {
        // Refused for now, with Retry-After: nothing was stored, the same request may go again.
        this.scheduler.after(this.prng.int(50, 300), undefined, () => {
          this.#attempt(operation, done);
        });
      } else if (operation.refusedOnly) {
        operation.finallyRefused = true;
        this.#complete(operation, { kind: 'refused', code: answer.code }, done);
      } else if (operation.attempts < this.config.maxAttempts) {
        // An earlier attempt may have been stored: the outcome is still unknown, try again.
        this.scheduler.after(this.prng.int(50, 300), undefined, () => {
          this.#attempt(operation, done);
        });
      } else {
        this.#complete(operation, { kind: 'unknown' }, done);
      }
      return;
    }
    const acknowledged = answer.statusCode !== 504;
    this.checker.clientStored(operation, answer.ids, answer.w, answer.acks, acknowledged);
    const outcome: AppendOutcome = {
      kind: acknowledged ? 'ok' : 'stored',
      ids: answer.ids,
      w: answer.w,
      acks: answer.acks,
    };
    this.#complete(operation, outcome, done);
  }

  #complete(operation: ClientOperation, outcome: AppendOutcome, done: () => void): void {
    operation.outcome = outcome;
    operation.completedAt = this.scheduler.nowMs;
    this.trace(
      `${operation.messages[0]} ${outcome.kind}${'ids' in outcome ? ` ${outcome.ids.join(',')}` : ''}`,
    );
    done();
  }
}
