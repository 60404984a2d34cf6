/**
 * Property-based fuzzing of the public API of a real cluster (issue 7): random and adversarial
 * appends, reads, paths, headers and content types. Every answer must be one docs/API.md documents
 * for that endpoint (never a 500, never a dropped connection), every node must stay up, and after
 * each property every node's log must hold exactly the entries of the appends the master
 * acknowledged.
 *
 * Appends are judged by an oracle written from docs/API.md, not from the code: the set of rules a
 * request breaks gives the statuses it may get (in any order of checking); a request that breaks
 * none must be stored.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { annotated, Cluster, type HttpAnswer, type LogEntry } from './harness.js';
import {
  anyText,
  APPEND_ERRORS,
  AppendLedger,
  asReceived,
  assertClusterSound,
  assertDocumentedError,
  assertEntryArray,
  assertNodesUp,
  checkProperty,
  describeAnswer,
  exchange,
  fetchAcceptsHeader,
  hasLoneSurrogate,
  headerNameArb,
  headerValueArb,
  idempotencyKeyArb,
  isPlainObject,
  junkBodyArb,
  mediaTypes,
  messageArb,
  nestedJson,
  normalizedHeaderValue,
  percentEncode,
  queryWriteConcernArb,
  rawExchange,
  rawPost,
  READ_ERRORS,
  SECONDARY_APPEND_ERRORS,
  timeoutArb,
  trickyTexts,
  utf8Bytes,
  writeConcernArb,
  type SentAppend,
} from './fuzz-arbitraries.js';

const MAX_MESSAGE_BYTES = 200;
const MAX_BODY_BYTES = 32 * 1024;
const MAX_BATCH_COUNT = 4;
const MAX_READ_LIMIT = 7;
const CLUSTER_SIZE = 3;

let cluster: Cluster;
const ledger = new AppendLedger();

before(async () => {
  cluster = await Cluster.start({
    secondaries: CLUSTER_SIZE - 1,
    env: {
      MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      MAX_READ_LIMIT: String(MAX_READ_LIMIT),
    },
    masterEnv: { MAX_BATCH_COUNT: String(MAX_BATCH_COUNT) },
  });
});

after(async () => {
  // Unset when the start failed (Cluster.start has stopped its processes then).
  await (cluster as Cluster | undefined)?.stop();
});

// ---------------------------------------------------------------------------------------------
// Appends: the request, the oracle, the check

interface AppendSpec {
  readonly path: '/logs' | '/messages';
  /** `?w=` values, in order (none, one, or a repeated key). */
  readonly queryW: readonly string[];
  readonly body: string;
  /** The Idempotency-Key header as sent (fetch trims it). */
  readonly key: string | undefined;
  readonly contentType: string | undefined;
  readonly extraHeaders?: readonly (readonly [string, string])[];
  /** Adds a header over node's limit (16 KiB): node itself answers 431. */
  readonly oversizedHeader?: boolean;
}

interface AppendExpectation {
  /** Statuses the request may get: the rules it breaks; empty: it must be stored. */
  readonly errors: ReadonlySet<number>;
  /** Statuses it may also get where the oracle leaves the choice open (a repeated or odd `?w=`). */
  readonly maybe: ReadonlySet<number>;
  /** What an acknowledgement must show, when it may be acknowledged. */
  readonly sent: Omit<SentAppend, 'context'> | undefined;
  readonly timeoutGiven: boolean;
}

const IDEMPOTENCY_KEY = /^[\x20-\x7E]{1,128}$/;

/** The node count a write concern stands for in a cluster of three, or undefined if not allowed. */
function resolveW(w: unknown): number | undefined {
  if (w === 'majority') return 2;
  if (w === 'all') return CLUSTER_SIZE;
  return typeof w === 'number' && Number.isInteger(w) && w >= 1 && w <= CLUSTER_SIZE
    ? w
    : undefined;
}

/** docs/API.md's rules for `POST /logs`, applied to one request. */
function expectAppend(spec: AppendSpec): AppendExpectation {
  const errors = new Set<number>();
  const maybe = new Set<number>();
  const refused = (status: number): AppendExpectation => ({
    errors: new Set([status]),
    maybe,
    sent: undefined,
    timeoutGiven: false,
  });
  if (isCrossSite(spec)) return refused(403);
  if (utf8Bytes(spec.body) > MAX_BODY_BYTES) return refused(413);
  let value: unknown;
  try {
    value = JSON.parse(asReceived(spec.body));
  } catch {
    return refused(400);
  }
  if (!isPlainObject(value)) return refused(400);
  const message = value['message'];
  const messages = value['messages'];
  const timeoutMs = value['timeoutMs'];
  const bodyW = value['w'];
  const isTimeout =
    typeof timeoutMs === 'number' &&
    Number.isInteger(timeoutMs) &&
    timeoutMs >= 0 &&
    timeoutMs <= 2_147_483_647;
  if (
    (message !== undefined && typeof message !== 'string') ||
    (messages !== undefined &&
      (!Array.isArray(messages) ||
        messages.length === 0 ||
        messages.some((item) => typeof item !== 'string'))) ||
    (timeoutMs !== undefined && !isTimeout) ||
    (message !== undefined && messages !== undefined) ||
    (message === undefined && messages === undefined)
  ) {
    return refused(400);
  }
  const list = (messages ?? [message]) as string[];
  if (messages !== undefined && list.length > MAX_BATCH_COUNT) errors.add(413);
  for (const text of list) {
    const bytes = utf8Bytes(text);
    if (bytes === 0 || hasLoneSurrogate(text)) errors.add(400);
    else if (bytes > MAX_MESSAGE_BYTES) errors.add(413);
  }
  const key = spec.key === undefined ? undefined : normalizedHeaderValue(spec.key);
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) errors.add(400);
  // A repeated or very long ?w= beside a w in the body: refusing it is as right as ignoring it
  // (docs/API.md says the body's w wins; the nodes refuse a repeated ?w= with 400).
  const queryW = spec.queryW.length === 1 ? spec.queryW[0] : undefined;
  if (spec.queryW.length > 1 || (queryW !== undefined && queryW.length > 32)) maybe.add(400);
  let w: number | undefined = CLUSTER_SIZE;
  if (bodyW !== undefined) w = resolveW(bodyW);
  else if (spec.queryW.length > 1) w = undefined;
  else if (queryW !== undefined)
    w = resolveW(/^[0-9]{1,6}$/.test(queryW) ? Number(queryW) : queryW);
  if (w === undefined) errors.add(400);
  return {
    errors,
    maybe,
    sent: w === undefined ? undefined : { messages: list, key, w, batch: messages !== undefined },
    timeoutGiven: timeoutMs !== undefined,
  };
}

/**
 * Whether the node must refuse the append as a browser request from another site: an `Origin`
 * (several are joined with ", ") that is not this node, or `Sec-Fetch-Site: cross-site`.
 */
function isCrossSite(spec: AppendSpec): boolean {
  const values = (name: string): string[] =>
    (spec.extraHeaders ?? [])
      .filter(([header]) => header.toLowerCase() === name)
      .map(([, value]) => normalizedHeaderValue(value));
  if (values('sec-fetch-site').join(', ') === 'cross-site') return true;
  const origin = values('origin').join(', ');
  if (origin === '') return false;
  try {
    return new URL(origin).host !== new URL(cluster.master.url).host;
  } catch {
    return true;
  }
}

function appendUrl(spec: AppendSpec): string {
  const query = spec.queryW.map((w) => `w=${percentEncode(w)}`).join('&');
  return `${cluster.master.url}${spec.path}${query === '' ? '' : `?${query}`}`;
}

function appendHeaders(spec: AppendSpec): [string, string][] {
  const headers: [string, string][] = [];
  if (spec.contentType !== undefined) headers.push(['content-type', spec.contentType]);
  if (spec.key !== undefined) headers.push(['idempotency-key', spec.key]);
  for (const [name, value] of spec.extraHeaders ?? []) headers.push([name, value]);
  if (spec.oversizedHeader === true) headers.push(['x-oversized', 'v'.repeat(17_000)]);
  return headers;
}

/**
 * The answer, or undefined for a connection reset of a request with headers over node's limit:
 * node answers those with 431 and closes the connection at once (fastify's default client error
 * handler writes the answer and destroys the socket), so the client now and then sees the reset
 * before the answer. The request was never read, so nothing was stored. Such requests go on a
 * connection of their own (see `ownConnection`), so that the closed one is not reused.
 */
async function tolerateResetOnOversizedHeaders(
  spec: Pick<AppendSpec, 'oversizedHeader'>,
  answer: Promise<HttpAnswer>,
): Promise<HttpAnswer | undefined> {
  try {
    return await answer;
  } catch (error) {
    if (spec.oversizedHeader === true) return undefined;
    throw error;
  }
}

/**
 * Sends appends at the same time, checks each answer against the oracle, and records the
 * acknowledged ones in the ledger.
 */
async function sendAppends(specs: readonly AppendSpec[]): Promise<void> {
  const answers = await Promise.all(
    specs.map((spec) =>
      tolerateResetOnOversizedHeaders(
        spec,
        exchange(appendUrl(spec), {
          method: 'POST',
          body: spec.body,
          headers: appendHeaders(spec),
          ownConnection: spec.oversizedHeader === true,
        }),
      ),
    ),
  );
  const acknowledged: { answer: HttpAnswer; sent: SentAppend }[] = [];
  for (const [index, spec] of specs.entries()) {
    const answer = answers[index];
    if (answer === undefined) continue;
    const expected = expectAppend(spec);
    const context = `POST ${appendUrl(spec)} ${JSON.stringify(spec.body.slice(0, 300))} with ${JSON.stringify(appendHeaders(spec)).slice(0, 300)}`;
    if (answer.status === 200 || answer.status === 201 || answer.status === 504) {
      assert.ok(
        expected.errors.size === 0 && expected.sent !== undefined,
        `${context}: acknowledged (${describeAnswer(answer)}) although it breaks a rule (expected ${[...expected.errors].join('/')})`,
      );
      if (answer.status === 504)
        assert.ok(expected.timeoutGiven, `${context}: 504 without timeoutMs`);
      acknowledged.push({ answer, sent: { ...expected.sent, context } });
      continue;
    }
    // READ_ONLY or OVERLOADED may come first whatever the request: nothing is stored either way.
    const allowed = new Set([...expected.errors, ...expected.maybe, 503]);
    assertDocumentedError(answer, APPEND_ERRORS, context, allowed);
  }
  ledger.recordAll(acknowledged);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries for appends

const message = messageArb(MAX_MESSAGE_BYTES);

const structuredBodyArb: fc.Arbitrary<string> = fc
  .oneof(
    {
      weight: 6,
      arbitrary: fc.record(
        { message, w: writeConcernArb, timeoutMs: timeoutArb },
        { requiredKeys: ['message'] },
      ),
    },
    {
      weight: 3,
      arbitrary: fc.record(
        {
          messages: fc.array(message, { maxLength: MAX_BATCH_COUNT + 2 }),
          w: writeConcernArb,
          timeoutMs: timeoutArb,
        },
        { requiredKeys: ['messages'] },
      ),
    },
    {
      weight: 1,
      arbitrary: fc.record(
        {
          message: fc.oneof(message, fc.jsonValue({ maxDepth: 2 })),
          messages: fc.oneof(fc.array(message), fc.jsonValue({ maxDepth: 2 })),
          w: writeConcernArb,
          timeoutMs: timeoutArb,
          extra: fc.jsonValue({ maxDepth: 3 }),
        },
        { requiredKeys: [] },
      ),
    },
  )
  .map((body) => JSON.stringify(body));

const oversizedBodyArb: fc.Arbitrary<string> = fc
  .integer({ min: 1, max: 4096 })
  .map((over) => JSON.stringify({ message: 'big', w: 1, pad: 'p'.repeat(MAX_BODY_BYTES + over) }));

/** Bodies that once were bugs somewhere: prototype keys, duplicate keys, escapes, numbers. */
const trickyBodies: readonly string[] = [
  '{"__proto__":{"message":"proto"},"w":1}',
  '{"message":"own","__proto__":{"w":99},"w":1}',
  '{"constructor":{"prototype":{"w":1}},"message":"ctor","w":1}',
  '{"message":"dup","message":"duplicate key","w":1}',
  '{"message":"\\u0000\\ud83d\\ude00","w":1}',
  '{"message":"x","w":1.0}',
  '{"message":"x","w":1e0}',
  '{"message":"x","w":2,"timeoutMs":1e3}',
  '{"message":"x","w":-0}',
  '{"message":"x","timeoutMs":-0,"w":1}',
  '{"messages":["a","b"],"w":"majority"}',
  '  {"message":"spaces around","w":1}  ',
  '\ufeff{"message":"bom","w":1}',
];

const appendBodyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: structuredBodyArb },
  { weight: 2, arbitrary: junkBodyArb },
  { weight: 1, arbitrary: oversizedBodyArb },
  { weight: 1, arbitrary: fc.constantFrom(...trickyBodies) },
);

const keyArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: idempotencyKeyArb.filter((key) => fetchAcceptsHeader('idempotency-key', key)),
  },
);

const queryWArb: fc.Arbitrary<readonly string[]> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<readonly string[]>([]) },
  { weight: 2, arbitrary: fc.array(queryWriteConcernArb, { minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.array(queryWriteConcernArb, { minLength: 2, maxLength: 2 }) },
);

const appendSpecArb: fc.Arbitrary<AppendSpec> = fc.record({
  path: fc.constantFrom('/logs' as const, '/messages' as const),
  queryW: queryWArb,
  body: appendBodyArb,
  key: keyArb,
  contentType: fc.constantFrom(...mediaTypes),
});

// ---------------------------------------------------------------------------------------------
// Properties

test('POST /logs on the master: random bodies, w, timeouts, keys and media types get documented answers; exactly the acknowledged appends are stored', async () => {
  await annotated(cluster, async () => {
    await checkProperty(
      'appends on the master',
      fc.asyncProperty(fc.array(appendSpecArb, { minLength: 1, maxLength: 3 }), async (specs) => {
        await sendAppends(specs);
        await assertNodesUp(cluster, 'after appends');
      }),
      200,
    );
    await assertClusterSound(cluster, ledger, 'after the append property');
  });
});

test('POST /logs on a secondary: 421 NOT_MASTER whatever the body (it is not read); nothing stored anywhere', async () => {
  await annotated(cluster, async () => {
    await checkProperty(
      'appends on secondaries',
      fc.asyncProperty(
        fc.constantFrom(...cluster.secondaries.map((node) => node.name)),
        fc.constantFrom('/logs', '/messages'),
        appendBodyArb,
        fc.constantFrom(...mediaTypes),
        async (name, path, body, contentType) => {
          const secondary = cluster.node(name);
          const answer = await exchange(`${secondary.url}${path}`, {
            method: 'POST',
            body,
            headers: contentType === undefined ? [] : [['content-type', contentType]],
          });
          // Answered before the body is read: whatever the body, 421 and the master's URL.
          const expected = 421;
          const context = `POST ${secondary.name}${path} ${JSON.stringify(body.slice(0, 200))}`;
          assertDocumentedError(answer, SECONDARY_APPEND_ERRORS, context, new Set([expected]));
          if (answer.status === 421) {
            assert.equal((answer.body as Record<string, unknown>)['master'], cluster.master.url);
          }
        },
      ),
      80,
    );
    await assertClusterSound(cluster, ledger, 'after appends on secondaries');
  });
});

/** Query values: in and around the log, the edges of the id range, and whatever is not a number. */
const queryValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 40 }).map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '0',
      '007',
      '999999999999999',
      '9007199254740991',
      '9007199254740993',
      '1'.repeat(40),
      '-1',
      '-0',
      '1.5',
      '2.0',
      '1e3',
      '0x10',
      '+1',
      ' 1',
      '1 ',
      '',
      'NaN',
      'Infinity',
      '\u0661\u0662',
      '\uff11',
      'abc',
      '%',
    ),
  },
  { weight: 1, arbitrary: anyText(8) },
);

const queryKeyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('since', 'limit') },
  { weight: 1, arbitrary: fc.constantFrom('Since', 'LIMIT', 'since[]', 'w', 'x', '') },
  { weight: 1, arbitrary: anyText(6) },
);

/** A query parameter as docs/API.md reads it: absent, a non-negative integer, or not one. */
type QueryValue =
  | { readonly kind: 'absent' }
  | { readonly kind: 'integer'; readonly value: number }
  | { readonly kind: 'refused' }
  | { readonly kind: 'either' };

function queryValue(params: URLSearchParams, name: string): QueryValue {
  const values = params.getAll(name);
  const value = values[0];
  if (value === undefined) return { kind: 'absent' };
  // A value that is not a non-negative integer is refused. Ids are at most 2^53, so a longer
  // number may be refused too, and the contract does not cover a repeated key.
  if (values.length > 1 || /^[0-9]{16,}$/.test(value)) return { kind: 'either' };
  if (!/^[0-9]+$/.test(value)) return { kind: 'refused' };
  return { kind: 'integer', value: Number(value) };
}

/**
 * What a read with this query may answer: `slice` exactly, or (without a slice) any consecutive
 * part of the log; `mustRefuse`/`mayRefuse` for 400.
 */
function expectRead(
  query: string,
  log: readonly LogEntry[],
): {
  readonly slice: readonly LogEntry[] | undefined;
  readonly mayRefuse: boolean;
  readonly mustRefuse: boolean;
} {
  const params = new URLSearchParams(query);
  const since = queryValue(params, 'since');
  const limit = queryValue(params, 'limit');
  const kinds = [since.kind, limit.kind];
  if (kinds.includes('refused')) return { slice: undefined, mayRefuse: true, mustRefuse: true };
  if (kinds.includes('either')) return { slice: undefined, mayRefuse: true, mustRefuse: false };
  const from = since.kind === 'integer' ? since.value : 0;
  const count = limit.kind === 'integer' ? Math.min(limit.value, MAX_READ_LIMIT) : log.length;
  return { slice: log.slice(from, from + count), mayRefuse: false, mustRefuse: false };
}

test('GET /logs and /messages with random since/limit on every node: 200 with the right slice or 400 INVALID_REQUEST', async () => {
  await annotated(cluster, async () => {
    const log = await cluster.converged(ledger.lastId);
    const rawQueries = fc.constantFrom(
      'since',
      'since=1&',
      '&&limit=2',
      '=1',
      'limit',
      'since=1&since=2',
      'limit=1&limit=2',
      'since=%31',
      'limit=%2B1',
    );
    const queryArb = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .array(fc.tuple(queryKeyArb, queryValueArb), { maxLength: 4 })
          .map((pairs) =>
            pairs.map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`).join('&'),
          ),
      },
      { weight: 1, arbitrary: rawQueries },
    );
    await checkProperty(
      'read queries',
      fc.asyncProperty(
        fc.constantFrom(...cluster.nodes.map((node) => node.name)),
        fc.constantFrom('/logs', '/messages'),
        queryArb,
        async (name, base, query) => {
          const node = cluster.node(name);
          const url = `${node.url}${base}?${query}`;
          const answer = await exchange(url);
          const expected = expectRead(query, log);
          const context = `GET ${node.name} ${base}?${query}`;
          if (answer.status !== 200) {
            assert.ok(
              expected.mayRefuse,
              `${context}: refused a valid read: ${describeAnswer(answer)}`,
            );
            assertDocumentedError(answer, READ_ERRORS, context, new Set([400]));
            return;
          }
          assert.ok(
            !expected.mustRefuse,
            `${context}: accepted an invalid read: ${describeAnswer(answer)}`,
          );
          const entries = assertEntryArray(answer, context);
          if (expected.slice !== undefined) {
            assert.deepEqual(entries, expected.slice, context);
          } else {
            const first = entries[0]?.id ?? 1;
            assert.deepEqual(entries, log.slice(first - 1, first - 1 + entries.length), context);
          }
        },
      ),
      200,
    );
    await assertClusterSound(cluster, ledger, 'after the read property');
  });
});

/**
 * Whether a path segment reaches the node as it is: fetch resolves `.` and `..` (also written
 * `%2e`), so `/logs/..` would become `/`.
 */
function isPathSegment(segment: string): boolean {
  return !/^(\.|%2e){1,2}$/i.test(segment);
}

const idSegmentArb: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: fc.nat({ max: 40 }).map(String) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '0',
        '00',
        '01',
        '-1',
        '1.0',
        '1e0',
        '\uff11',
        ' 1',
        '9'.repeat(16),
        '9007199254740993',
        'first',
        '%2F',
      ),
    },
    { weight: 1, arbitrary: anyText(8) },
  )
  .filter(isPathSegment);

test('GET /logs/<id>, /messages/<id> and unknown routes or methods: the entry, 404 NOT_FOUND or 400, in the envelope', async () => {
  await annotated(cluster, async () => {
    const log = await cluster.converged(ledger.lastId);
    const entryRead = fc.record({
      kind: fc.constant('entry' as const),
      base: fc.constantFrom('/logs', '/messages'),
      segment: idSegmentArb,
    });
    const unknownRoute = fc.record({
      kind: fc.constant('unknown' as const),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      path: fc.oneof(
        fc
          .array(fc.oneof(fc.webSegment(), anyText(8).map(percentEncode)).filter(isPathSegment), {
            maxLength: 4,
          })
          .map((segments) => `/fz-${segments.join('/')}`),
        fc.constantFrom(
          '/logs/1/x',
          '/logs/1/',
          '/internal',
          '/internal/replicate/x',
          '/admin',
          '/healthz',
          '/Logs',
        ),
      ),
    });
    const wrongMethod = fc.record({
      kind: fc.constant('method' as const),
      method: fc.constantFrom('PUT', 'DELETE', 'PATCH'),
      path: fc.constantFrom('/logs', '/messages', '/logs/1', '/messages/1', '/health', '/metrics'),
    });
    await checkProperty(
      'entry reads and unknown routes',
      fc.asyncProperty(
        fc.constantFrom(...cluster.nodes.map((node) => node.name)),
        fc.oneof(entryRead, unknownRoute, wrongMethod),
        async (name, target) => {
          const node = cluster.node(name);
          if (target.kind === 'entry') {
            const url = `${node.url}${target.base}/${percentEncode(target.segment)}`;
            const answer = await exchange(url);
            const context = `GET ${node.name} ${target.base}/${percentEncode(target.segment)}`;
            if (/^[0-9]{1,15}$/.test(target.segment)) {
              const entry = log[Number(target.segment) - 1];
              if (entry !== undefined) {
                assert.equal(answer.status, 200, `${context}: ${describeAnswer(answer)}`);
                assert.deepEqual(answer.body, entry, context);
              } else {
                assertDocumentedError(answer, READ_ERRORS, context, new Set([404]));
              }
              return;
            }
            assertDocumentedError(answer, READ_ERRORS, context, new Set([400, 404]));
            return;
          }
          const answer = await exchange(`${node.url}${target.path}`, {
            method: target.method,
            ...(target.method === 'GET' || target.method === 'OPTIONS' ? {} : { body: '' }),
          });
          const context = `${target.method} ${node.name} ${target.path}`;
          assertDocumentedError(answer, READ_ERRORS, context, new Set([404]));
        },
      ),
      200,
    );
    await assertClusterSound(cluster, ledger, 'after the route property');
  });
});

test('paths with malformed percent-encoding answer 400 or 404 in the error envelope', async () => {
  await annotated(cluster, async () => {
    await checkProperty(
      'malformed percent-encoding',
      fc.asyncProperty(
        fc.constantFrom(...cluster.nodes.map((node) => node.name)),
        fc.constantFrom('/logs/', '/messages/', '/fz-', '/', '/health/'),
        fc.constantFrom('%', '%z', '%zz', '%G0', '%C0%AF', '%FF', '%E0%80', '%ED%A0%80'),
        fc.string({ unit: 'grapheme-ascii', maxLength: 4 }).map(percentEncode),
        async (name, prefix, bad, tail) => {
          const node = cluster.node(name);
          const path = `${prefix}${bad}${tail}`;
          const answer = await exchange(`${node.url}${path}`);
          assertDocumentedError(
            answer,
            READ_ERRORS,
            `GET ${node.name} ${path}`,
            new Set([400, 404]),
          );
        },
      ),
      30,
    );
    await assertNodesUp(cluster, 'after malformed paths');
  });
});

/** Header names whose meaning is framing or routing, which fetch either refuses or owns. */
const FRAMING_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
  'content-type',
  'idempotency-key',
]);

const extraHeaderArb: fc.Arbitrary<[string, string]> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: headerNameArb },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'accept',
          'accept-encoding',
          'authorization',
          'cookie',
          'range',
          'if-none-match',
          'x-forwarded-for',
          'x-http-method-override',
          'content-encoding',
          'origin',
        ),
      },
    ),
    headerValueArb(60),
  )
  .filter(
    ([name, value]) => !FRAMING_HEADERS.has(name.toLowerCase()) && fetchAcceptsHeader(name, value),
  );

test('random headers, Idempotency-Keys (long, non-ASCII, blank, repeated) on appends and reads: documented answers only', async () => {
  await annotated(cluster, async () => {
    const specArb: fc.Arbitrary<AppendSpec> = fc.record({
      path: fc.constantFrom('/logs' as const, '/messages' as const),
      queryW: fc.constant([]),
      body: fc
        .record(
          { message, w: fc.constantFrom(1, 2, 3, 'majority') },
          { requiredKeys: ['message', 'w'] },
        )
        .map((body) => JSON.stringify(body)),
      key: keyArb,
      contentType: fc.constant('application/json'),
      extraHeaders: fc.array(extraHeaderArb, { maxLength: 4 }),
      oversizedHeader: fc.oneof(
        { weight: 9, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    });
    await checkProperty(
      'headers',
      fc.asyncProperty(
        fc.array(specArb, { minLength: 1, maxLength: 2 }),
        fc.constantFrom(...cluster.nodes.map((node) => node.name)),
        async (specs, name) => {
          const node = cluster.node(name);
          await sendAppends(specs);
          const headers = appendHeaders(specs[0]!).filter(([header]) => header !== 'content-type');
          const read = await tolerateResetOnOversizedHeaders(
            specs[0]!,
            exchange(`${node.url}/logs?limit=2`, {
              headers,
              ownConnection: specs[0]!.oversizedHeader === true,
            }),
          );
          if (read !== undefined && read.status !== 200) {
            assertDocumentedError(
              read,
              READ_ERRORS,
              `GET ${node.name} /logs with ${JSON.stringify(headers).slice(0, 200)}`,
              new Set(),
            );
          }
          await assertNodesUp(cluster, 'after random headers');
        },
      ),
      120,
    );
    await assertClusterSound(cluster, ledger, 'after the header property');
  });
});

test('any Content-Type value: the body is still read as JSON (README: "JSON whatever the content type")', async () => {
  await annotated(cluster, async () => {
    const contentTypeArb = fc
      .oneof(
        fc.constantFrom('foo', 'a', ';', 'application/json, text/plain', 'x/y z', '', ' ', 'json'),
        headerValueArb(24),
      )
      .filter((value) => fetchAcceptsHeader('content-type', value));
    await checkProperty(
      'content types',
      fc.asyncProperty(
        contentTypeArb,
        fc.string({ minLength: 1, maxLength: 20 }),
        async (contentType, text) => {
          await sendAppends([
            {
              path: '/logs',
              queryW: [],
              body: JSON.stringify({ message: text, w: 2 }),
              key: undefined,
              contentType,
            },
          ]);
        },
      ),
      40,
    );
    await assertClusterSound(cluster, ledger, 'after the content-type property');
  });
});

/** Where a deeply nested value goes in an append body, and the body around it. */
const DEEP_FIELDS: Readonly<Record<string, (deep: string) => string>> = {
  root: (deep) => deep,
  message: (deep) => `{"message":${deep},"w":1}`,
  messages: (deep) => `{"messages":${deep},"w":1}`,
  'messages[0]': (deep) => `{"messages":[${deep}],"w":1}`,
  timeoutMs: (deep) => `{"message":"deep timeout","timeoutMs":${deep}}`,
  'an unknown field': (deep) => `{"message":"deep extra","w":1,"extra":${deep}}`,
  w: (deep) => `{"message":"deep w","w":${deep}}`,
};

for (const [field, wrap] of Object.entries(DEEP_FIELDS)) {
  test(`deeply nested JSON (up to 16,000 levels) in ${field} of an append: 400, 413, or stored when the field is not read`, async () => {
    await annotated(cluster, async () => {
      await checkProperty(
        `deep JSON in ${field}`,
        fc.asyncProperty(
          fc.oneof(fc.integer({ min: 1, max: 16_000 }), fc.constantFrom(100, 4_000, 5_000, 10_000)),
          fc.constantFrom('array' as const, 'object' as const),
          async (depth, kind) => {
            await sendAppends([
              {
                path: '/logs',
                queryW: [],
                body: wrap(nestedJson(depth, kind)),
                key: undefined,
                contentType: 'application/json',
              },
            ]);
          },
        ),
        25,
      );
      await assertClusterSound(cluster, ledger, `after deep JSON in ${field}`);
    });
  });
}

test('an Idempotency-Key header sent twice is refused with 400 INVALID_REQUEST, and nothing is stored', async () => {
  await annotated(cluster, async () => {
    const keyPart = fc
      .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 })
      .map((key) => key.trim())
      .filter((key) => key !== '');
    await checkProperty(
      'repeated Idempotency-Key',
      fc.asyncProperty(keyPart, keyPart, fc.nat(), async (first, second, tag) => {
        const body = JSON.stringify({ message: `doubled key ${tag}`, w: 1 });
        const result = await rawExchange(
          cluster.master.port,
          rawPost('/logs', body, [`Idempotency-Key: ${first}`, `Idempotency-Key: ${second}`]),
          { responses: 1 },
        );
        const status = result.responses[0]?.status;
        assert.equal(
          status,
          400,
          `keys ${JSON.stringify([first, second])}: ${JSON.stringify(result.responses[0])}`,
        );
      }),
      20,
    );
    await assertClusterSound(cluster, ledger, 'after doubled keys');
  });
});

test('message texts that have broken JSON or UTF-8 handling before round-trip exactly, on every node', async () => {
  await annotated(cluster, async () => {
    const valid = trickyTexts.filter((text) => text !== '' && !hasLoneSurrogate(text));
    await sendAppends(
      valid.map((text) => ({
        path: '/logs',
        queryW: [],
        body: JSON.stringify({ messages: [text], w: 3 }),
        key: undefined,
        contentType: 'application/json',
      })),
    );
    await assertClusterSound(cluster, ledger, 'after tricky texts');
  });
});
