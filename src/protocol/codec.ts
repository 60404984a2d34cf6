import type { Entry } from '../core/entry.js';
import type { FailoverStamp, ReplicateBatch } from '../core/replica-log.js';
import { plainMessageJson, type MessageJson } from './entry-json.js';
import type { ReplicateBody } from './messages.js';
import { isWellFormed } from './well-formed.js';

/**
 * The replication batch on the wire (see `ReplicateBody`): the master encodes, the secondary's
 * endpoint decodes, both with this one definition.
 */
export function encodeReplicateBody(
  logId: string,
  epoch: number,
  entries: readonly Entry[],
  messageJson: MessageJson = plainMessageJson,
  failover?: FailoverStamp,
): string {
  const first = entries[0];
  let epochs = '';
  let messages = '';
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    if (index > 0) {
      epochs += ',';
      messages += ',';
    }
    epochs += String(entry.epoch);
    messages += messageJson(entry);
  }
  // An empty batch (a probe) still names where it would start; any id >= 1 does.
  const fromId = first?.id ?? 1;
  const stamp =
    failover === undefined
      ? ''
      : `,"from":${JSON.stringify(failover.from)},"commitId":${failover.commitId},"startId":${failover.startId}${failover.url === undefined ? '' : `,"url":${JSON.stringify(failover.url)}`}${failover.keys === undefined || failover.keys.length === 0 ? '' : `,"keys":${JSON.stringify(failover.keys)}`}`;
  return `{"logId":${JSON.stringify(logId)},"epoch":${epoch},"fromId":${fromId},"epochs":[${epochs}],"messages":[${messages}]${stamp}}`;
}

/** The batch a decoded body stands for, or why it is not one (arrays of different lengths). */
export function decodeReplicateBody(
  body: ReplicateBody,
):
  | { readonly ok: true; readonly batch: ReplicateBatch }
  | { readonly ok: false; readonly error: string } {
  const count = body.messages.length;
  if (body.epochs.length !== count) {
    return {
      ok: false,
      error: `replication batch has ${count} messages but ${body.epochs.length} epochs`,
    };
  }
  if (count > 0 && body.fromId > Number.MAX_SAFE_INTEGER - (count - 1)) {
    return { ok: false, error: 'replication batch ids run past the largest safe integer' };
  }
  const entries: Entry[] = new Array<Entry>(count);
  for (let index = 0; index < count; index++) {
    if (!isWellFormed(body.messages[index]!)) {
      return {
        ok: false,
        error: `message of entry ${body.fromId + index} is not well-formed UTF-16`,
      };
    }
    entries[index] = {
      id: body.fromId + index,
      epoch: body.epochs[index]!,
      message: body.messages[index]!,
    };
  }
  const failover = failoverStamp(body);
  const batch = { logId: body.logId, epoch: body.epoch, entries };
  return { ok: true, batch: failover === undefined ? batch : { ...batch, failover } };
}

/** The failover fields of a replication body or heartbeat, when the sender set them. */
export function failoverStamp(body: {
  readonly from?: string;
  readonly commitId?: number;
  readonly startId?: number;
  readonly url?: string;
  readonly keys?: readonly (readonly [string, number, number])[];
}): FailoverStamp | undefined {
  if (body.from === undefined) return undefined;
  const stamp = {
    from: body.from,
    commitId: body.commitId ?? 0,
    startId: body.startId ?? 0,
    ...(body.url === undefined ? {} : { url: body.url }),
  };
  return body.keys === undefined ? stamp : { ...stamp, keys: body.keys };
}
