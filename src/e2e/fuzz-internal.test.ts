/**
 * Property-based fuzzing of the secondaries' internal endpoints, `POST /internal/replicate` and
 * `POST /internal/heartbeat` (docs/API.md "Internal endpoints"), on a real cluster that has a
 * CLUSTER_TOKEN: random bodies and tokens, batches of another log, stale or future epochs, ids out
 * of range, arrays of different lengths, numbers of every kind, lone surrogates, deep nesting,
 * invalid JSON, empty bodies, bodies declared above the limit, and replays of held entries with
 * other messages; and the same at the master, which has no internal endpoints. Whatever is refused
 * must be refused with a documented status and the envelope, and must change nothing: the node's
 * log and /health stay exactly as they were. At the end the master still replicates to both
 * secondaries.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { encodeReplicateFrame, REPLICATE_FRAME_TYPE } from '../protocol/frame.js';
import { annotated, Cluster, request, type BatchBody, type LogEntry, waitFor } from './harness.js';
import {
  anyText,
  AppendLedger,
  asReceived,
  assertClusterSound,
  assertDocumentedError,
  assertNodesUp,
  checkProperty,
  describeAnswer,
  exchange,
  fetchAcceptsHeader,
  hasLoneSurrogate,
  headerValueArb,
  INTERNAL_ERRORS,
  isBlank,
  isPlainObject,
  junkBodyArb,
  mediaTypes,
  nestedJson,
  normalizedHeaderValue,
  rawExchange,
  trickyTexts,
} from './fuzz-arbitraries.js';

const TOKEN = 'fuzz-cluster-token';
const AUTHORIZATION = `Bearer ${TOKEN}`;

/** The token, after the scheme "Bearer" in any case (RFC 9110) and one space. */
function isAuthorization(presented: string | undefined): boolean {
  return (
    presented !== undefined &&
    presented.slice(0, 7).toLowerCase() === 'bearer ' &&
    presented.slice(7) === TOKEN
  );
}
/** Entries a secondary holds back behind a gap; ids further ahead are dropped (and resent later). */
const MAX_PENDING_ENTRIES = 1000;
/** The replication endpoint's own body limit (src/protocol/limits.ts, INTERNAL_BODY_LIMIT_BYTES). */
const INTERNAL_BODY_LIMIT = 256 * 1024 * 1024;
const REPLICATE = '/internal/replicate';
const HEARTBEAT = '/internal/heartbeat';

/**
 * What must not change in a node: its identity, its (gap-free) log, what it holds back (a
 * secondary's `pending`; the master has none).
 */
interface Snapshot {
  readonly logId: string | null;
  readonly epoch: number | null;
  readonly lastId: number;
  readonly pending: number | undefined;
  readonly log: readonly LogEntry[];
}

/** The fields of a node's /health (master or secondary) that a snapshot keeps. */
interface IdentityHealth {
  readonly logId: string | null;
  readonly epoch: number | null;
  readonly log: { readonly lastId: number; readonly pending?: number };
}

let cluster: Cluster;
const ledger = new AppendLedger();
/** Each node's state before the fuzzing, by name. */
const baseline = new Map<string, Snapshot>();

async function snapshot(name: string): Promise<Snapshot> {
  const node = cluster.node(name);
  const health = await request<IdentityHealth>(`${node.url}/health`, { timeoutMs: 5000 });
  assert.equal(health.status, 200, `${name} /health`);
  const { logId, epoch, log } = health.body;
  return { logId, epoch, lastId: log.lastId, pending: log.pending, log: await cluster.logs(node) };
}

async function assertUnchanged(name: string, context: string): Promise<void> {
  assert.deepEqual(await snapshot(name), baseline.get(name), `${context}: ${name} changed`);
}

before(async () => {
  cluster = await Cluster.start({
    token: TOKEN,
    secondaries: 2,
    secondaryEnv: { MAX_PENDING_ENTRIES: String(MAX_PENDING_ENTRIES) },
  });
  // Secondaries that hold entries: an empty one may join any log, so a batch of another log is
  // refused only by a secondary that already holds some.
  const messages = trickyTexts.filter((text) => text !== '' && !hasLoneSurrogate(text));
  const answer = await cluster.append<BatchBody>({ messages, w: 3 }, { timeoutMs: 10_000 });
  assert.equal(answer.status, 201, answer.text);
  ledger.record(answer, { messages, key: undefined, w: 3, batch: true, context: 'seed batch' });
  await cluster.converged(messages.length);
  for (const node of cluster.nodes) baseline.set(node.name, await snapshot(node.name));
});

after(async () => {
  // Unset when the start failed (Cluster.start has stopped its processes then).
  await (cluster as Cluster | undefined)?.stop();
});

// ---------------------------------------------------------------------------------------------
// The requests and the oracle

interface InternalSpec {
  readonly target: string;
  readonly method: string;
  readonly path: string;
  /** The Authorization header as sent (fetch trims it); undefined: none. */
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

type Expectation =
  /** One of these statuses; an error with `code` when one is named. */
  | { readonly statuses: readonly number[]; readonly code?: string }
  /** A batch that would rightly change the secondary (new entries, a newer epoch): not sent. */
  | 'changes-state';

function isInteger(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isLogId(value: unknown): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= 64;
}

/**
 * The answer the internal endpoint owes this request, from the protocol in the README. The
 * master has no internal endpoints: there every path is an unknown one.
 */
function expectInternal(spec: InternalSpec, state: Snapshot): Expectation {
  const route = spec.path.split('?')[0];
  let body: unknown;
  let jsonOrBlank = true;
  try {
    body = JSON.parse(asReceived(spec.body));
  } catch {
    jsonOrBlank = isBlank(asReceived(spec.body));
  }
  if (spec.target === cluster.master.name || (route !== REPLICATE && route !== HEARTBEAT)) {
    // Other paths go to the public API, which reads a body before it finds no route for it.
    const takesBody = spec.method !== 'GET' && spec.method !== 'HEAD';
    return { statuses: takesBody && !jsonOrBlank ? [400, 404] : [404] };
  }
  if (spec.method !== 'POST') return { statuses: [404], code: 'NOT_FOUND' };
  const presented =
    spec.authorization === undefined ? undefined : normalizedHeaderValue(spec.authorization);
  if (!isAuthorization(presented)) return { statuses: [401], code: 'UNAUTHORIZED' };
  const invalid = { statuses: [400], code: 'INVALID_REQUEST' };
  if (body === undefined) return invalid;
  if (!isPlainObject(body) || !isLogId(body['logId']) || !isInteger(body['epoch'], 1, Infinity))
    return invalid;
  if (route === HEARTBEAT)
    return isInteger(body['lastId'], 0, Infinity) ? { statuses: [200] } : invalid;
  const { fromId, epochs, messages } = body;
  if (
    !isInteger(fromId, 1) ||
    !Array.isArray(epochs) ||
    epochs.length > 100_000 ||
    !epochs.every((epoch) => isInteger(epoch, 1, 0xffff_ffff)) ||
    !Array.isArray(messages) ||
    messages.length > 100_000 ||
    !messages.every((message) => typeof message === 'string')
  ) {
    return invalid;
  }
  const texts: string[] = messages;
  const first = fromId as number;
  if (
    epochs.length !== texts.length ||
    // Written so that no sum passes 2^53, where doubles round.
    (texts.length > 0 && first > Number.MAX_SAFE_INTEGER - (texts.length - 1)) ||
    texts.some(hasLoneSurrogate)
  ) {
    return invalid;
  }
  if (body['logId'] !== state.logId) return { statuses: [409], code: 'LOG_ID_MISMATCH' };
  if ((body['epoch'] as number) < (state.epoch ?? 0))
    return { statuses: [409], code: 'STALE_EPOCH' };
  const conflict = texts.some((text, index) => {
    const held = state.log[first + index - 1];
    return first + index <= state.lastId && held !== undefined && held.message !== text;
  });
  if (conflict) return { statuses: [409], code: 'ENTRY_CONFLICT' };
  const harmless =
    body['epoch'] === state.epoch &&
    texts.every(
      (_, index) =>
        first + index <= state.lastId || first + index > state.lastId + MAX_PENDING_ENTRIES,
    );
  return harmless ? { statuses: [200] } : 'changes-state';
}

/** `POST /internal/replicate` with the right token and `body`. */
function replicateWithToken(target: string, body: string): InternalSpec {
  return {
    target,
    method: 'POST',
    path: REPLICATE,
    authorization: AUTHORIZATION,
    contentType: 'application/json',
    body,
  };
}

/**
 * Sends one request and checks the answer against the oracle (which must give `meant`, when the
 * property means a particular answer), then that the node is as it was.
 */
async function sendInternal(spec: InternalSpec, meant?: Expectation): Promise<void> {
  const state = baseline.get(spec.target)!;
  const expected = expectInternal(spec, state);
  if (meant !== undefined)
    assert.deepEqual(expected, meant, 'the oracle disagrees with the property');
  // A batch the secondary may rightly apply is not an attack; the properties only send the rest.
  fc.pre(expected !== 'changes-state');
  const node = cluster.node(spec.target);
  const headers: [string, string][] = [];
  if (spec.authorization !== undefined) headers.push(['authorization', spec.authorization]);
  if (spec.contentType !== undefined) headers.push(['content-type', spec.contentType]);
  const methodTakesBody = spec.method !== 'GET' && spec.method !== 'HEAD';
  const answer = await exchange(`${node.url}${spec.path}`, {
    method: spec.method,
    headers,
    ...(methodTakesBody ? { body: spec.body } : {}),
  });
  const context = `${spec.method} ${spec.target}${spec.path} auth=${JSON.stringify(spec.authorization)} ${JSON.stringify(spec.body.slice(0, 300))}`;
  assert.ok(
    expected.statuses.includes(answer.status),
    `${context}: answered ${describeAnswer(answer)}; expected ${expected.statuses.join(' or ')}`,
  );
  if (answer.status === 200) {
    const reply = answer.body;
    assert.ok(
      isPlainObject(reply) &&
        reply['logId'] === state.logId &&
        reply['hwm'] === state.lastId &&
        reply['pending'] === state.pending &&
        typeof reply['incarnation'] === 'string',
      `${context}: reply ${describeAnswer(answer)}`,
    );
  } else {
    assertDocumentedError(answer, INTERNAL_ERRORS, context, new Set(expected.statuses));
    if (expected.code !== undefined) {
      const { error } = answer.body as { error: { code: string } };
      assert.equal(error.code, expected.code, `${context}: answered ${describeAnswer(answer)}`);
    }
  }
  await assertUnchanged(spec.target, context);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries, built once the cluster's log identity and entries are known

/**
 * A placeholder for a deeply nested value, replaced in the JSON text: JSON.stringify would
 * overflow on the value itself.
 */
const DEEP = '__deep__';

function authorizationArb(): fc.Arbitrary<string | undefined> {
  return fc
    .oneof(
      { weight: 6, arbitrary: fc.constant(AUTHORIZATION) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '',
          'Bearer',
          'Bearer ',
          `bearer ${TOKEN}`,
          `Bearer  ${TOKEN}`,
          `Bearer ${TOKEN}x`,
          `Bearer ${TOKEN.slice(0, -1)}`,
          `Bearer ${TOKEN.toUpperCase()}`,
          `${AUTHORIZATION} `,
          TOKEN,
          `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
          `${AUTHORIZATION}, ${AUTHORIZATION}`,
        ),
      },
      { weight: 1, arbitrary: headerValueArb(40) },
    )
    .filter((value) => value === undefined || fetchAcceptsHeader('authorization', value));
}

/** Batches near the valid shape: each field mostly right, sometimes anything. */
function batchBodyArb(state: Snapshot): fc.Arbitrary<string> {
  const logId = fc.oneof(
    { weight: 8, arbitrary: fc.constant<unknown>(state.logId) },
    { weight: 2, arbitrary: fc.uuid() },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>('', 'x'.repeat(65), 'x'.repeat(64), 1, null, ['a'], DEEP),
    },
    { weight: 1, arbitrary: anyText(70) },
  );
  const number = fc.constantFrom<unknown>(
    0,
    -1,
    2,
    1.5,
    -0,
    1e300,
    2 ** 32,
    2 ** 53,
    2 ** 64,
    Number.MAX_SAFE_INTEGER,
    '1',
    null,
    true,
    [1],
    DEEP,
  );
  // Each field is valid most of the time, so that most batches reach the log's own checks.
  const epoch = fc.oneof(
    { weight: 16, arbitrary: fc.constant<unknown>(state.epoch) },
    { weight: 1, arbitrary: number },
    { weight: 1, arbitrary: fc.integer() },
  );
  const fromId = fc.oneof(
    { weight: 16, arbitrary: fc.integer({ min: 1, max: state.lastId + 3 }) },
    { weight: 1, arbitrary: number },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Number.MAX_SAFE_INTEGER - 1,
        state.lastId + MAX_PENDING_ENTRIES + 1,
      ),
    },
    { weight: 1, arbitrary: fc.integer() },
  );
  /** One entry: its epoch, and its message as the one held at that id, another, or no string. */
  const entry = fc.record({
    epoch: fc.oneof(
      { weight: 30, arbitrary: fc.constant<unknown>(1) },
      { weight: 1, arbitrary: number },
    ),
    message: fc.oneof(
      { weight: 15, arbitrary: fc.constant({ same: true }) },
      { weight: 8, arbitrary: anyText(20) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>('\ud800', 'a\udc00', 5, null, ['a'], DEEP) },
    ),
  });
  const batch = fc.record(
    {
      logId,
      epoch,
      fromId,
      entries: fc.array(entry, { maxLength: 6 }),
      // Arrays of different lengths: an epoch or a message more or less.
      skew: fc.oneof(
        { weight: 16, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.constantFrom(-1, 1) },
      ),
      extra: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      ),
      // A required field left out.
      drop: fc.oneof(
        { weight: 16, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('logId', 'epoch', 'fromId', 'epochs', 'messages') },
      ),
    },
    { requiredKeys: ['logId', 'epoch', 'fromId', 'entries', 'skew', 'extra', 'drop'] },
  );
  return batch.map(({ logId: id, epoch: batchEpoch, fromId: from, entries, skew, extra, drop }) => {
    const messages = entries.map(({ message }, index) => {
      if (!isPlainObject(message)) return message;
      const held = typeof from === 'number' ? state.log[from + index - 1] : undefined;
      return held?.message ?? `new entry ${index}`;
    });
    const epochs = entries.map((item) => item.epoch);
    if (skew < 0) epochs.pop();
    if (skew > 0) messages.push('one more');
    const fields: Record<string, unknown> = {
      logId: id,
      epoch: batchEpoch,
      fromId: from,
      epochs,
      messages,
      ...(extra === null ? {} : { extra }),
    };
    return JSON.stringify(
      Object.fromEntries(Object.entries(fields).filter(([key]) => key !== drop)),
    );
  });
}

function heartbeatBodyArb(state: Snapshot): fc.Arbitrary<string> {
  return fc
    .record({
      logId: fc.oneof(
        { weight: 4, arbitrary: fc.constant<unknown>(state.logId) },
        { weight: 1, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: fc.constantFrom<unknown>('', 'x'.repeat(65), null, DEEP) },
      ),
      epoch: fc.oneof(
        { weight: 4, arbitrary: fc.constant<unknown>(1) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 7, 1.5, '1', 2 ** 60, DEEP) },
      ),
      lastId: fc.oneof(
        { weight: 4, arbitrary: fc.nat({ max: state.lastId + 5 }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<unknown>(-1, 0.5, 2 ** 60, 1e300, '3', null, DEEP),
        },
      ),
    })
    .map((body) => JSON.stringify(body));
}

/** Replaces the deep placeholder, if any, with `depth` levels of nesting. */
function withDeepValue(body: string, depth: number, kind: 'array' | 'object'): string {
  return body.replace(`"${DEEP}"`, nestedJson(depth, kind));
}

// ---------------------------------------------------------------------------------------------
// Properties

test('internal endpoints: random bodies, tokens, methods and content types are refused (400/401/404/409) in the envelope and change nothing', async () => {
  await annotated(cluster, async () => {
    const names = cluster.secondaries.map((node) => node.name);
    const state = baseline.get(names[0]!)!;
    const specArb: fc.Arbitrary<InternalSpec> = fc
      .record({
        // The master too, which must not take replication from anyone.
        target: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...names) },
          { weight: 1, arbitrary: fc.constant(cluster.master.name) },
        ),
        method: fc.oneof(
          { weight: 12, arbitrary: fc.constant('POST') },
          { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH') },
        ),
        // Mostly the body that belongs to the path, so that most requests get past the schema.
        route: fc.oneof(
          {
            weight: 3,
            arbitrary: fc.record({
              path: fc.constantFrom(REPLICATE, `${REPLICATE}?x=1`),
              body: fc.oneof(
                { weight: 8, arbitrary: batchBodyArb(state) },
                { weight: 1, arbitrary: heartbeatBodyArb(state) },
                { weight: 2, arbitrary: junkBodyArb },
              ),
            }),
          },
          {
            weight: 2,
            arbitrary: fc.record({
              path: fc.constantFrom(HEARTBEAT, `${HEARTBEAT}?`),
              body: fc.oneof(
                { weight: 8, arbitrary: heartbeatBodyArb(state) },
                { weight: 1, arbitrary: batchBodyArb(state) },
                { weight: 2, arbitrary: junkBodyArb },
              ),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({
              path: fc.constantFrom(`${REPLICATE}/`, '/internal/REPLICATE', '/internal/other'),
              body: fc.oneof(batchBodyArb(state), junkBodyArb),
            }),
          },
        ),
        authorization: authorizationArb(),
        contentType: fc.constantFrom(...mediaTypes),
        depth: fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom(4_200, 10_000)),
        kind: fc.constantFrom('array' as const, 'object' as const),
      })
      .map(({ route, depth, kind, ...rest }) => ({
        ...rest,
        path: route.path,
        body: withDeepValue(route.body, depth, kind),
      }));
    await checkProperty(
      'internal requests',
      fc.asyncProperty(specArb, (spec) => sendInternal(spec)),
      400,
    );
    await assertNodesUp(cluster, 'after internal requests');
  });
});

test('a replay of held ids with other messages (the real log id and epoch, the right token) is refused with 409 ENTRY_CONFLICT and changes nothing', async () => {
  await annotated(cluster, async () => {
    const names = cluster.secondaries.map((node) => node.name);
    const state = baseline.get(names[0]!)!;
    const last = state.lastId;
    const replay = fc
      .record({
        target: fc.constantFrom(...names),
        fromId: fc.integer({ min: 1, max: last }),
        count: fc.integer({ min: 1, max: last + 3 }),
        // Which entries get another message (at least one of them is held).
        changed: fc.array(fc.nat({ max: last + 2 }), { minLength: 1, maxLength: 4 }),
        replacement: fc
          .oneof(anyText(20), fc.constantFrom(' ', 'x', `${state.log[0]!.message} `))
          .filter((text) => !hasLoneSurrogate(text)),
        // A newer epoch must not win over the conflict either.
        epoch: fc.oneof(
          { weight: 4, arbitrary: fc.constant(1) },
          { weight: 1, arbitrary: fc.integer({ min: 2, max: 2 ** 31 }) },
        ),
        entryEpoch: fc.integer({ min: 1, max: 0xffff_ffff }),
      })
      .map(({ target, fromId, count, changed, replacement, epoch, entryEpoch }) => {
        const ids = Array.from(
          { length: Math.min(count, last + 3 - fromId) },
          (_, index) => fromId + index,
        );
        const heldChanged = changed
          .map((offset) => fromId + (offset % ids.length))
          .filter((id) => id <= last);
        const messages = ids.map((id) => {
          const held = state.log[id - 1]?.message ?? `beyond ${id}`;
          if (!heldChanged.includes(id)) return held;
          return replacement === held ? `${held}!` : replacement;
        });
        return {
          target,
          body: JSON.stringify({
            logId: state.logId,
            epoch,
            fromId,
            epochs: ids.map(() => entryEpoch),
            messages,
          }),
          changesHeld: heldChanged.length > 0,
        };
      })
      .filter(({ changesHeld }) => changesHeld);
    await checkProperty(
      'conflicting replays',
      fc.asyncProperty(replay, async ({ target, body }) => {
        await sendInternal(replicateWithToken(target, body), {
          statuses: [409],
          code: 'ENTRY_CONFLICT',
        });
      }),
      80,
    );
  });
});

test('an exact replay of held entries (the right token) is answered 200 with the same high-water mark and changes nothing', async () => {
  await annotated(cluster, async () => {
    const names = cluster.secondaries.map((node) => node.name);
    const state = baseline.get(names[0]!)!;
    const replay = fc
      .record({
        target: fc.constantFrom(...names),
        fromId: fc.integer({ min: 1, max: state.lastId }),
        count: fc.integer({ min: 0, max: state.lastId }),
        entryEpoch: fc.integer({ min: 1, max: 0xffff_ffff }),
      })
      .map(({ target, fromId, count, entryEpoch }) => {
        const held = state.log.slice(fromId - 1, fromId - 1 + count);
        return {
          target,
          body: JSON.stringify({
            logId: state.logId,
            epoch: state.epoch,
            fromId,
            epochs: held.map(() => entryEpoch),
            messages: held.map((entry) => entry.message),
          }),
        };
      });
    await checkProperty(
      'exact replays',
      fc.asyncProperty(replay, async ({ target, body }) => {
        await sendInternal(replicateWithToken(target, body), { statuses: [200] });
      }),
      30,
    );
  });
});

/** What a frame mutation does to an exact replay, and the answer it must then get. */
type FrameMutation =
  | { readonly kind: 'none' }
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'cut'; readonly at: number }
  | { readonly kind: 'prefix'; readonly headBytes: number };

/**
 * The answer to a replay of held entries as a frame, mutated: valid, it is 200; a message byte
 * flipped makes it invalid UTF-8 (400) or another message than the held one (409
 * ENTRY_CONFLICT), as the platform's own strict UTF-8 decoder says; cut short or with a wrong
 * head length it is 400. Whatever the answer, nothing changes.
 */
function expectFrame(
  frame: Buffer,
  mutation: FrameMutation,
  messagesAt: number,
): Exclude<Expectation, 'changes-state'> {
  const invalid = { statuses: [400], code: 'INVALID_REQUEST' };
  if (mutation.kind === 'cut' || mutation.kind === 'prefix') return invalid;
  if (mutation.kind === 'none' || mutation.at < messagesAt) return { statuses: [200] };
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(messagesAt));
  } catch {
    return invalid;
  }
  return { statuses: [409], code: 'ENTRY_CONFLICT' };
}

test("replays as frames (the master's encoding), exact, with a message byte flipped, cut short or with a wrong head length: 200, 409 or 400 as the bytes say, and nothing changes", async () => {
  await annotated(cluster, async () => {
    const names = cluster.secondaries.map((node) => node.name);
    const state = baseline.get(names[0]!)!;
    const logId = state.logId;
    assert.ok(logId !== null, 'the secondaries hold a log');
    const replay = fc
      .record({
        target: fc.constantFrom(...names),
        fromId: fc.integer({ min: 1, max: state.lastId }),
        count: fc.integer({ min: 1, max: 20 }),
        pick: fc.nat(),
        xor: fc.integer({ min: 1, max: 255 }),
        kind: fc.constantFrom('none', 'flip', 'cut', 'prefix'),
      })
      .map(({ target, fromId, count, pick, xor, kind }) => {
        const held = state.log.slice(fromId - 1, fromId - 1 + count);
        const entries = held.map((entry) => ({ ...entry, epoch: state.epoch ?? 1 }));
        const frame = encodeReplicateFrame(logId, state.epoch ?? 1, entries);
        const messagesAt = 4 + frame.readUInt32BE(0);
        const messageBytes = frame.length - messagesAt;
        const mutation: FrameMutation =
          kind === 'flip' && messageBytes > 0
            ? { kind, at: messagesAt + (pick % messageBytes), xor }
            : kind === 'cut'
              ? { kind, at: pick % frame.length }
              : kind === 'prefix'
                ? { kind, headBytes: (frame.readUInt32BE(0) + 1 + (pick % 1000)) % 2 ** 32 }
                : { kind: 'none' };
        const sent = Buffer.from(frame);
        if (mutation.kind === 'flip') sent[mutation.at]! ^= mutation.xor;
        if (mutation.kind === 'prefix') sent.writeUInt32BE(mutation.headBytes, 0);
        const body = mutation.kind === 'cut' ? sent.subarray(0, mutation.at) : sent;
        return { target, body, expected: expectFrame(body, mutation, messagesAt), mutation };
      });
    await checkProperty(
      'frames',
      fc.asyncProperty(replay, async ({ target, body, expected, mutation }) => {
        const response = await fetch(`${cluster.node(target).url}${REPLICATE}`, {
          method: 'POST',
          headers: { authorization: AUTHORIZATION, 'content-type': REPLICATE_FRAME_TYPE },
          body,
        });
        const answer = (await response.json()) as { error?: { code?: string } };
        const context = `${JSON.stringify(mutation)} to ${target}: ${response.status} ${JSON.stringify(answer)}`;
        assert.ok(expected.statuses.includes(response.status), context);
        if (expected.code !== undefined) assert.equal(answer.error?.code, expected.code, context);
        await assertUnchanged(target, context);
      }),
      60,
    );
  });
});

test('a body declared above the internal limit: 413 MESSAGE_TOO_LARGE and the connection closed with the token, 401 without; nothing read, nothing changed', async () => {
  await annotated(cluster, async () => {
    const names = cluster.secondaries.map((node) => node.name);
    await checkProperty(
      'declared body over the limit',
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.constantFrom(REPLICATE, HEARTBEAT),
        fc.oneof(
          fc.constant(INTERNAL_BODY_LIMIT + 1),
          fc.integer({ min: INTERNAL_BODY_LIMIT + 1, max: Number.MAX_SAFE_INTEGER }),
        ),
        fc.boolean(),
        async (name, path, declared, withToken) => {
          const head = [
            `POST ${path} HTTP/1.1`,
            'Host: 127.0.0.1',
            'Content-Type: application/json',
            `Content-Length: ${declared}`,
            ...(withToken ? [`Authorization: ${AUTHORIZATION}`] : []),
            '',
            '{"logId":',
          ].join('\r\n');
          const result = await rawExchange(cluster.node(name).port, head, { responses: 1 });
          const context = `${path} on ${name} declaring ${declared} bytes ${withToken ? 'with' : 'without'} the token: ${JSON.stringify(result)}`;
          const answer = result.responses[0];
          assert.ok(answer !== undefined, `${context}: no answer`);
          const body = JSON.parse(answer.body) as { status: string; error: { code: string } };
          assert.equal(body.status, 'error', context);
          if (withToken) {
            assert.equal(answer.status, 413, context);
            assert.equal(body.error.code, 'MESSAGE_TOO_LARGE', context);
            assert.ok(result.closed, `${context}: connection left open`);
          } else {
            assert.equal(answer.status, 401, context);
            assert.equal(body.error.code, 'UNAUTHORIZED', context);
          }
          await assertUnchanged(name, context);
        },
      ),
      20,
    );
  });
});

test('after all this the master still replicates to both secondaries: every node holds exactly the acknowledged entries', async () => {
  await annotated(cluster, async () => {
    for (const sub of cluster.secondaries)
      await assertUnchanged(sub.name, 'before the last appends');
    const messages = ['after the fuzzing', 'still replicated', '\u00e9\ud83d\ude00'];
    const answer = await cluster.append<BatchBody>({ messages, w: 3, timeoutMs: 10_000 });
    assert.equal(answer.status, 201, answer.text);
    ledger.record(answer, { messages, key: undefined, w: 3, batch: true, context: 'last batch' });
    await assertClusterSound(cluster, ledger, 'after the internal fuzzing');
    await waitFor(
      async () =>
        (await cluster.health()).secondaries.every(
          (peer) => peer.status === 'Healthy' && peer.lag === 0,
        ),
      5000,
      'both secondaries Healthy with lag 0',
    );
  });
});
