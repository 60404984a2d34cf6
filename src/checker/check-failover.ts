import type {
  AppendOperation,
  FailoverRecord,
  GuaranteeName,
  LogObservation,
  LoggedEntry,
} from './history.js';

type Report = (guarantee: GuaranteeName, message: string, operations?: readonly number[]) => void;

/** The number of nodes that is a majority of `clusterSize`. */
export function majorityOf(clusterSize: number): number {
  return Math.floor(clusterSize / 2) + 1;
}

/** True when the append was acknowledged with a `w` of at least a majority (F1 applies). */
export function majorityAcknowledged(operation: AppendOperation, clusterSize: number): boolean {
  return operation.outcome.kind === 'ok' && operation.outcome.w >= majorityOf(clusterSize);
}

/** The longest final log: with prefix agreement (F5), every other one is a prefix of it. */
export function referenceLog(failover: FailoverRecord): readonly LoggedEntry[] {
  let longest: readonly LoggedEntry[] = [];
  for (const entries of Object.values(failover.finalLogs)) {
    if (entries.length > longest.length) longest = entries;
  }
  return longest;
}

/**
 * Messages of appends answered with ids (acknowledged, or stored: 504) that no final log holds:
 * with failover such an entry may have been discarded by a node that lost the master role (F3),
 * and its id given to another entry since.
 */
export function lostMessages(
  appends: readonly AppendOperation[],
  failover: FailoverRecord,
): Set<string> {
  const held = new Set(referenceLog(failover).map((entry) => entry.message));
  const lost = new Set<string>();
  for (const operation of appends) {
    const kind = operation.outcome.kind;
    if (kind !== 'ok' && kind !== 'stored') continue;
    for (const message of operation.messages) if (!held.has(message)) lost.add(message);
  }
  return lost;
}

/** F1, F3, F4, F5 and duplicates in the final logs; `healed`: the logs must be equal. */
export function checkFailover(
  appends: readonly AppendOperation[],
  observations: readonly LogObservation[],
  failover: FailoverRecord,
  healed: boolean,
  report: Report,
): void {
  checkFinalLogs(failover, healed, report);
  checkDuplicates(appends, failover, report);
  checkMajorityKept(appends, failover, report);
  checkLossesListed(appends, failover, report);
  checkAnsweredIds(appends, failover, report);
  checkReadsKept(observations, failover, report);
}

/** F5: each final log is 1..n; of two logs one is a prefix of the other; equal once healed. */
function checkFinalLogs(failover: FailoverRecord, healed: boolean, report: Report): void {
  const reference = referenceLog(failover);
  for (const [node, entries] of Object.entries(failover.finalLogs)) {
    const gap = entries.findIndex((entry, position) => entry.id !== position + 1);
    if (gap !== -1) {
      report(
        'dense-agreeing-logs',
        `${node}'s final log has id ${entries[gap]!.id} at position ${gap + 1}: not dense 1..${entries.length}`,
      );
      continue;
    }
    const differs = entries.findIndex((entry, i) => entry.message !== reference[i]?.message);
    if (differs !== -1) {
      report(
        'dense-agreeing-logs',
        `${node}'s final log has "${entries[differs]!.message}" at id ${differs + 1}, the longest final log "${reference[differs]?.message ?? ''}": neither is a prefix of the other`,
      );
    } else if (healed && entries.length !== reference.length) {
      report(
        'dense-agreeing-logs',
        `after healing ${node}'s final log has ${entries.length} entries, the longest ${reference.length}`,
      );
    }
  }
}

/** No message twice in one final log: so no idempotency key (one per logical append) twice. */
function checkDuplicates(
  appends: readonly AppendOperation[],
  failover: FailoverRecord,
  report: Report,
): void {
  const operationOf = new Map<string, number>();
  for (const [index, operation] of appends.entries()) {
    for (const message of operation.messages) operationOf.set(message, index);
  }
  for (const [node, entries] of Object.entries(failover.finalLogs)) {
    const firstId = new Map<string, number>();
    for (const entry of entries) {
      const first = firstId.get(entry.message);
      if (first === undefined) {
        firstId.set(entry.message, entry.id);
        continue;
      }
      const operation = operationOf.get(entry.message);
      const key = operation === undefined ? undefined : appends[operation]!.idempotencyKey;
      report(
        'no-duplicates',
        `${node}'s final log holds "${entry.message}" at ids ${first} and ${entry.id}${key === undefined ? '' : ` (idempotency key "${key}")`}`,
        operation === undefined ? [] : [operation],
      );
    }
  }
}

/** F1: every majority-acknowledged append is at its ids in every node's final log. */
function checkMajorityKept(
  appends: readonly AppendOperation[],
  failover: FailoverRecord,
  report: Report,
): void {
  for (const [index, operation] of appends.entries()) {
    const outcome = operation.outcome;
    if (outcome.kind !== 'ok' || !majorityAcknowledged(operation, failover.clusterSize)) continue;
    for (const [node, entries] of Object.entries(failover.finalLogs)) {
      for (const [i, id] of outcome.ids.entries()) {
        const shown = entries[id - 1];
        if (shown?.message === operation.messages[i]) continue;
        report(
          'majority-writes-survive',
          `append ${index} was acknowledged with w=${outcome.w} of ${failover.clusterSize} at id ${id} ("${operation.messages[i] ?? ''}"), but ${node}'s final log has ${shown === undefined ? 'nothing' : `"${shown.message}"`} there`,
          [index],
        );
      }
    }
  }
}

/** F3: an entry answered with an id and held by no final log is listed at some node's rollbacks. */
function checkLossesListed(
  appends: readonly AppendOperation[],
  failover: FailoverRecord,
  report: Report,
): void {
  const lost = lostMessages(appends, failover);
  const listed = new Set(failover.rolledBack.map((entry) => entry.message));
  for (const [index, operation] of appends.entries()) {
    const outcome = operation.outcome;
    if (outcome.kind !== 'ok' && outcome.kind !== 'stored') continue;
    if (majorityAcknowledged(operation, failover.clusterSize)) continue; // F1's to report
    for (const [i, message] of operation.messages.entries()) {
      if (!lost.has(message) || listed.has(message)) continue;
      report(
        'minority-losses-in-the-open',
        `append ${index} was ${outcome.kind === 'ok' ? 'acknowledged' : 'stored (504)'} with w=${outcome.w} at id ${outcome.ids[i] ?? '?'} ("${message}"), is in no final log, and no node lists it at GET /admin/rollbacks`,
        [index],
      );
    }
  }
}

/** An answered entry that survived is at the id its answer gave (a lost one may have lost it). */
function checkAnsweredIds(
  appends: readonly AppendOperation[],
  failover: FailoverRecord,
  report: Report,
): void {
  const idOf = new Map<string, number>();
  for (const entry of referenceLog(failover))
    if (!idOf.has(entry.message)) idOf.set(entry.message, entry.id);
  for (const [index, operation] of appends.entries()) {
    const outcome = operation.outcome;
    if (outcome.kind !== 'ok' && outcome.kind !== 'stored') continue;
    for (const [i, id] of outcome.ids.entries()) {
      const kept = idOf.get(operation.messages[i] ?? '');
      if (kept === undefined || kept === id) continue;
      report(
        'agreement',
        `append ${index} was answered with id ${id} for "${operation.messages[i] ?? ''}", but the final log has it at id ${kept}`,
        [index],
      );
    }
  }
}

/** F4: every entry a read showed is at that id in the final logs. */
function checkReadsKept(
  observations: readonly LogObservation[],
  failover: FailoverRecord,
  report: Report,
): void {
  const reference = referenceLog(failover);
  const reported = new Set<number>();
  for (const observation of observations) {
    for (const entry of observation.entries) {
      const kept = reference[entry.id - 1];
      if (kept?.message === entry.message || reported.has(entry.id)) continue;
      reported.add(entry.id);
      report(
        'reads-never-undone',
        `${observation.node} showed "${entry.message}" at id ${entry.id} at ${observation.at}, but the final log has ${kept === undefined ? 'nothing' : `"${kept.message}"`} there`,
      );
    }
  }
}
