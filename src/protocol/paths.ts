/**
 * The paths nodes call on each other. `/internal/*` is replication, master to secondary, and is
 * not part of the public contract; `/admin/faults` is public too, and the master's dashboard
 * forwards fault changes to it.
 */

/** Every internal path starts with this: such requests get the internal body limit. */
export const INTERNAL_PATH_PREFIX = '/internal/';

/** A batch of entries (`ReplicateBody`), answered with `ReplicaReplyBody`. */
export const REPLICATE_PATH = '/internal/replicate';

/** A probe (`HeartbeatBody`), answered with `ReplicaReplyBody`. */
export const HEARTBEAT_PATH = '/internal/heartbeat';

/** A candidate's vote or pre-vote request (`VoteRequestBody`), answered with `VoteAnswerBody`. */
export const VOTE_PATH = '/internal/vote';

/** A follower asks the master where its log ends for an epoch (`EpochEndRequestBody`). */
export const EPOCH_END_PATH = '/internal/epoch-end';

/** A secondary's fault injection: `GET` reads it, `PUT` changes it (`FaultsBody`). */
export const FAULTS_PATH = '/admin/faults';

/** A failover node with fault injection on ends its own process at once (kill -9). */
export const KILL_PATH = '/admin/kill';

/** A failover node with fault injection on freezes for a while (SIGSTOP, then SIGCONT). */
export const STOP_PATH = '/admin/stop';
