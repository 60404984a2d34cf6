/**
 * What `npm run bench` can measure: our scenarios (on the fixed master, and on a failover
 * cluster), the no-op baselines and the anchors (Redis, etcd), each with the body it sends.
 */
import { etcdPutBody } from './anchors/etcd.js';

export const MESSAGE_BYTES = 100;
export const BATCH_SIZE = 100;
/** Every request carries this message (100 bytes): our nodes', the no-op's and the anchors'. */
export const MESSAGE = `bench ${'x'.repeat(MESSAGE_BYTES - 6)}`;

export type WriteConcern = number | 'all' | 'majority';

/** Which server a run measures. */
export type ServerKind = 'noop' | 'cluster' | 'failover' | 'redis' | 'etcd';

export interface Scenario {
  readonly id: string;
  readonly label: string;
  readonly server: ServerKind;
  /** Our write concern; for an anchor, the nearest equivalent (recorded, not sent). */
  readonly w: WriteConcern;
  readonly messagesPerRequest: number;
  /** Our nodes fsync every append (FSYNC=always); a failover cluster otherwise has FSYNC=never. */
  readonly fsync?: true;
  /** Redis: the replica count each XADD waits for (`WAIT n 0`). */
  readonly redisReplicas?: 0 | 2;
}

/** Our scenarios on the fixed master (the course's cluster: one master, two secondaries). */
const FIXED: readonly Scenario[] = [
  { id: 'w1', label: 'w=1', server: 'cluster', w: 1, messagesPerRequest: 1 },
  { id: 'w2', label: 'w=2', server: 'cluster', w: 2, messagesPerRequest: 1 },
  { id: 'wall', label: 'w=all', server: 'cluster', w: 'all', messagesPerRequest: 1 },
  // w=3 is every node of this 3-node cluster, as w=all; written as a number as the issue does.
  {
    id: 'batch',
    label: `batch ${BATCH_SIZE} w=3`,
    server: 'cluster',
    w: 3,
    messagesPerRequest: BATCH_SIZE,
  },
  {
    id: 'wall-fsync',
    label: 'w=all fsync',
    server: 'cluster',
    w: 'all',
    messagesPerRequest: 1,
    fsync: true,
  },
];

/**
 * The same on a failover cluster (what `npm start` runs). A failover node needs a DATA_DIR, so
 * none is in memory: the rows that are in memory on the fixed master write to disk without
 * fsync here (FSYNC=never), and say so.
 */
const FAILOVER: readonly Scenario[] = FIXED.map((scenario) => ({
  ...scenario,
  id: `fo-${scenario.id}`,
  label: `fo ${scenario.label}${scenario.fsync === true ? '' : ' nofsync'}`,
  server: 'failover',
}));

export const ANCHORS: readonly Scenario[] = [
  {
    id: 'redis-wait2',
    label: 'redis WAIT 2',
    server: 'redis',
    w: 'all',
    messagesPerRequest: 1,
    redisReplicas: 2,
  },
  {
    id: 'redis-wait0',
    label: 'redis WAIT 0',
    server: 'redis',
    w: 1,
    messagesPerRequest: 1,
    redisReplicas: 0,
  },
  { id: 'etcd', label: 'etcd put', server: 'etcd', w: 'majority', messagesPerRequest: 1 },
];

export const SCENARIOS: readonly Scenario[] = [...FIXED, ...FAILOVER, ...ANCHORS];

/** The ids of our scenarios, without the mode: what --scenarios takes. */
export const OUR_IDS = FIXED.map((scenario) => scenario.id);

/** The baselines: the same bodies as the scenarios, sent to the no-op server. */
export const NOOP: Scenario = {
  id: 'noop',
  label: 'no-op',
  server: 'noop',
  w: 1,
  messagesPerRequest: 1,
};
export const NOOP_BATCH: Scenario = {
  id: 'noop-batch',
  label: `no-op batch ${BATCH_SIZE}`,
  server: 'noop',
  w: 3,
  messagesPerRequest: BATCH_SIZE,
};

export function scenarioById(id: string): Scenario | undefined {
  return [...SCENARIOS, NOOP, NOOP_BATCH].find((scenario) => scenario.id === id);
}

/** The HTTP body of a scenario's every request (Redis encodes its own); built once per run. */
export function requestBody(scenario: Scenario): string {
  if (scenario.server === 'etcd') return etcdPutBody(MESSAGE);
  const body =
    scenario.messagesPerRequest === 1
      ? { message: MESSAGE, w: scenario.w }
      : {
          messages: Array.from({ length: scenario.messagesPerRequest }, () => MESSAGE),
          w: scenario.w,
        };
  return JSON.stringify(body);
}
