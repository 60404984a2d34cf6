import { checkFailover, lostMessages, majorityAcknowledged } from './check-failover.js';
import type { AppendOperation, History, LogObservation, Violation } from './history.js';

/** Where the history says an append's entries are: from its answer, or where a node showed them. */
interface Placed {
  readonly operation: number;
  readonly message: string;
  readonly id: number;
}

/**
 * Judges a recorded history against docs/GUARANTEES.md and returns every violation found, each
 * named by its guarantee with the operations involved. Messages are unique within a history, so a
 * message identifies its entry wherever a node shows it.
 *
 * What a history cannot show is left to the checks that see inside (the simulator checks
 * "acknowledged means held" on the real node states after every step); here it is judged from
 * what the nodes were observed to show.
 *
 * With `history.failover`, the failover guarantees F1–F5 are judged on the final logs and the
 * rollbacks too, and an entry acknowledged with `w` below a majority that no final log holds
 * counts as rolled back (F3 requires it listed) rather than lost: its id may hold another entry.
 */
export function checkHistory(history: History): Violation[] {
  const violations: Violation[] = [];
  const report = (
    guarantee: Violation['guarantee'],
    message: string,
    operations: readonly number[] = [],
  ): void => {
    violations.push({ guarantee, message, operations });
  };
  const operationOf = new Map<string, number>();
  for (const [index, operation] of history.appends.entries()) {
    for (const message of operation.messages) operationOf.set(message, index);
  }
  const observations = [...history.observations].sort((a, b) => a.at - b.at);
  const failover = history.failover;
  const lost = failover === undefined ? new Set<string>() : lostMessages(history.appends, failover);

  checkAnswers(history.appends, report);
  checkObservations(observations, operationOf, history.appends, lost, report);
  const placed = placeEntries(history.appends, observations, operationOf, lost);
  checkKeys(history.appends, report);
  checkOrder(history.appends, placed, report);
  checkAcknowledgedKept(history, observations, report);
  checkMonotonicReads(observations, report);
  if (history.healed) checkConvergence(history, observations, report);
  if (failover !== undefined)
    checkFailover(history.appends, observations, failover, history.healed, report);
  return violations;
}

type Report = (
  guarantee: Violation['guarantee'],
  message: string,
  operations?: readonly number[],
) => void;

function checkAnswers(appends: readonly AppendOperation[], report: Report): void {
  for (const [index, operation] of appends.entries()) {
    const outcome = operation.outcome;
    if (outcome.kind !== 'ok' && outcome.kind !== 'stored') continue;
    if (outcome.ids.length !== operation.messages.length) {
      report(
        'no-duplicates',
        `append ${index} sent ${operation.messages.length} messages but got ${outcome.ids.length} ids`,
        [index],
      );
    }
    for (let i = 1; i < outcome.ids.length; i++) {
      if (outcome.ids[i] !== outcome.ids[i - 1]! + 1) {
        report(
          'gap-free-prefix',
          `batch append ${index} got non-consecutive ids ${outcome.ids.join(',')}`,
          [index],
        );
        break;
      }
    }
    if (outcome.kind === 'ok' && outcome.acks < outcome.w) {
      report(
        'honest-write-concern',
        `append ${index} was acknowledged with w=${outcome.w} but acks=${outcome.acks}`,
        [index],
      );
    }
  }
}

/** What the checks of the observed entries share while they go through the observations. */
interface ObservationScan {
  readonly operationOf: ReadonlyMap<string, number>;
  readonly appends: readonly AppendOperation[];
  readonly report: Report;
  /** Reports a problem the first time its key comes up, and never again. */
  readonly once: (key: string, emit: () => void) => void;
  /** The message first seen at each id, and where. */
  readonly shownAt: Map<number, { message: string; node: string }>;
  /** The id each message was first seen at. */
  readonly idOf: Map<string, { id: number; node: string }>;
}

type Entry = LogObservation['entries'][number];

function checkObservations(
  observations: readonly LogObservation[],
  operationOf: ReadonlyMap<string, number>,
  appends: readonly AppendOperation[],
  /** Messages rolled back with failover: their answered ids may hold other entries. */
  lost: ReadonlySet<string>,
  report: Report,
): void {
  const reported = new Set<string>();
  const scan: ObservationScan = {
    operationOf,
    appends,
    report,
    once: (key, emit) => {
      if (reported.has(key)) return;
      reported.add(key);
      emit();
    },
    shownAt: new Map(),
    idOf: new Map(),
  };
  for (const observation of observations) checkObservedLog(observation, scan);
  checkAnsweredIdsShown(appends, scan.shownAt, lost, report);
}

/** One node's log as observed: ids 1..n, no message twice, each entry checked as it comes. */
function checkObservedLog(observation: LogObservation, scan: ObservationScan): void {
  const { once, report } = scan;
  const seen = new Set<string>();
  for (const [position, entry] of observation.entries.entries()) {
    if (entry.id !== position + 1) {
      once(`gap:${observation.node}`, () => {
        report(
          'gap-free-prefix',
          `${observation.node} showed ids ${observation.entries.map((e) => e.id).join(',')} at ${observation.at}: not 1..${observation.entries.length}`,
        );
      });
      break;
    }
    const operation = scan.operationOf.get(entry.message);
    checkEntrySent(observation.node, entry, operation, scan);
    if (seen.has(entry.message)) {
      once(`dup:${observation.node}:${entry.message}`, () => {
        report(
          'no-duplicates',
          `${observation.node} showed "${entry.message}" twice`,
          operation === undefined ? [] : [operation],
        );
      });
    }
    seen.add(entry.message);
    checkEntryWhereSeenBefore(observation.node, entry, operation, scan);
  }
}

/** A shown entry must come from an append a client sent and that was not refused. */
function checkEntrySent(
  node: string,
  entry: Entry,
  operation: number | undefined,
  { appends, once, report }: ObservationScan,
): void {
  if (operation === undefined) {
    once(`phantom:${entry.message}`, () => {
      report(
        'no-phantoms',
        `${node} showed "${entry.message}" at id ${entry.id}, which no client sent`,
      );
    });
  } else if (appends[operation]!.outcome.kind === 'refused') {
    once(`refused:${entry.message}`, () => {
      const outcome = appends[operation]!.outcome;
      const code = outcome.kind === 'refused' ? outcome.code : '';
      report(
        'no-phantoms',
        `${node} showed "${entry.message}" at id ${entry.id}, but its append was refused (${code})`,
        [operation],
      );
    });
  }
}

/** An id shows one message on every node, and a message one id; the first sighting is recorded. */
function checkEntryWhereSeenBefore(
  node: string,
  entry: Entry,
  operation: number | undefined,
  { operationOf, once, report, shownAt, idOf }: ObservationScan,
): void {
  const first = shownAt.get(entry.id);
  if (first === undefined) {
    shownAt.set(entry.id, { message: entry.message, node });
  } else if (first.message !== entry.message) {
    once(`agree:${entry.id}`, () => {
      report(
        'agreement',
        `id ${entry.id} was "${first.message}" on ${first.node} but "${entry.message}" on ${node}`,
        [operationOf.get(first.message), operation].filter((op): op is number => op !== undefined),
      );
    });
  }
  const firstId = idOf.get(entry.message);
  if (firstId === undefined) {
    idOf.set(entry.message, { id: entry.id, node });
  } else if (firstId.id !== entry.id) {
    once(`moved:${entry.message}`, () => {
      report(
        'no-duplicates',
        `"${entry.message}" was at id ${firstId.id} on ${firstId.node} but at id ${entry.id} on ${node}`,
        operation === undefined ? [] : [operation],
      );
    });
  }
}

/** An acknowledged id must show the acknowledged message wherever it is shown. */
function checkAnsweredIdsShown(
  appends: readonly AppendOperation[],
  shownAt: ReadonlyMap<number, { message: string; node: string }>,
  lost: ReadonlySet<string>,
  report: Report,
): void {
  for (const [index, operation] of appends.entries()) {
    const outcome = operation.outcome;
    if (outcome.kind !== 'ok' && outcome.kind !== 'stored') continue;
    for (const [i, id] of outcome.ids.entries()) {
      const shown = shownAt.get(id);
      if (lost.has(operation.messages[i] ?? '')) continue;
      if (shown !== undefined && shown.message !== operation.messages[i]) {
        report(
          'agreement',
          `append ${index} was answered with id ${id} for "${operation.messages[i] ?? ''}", but ${shown.node} showed "${shown.message}" there`,
          [index],
        );
      }
    }
  }
}

function placeEntries(
  appends: readonly AppendOperation[],
  observations: readonly LogObservation[],
  operationOf: ReadonlyMap<string, number>,
  lost: ReadonlySet<string>,
): Placed[] {
  const placed = new Map<string, Placed>();
  for (const [index, operation] of appends.entries()) {
    const outcome = operation.outcome;
    if (outcome.kind !== 'ok' && outcome.kind !== 'stored') continue;
    for (const [i, id] of outcome.ids.entries()) {
      const message = operation.messages[i];
      if (message !== undefined && !lost.has(message))
        placed.set(message, { operation: index, message, id });
    }
  }
  for (const observation of observations) {
    for (const entry of observation.entries) {
      const operation = operationOf.get(entry.message);
      if (operation !== undefined && !placed.has(entry.message)) {
        placed.set(entry.message, { operation, message: entry.message, id: entry.id });
      }
    }
  }
  return [...placed.values()];
}

function checkKeys(appends: readonly AppendOperation[], report: Report): void {
  const firstIdOfKey = new Map<string, { id: number; operation: number }>();
  for (const [index, operation] of appends.entries()) {
    const outcome = operation.outcome;
    if (
      operation.idempotencyKey === undefined ||
      (outcome.kind !== 'ok' && outcome.kind !== 'stored')
    )
      continue;
    const id = outcome.ids[0];
    if (id === undefined) continue;
    const known = firstIdOfKey.get(operation.idempotencyKey);
    if (known === undefined) firstIdOfKey.set(operation.idempotencyKey, { id, operation: index });
    else if (known.id !== id) {
      report(
        'no-duplicates',
        `idempotency key "${operation.idempotencyKey}" got id ${known.id} and id ${id}`,
        [known.operation, index],
      );
    }
  }
}

/** If A was acknowledged before B was sent, every id of A is below every id of B. */
function checkOrder(
  appends: readonly AppendOperation[],
  placed: readonly Placed[],
  report: Report,
): void {
  const idsOf = new Map<number, number[]>();
  for (const entry of placed) {
    const ids = idsOf.get(entry.operation) ?? [];
    ids.push(entry.id);
    idsOf.set(entry.operation, ids);
  }
  const acknowledged = [...appends.entries()]
    .filter(([index, operation]) => operation.outcome.kind === 'ok' && idsOf.has(index))
    .map(([index, operation]) => ({
      index,
      completedAt: operation.completedAt,
      maxId: Math.max(...idsOf.get(index)!),
    }))
    .sort((a, b) => a.completedAt - b.completedAt);
  // Prefix maxima: the highest id acknowledged by each point in time, and by which operation.
  const best: { completedAt: number; maxId: number; index: number }[] = [];
  for (const item of acknowledged) {
    const previous = best[best.length - 1];
    best.push(
      previous === undefined || item.maxId > previous.maxId
        ? item
        : { ...previous, completedAt: item.completedAt },
    );
  }
  for (const [index, operation] of appends.entries()) {
    const ids = idsOf.get(index);
    if (ids === undefined) continue;
    // The last acknowledgement strictly before this operation was sent.
    let low = 0;
    let high = best.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (best[mid]!.completedAt < operation.invokedAt) low = mid + 1;
      else high = mid;
    }
    const before = best[low - 1];
    const minId = Math.min(...ids);
    if (before !== undefined && before.index !== index && minId <= before.maxId) {
      report(
        'order-respects-time',
        `append ${before.index} was acknowledged (id ${before.maxId}) before append ${index} was sent, yet append ${index} got id ${minId}`,
        [before.index, index],
      );
    }
  }
}

/** The answered ids that must be kept: acknowledged, and stored (504) with `storedMustBeKept`. */
function mustBeKept(history: History, operation: AppendOperation): readonly number[] {
  const outcome = operation.outcome;
  const failover = history.failover;
  if (outcome.kind === 'ok' && failover !== undefined)
    return majorityAcknowledged(operation, failover.clusterSize) ? outcome.ids : [];
  if (outcome.kind === 'ok') return outcome.ids;
  if (outcome.kind === 'stored' && history.storedMustBeKept === true) return outcome.ids;
  return [];
}

function answeredAs(operation: AppendOperation): string {
  return operation.outcome.kind === 'stored' ? 'answered as stored (504)' : 'acknowledged';
}

/** Every entry that must be kept is on the master at its id, in the master's last observation. */
function checkAcknowledgedKept(
  history: History,
  observations: readonly LogObservation[],
  report: Report,
): void {
  const last = lastObservations(observations);
  const master = last.get(history.master);
  if (master === undefined) return;
  for (const [index, operation] of history.appends.entries()) {
    for (const [i, id] of mustBeKept(history, operation).entries()) {
      const shown = master.entries[id - 1];
      if (shown?.message !== operation.messages[i]) {
        report(
          'no-lost-acknowledgements',
          `append ${index} was ${answeredAs(operation)} at id ${id} ("${operation.messages[i] ?? ''}"), but the master last showed ${shown === undefined ? 'nothing' : `"${shown.message}"`} there`,
          [index],
        );
      }
    }
  }
}

function checkMonotonicReads(observations: readonly LogObservation[], report: Report): void {
  const previous = new Map<string, LogObservation>();
  for (const observation of observations) {
    const before = previous.get(observation.node);
    if (
      before !== undefined &&
      observation.afterVolatileRestart !== true &&
      observation.afterRestart !== true &&
      observation.entries.length < before.entries.length
    ) {
      report(
        'monotonic-reads',
        `${observation.node} showed ${before.entries.length} entries at ${before.at}, then ${observation.entries.length} at ${observation.at}`,
      );
    }
    previous.set(observation.node, observation);
  }
}

function checkConvergence(
  history: History,
  observations: readonly LogObservation[],
  report: Report,
): void {
  const last = lastObservations(observations);
  const master = last.get(history.master);
  if (master === undefined) {
    report('convergence', `the master ${history.master} was never observed`);
    return;
  }
  const reference = JSON.stringify(master.entries);
  for (const node of history.nodes) {
    const observation = last.get(node);
    if (observation === undefined) report('convergence', `${node} was never observed`);
    else if (JSON.stringify(observation.entries) !== reference) {
      report(
        'convergence',
        `after healing ${node} showed ${observation.entries.length} entries, the master ${master.entries.length}, or they differ`,
      );
    }
  }
  // After healing, every entry that must be kept is on every node.
  for (const [index, operation] of history.appends.entries()) {
    for (const id of mustBeKept(history, operation)) {
      for (const node of history.nodes) {
        if ((last.get(node)?.entries.length ?? 0) < id) {
          report(
            'no-lost-acknowledgements',
            `after healing ${node} lacks id ${id} of append ${index}, ${answeredAs(operation)}`,
            [index],
          );
        }
      }
    }
  }
}

function lastObservations(observations: readonly LogObservation[]): Map<string, LogObservation> {
  const last = new Map<string, LogObservation>();
  for (const observation of observations) last.set(observation.node, observation);
  return last;
}
