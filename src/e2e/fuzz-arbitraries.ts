/**
 * Shared pieces of the fuzz and abuse suite (issue 7): the seed and run counts, arbitraries for
 * adversarial inputs, an HTTP exchange that reports every answer (and treats a dropped connection
 * as a failure), a raw TCP exchange for requests no HTTP client would send, the table of
 * documented answers per endpoint, and the ledger that checks the logs against the appends the
 * master acknowledged.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  gapFree,
  HOST,
  request,
  type Cluster,
  type HttpAnswer,
  type LogEntry,
  type NodeProcess,
} from './harness.js';

// ---------------------------------------------------------------------------------------------
// Seeds and run counts

function integerFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer; got "${raw}"`);
  return value;
}

/** One fixed seed for every property, so that a failure replays exactly; FUZZ_SEED overrides it. */
const FUZZ_SEED = integerFromEnv('FUZZ_SEED') ?? 20_261_121;
const FUZZ_RUNS = integerFromEnv('FUZZ_RUNS');

/** The runs of a property: its own default, chosen to keep the suite fast, or FUZZ_RUNS. */
function runsFor(defaultRuns: number): number {
  return FUZZ_RUNS ?? defaultRuns;
}

/**
 * fc.assert with the suite's seed and run count. The failure message starts with the settings to
 * replay it, then fast-check's report (counterexample, seed, path) with the assertion that failed
 * in it (node:test does not print an error's cause).
 */
export async function checkProperty<Ts>(
  name: string,
  property: fc.IAsyncProperty<Ts>,
  defaultRuns: number,
): Promise<void> {
  const numRuns = runsFor(defaultRuns);
  try {
    await fc.assert(property, { seed: FUZZ_SEED, numRuns, includeErrorInReport: true });
  } catch (error) {
    if (error instanceof Error) {
      error.message = `property "${name}" failed with FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${numRuns} (set both to replay)\n${error.message}`;
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Text

const encoder = new TextEncoder();
// The node decodes bodies with Node's UTF-8 decoder, which keeps a leading byte order mark.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/**
 * The text a node reads from a body sent as UTF-8: a lone surrogate has no UTF-8 form, so it
 * travels (and arrives) as U+FFFD. Only escaped in JSON (`"\ud800"`) does it reach the node.
 */
export function asReceived(text: string): string {
  return decoder.decode(encoder.encode(text));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Percent-encodes every byte of the UTF-8 form except RFC 3986's unreserved characters. */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Whether a body is empty or JSON whitespace only, which the nodes read as no body at all. */
export function isBlank(text: string): boolean {
  return /^[ \t\n\r]*$/.test(text);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `depth` nested arrays (`[[[]]]`) or objects (`{"a":{"a":1}}`), as JSON text. */
export function nestedJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Strings fast-check shrinks well, from printable ASCII to any code unit (lone surrogates too). */
export const anyText = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme-ascii', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
      maxLength,
    }),
  );

/** Texts that have caught JSON and UTF-8 handling out before. */
export const trickyTexts: readonly string[] = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  'a\udc00b',
  '\udbff\udfff',
  '\ufeff',
  '\u2028\u2029',
  '"\\/\b\f\n\r\t',
  '</script>',
  '${x}',
  '__proto__',
  '%00',
  '\u00e9\u20ac\ud83d\ude00',
];

/**
 * Messages for appends: mostly valid ones, and some empty, with lone surrogates or around the
 * byte limit (in 1- to 4-byte characters, so that the limit is tested in bytes, not characters).
 */
export function messageArb(maxMessageBytes: number): fc.Arbitrary<string> {
  const nearLimit = fc
    .tuple(
      fc.constantFrom('x', '\u00e9', '\u20ac', '\ud83d\ude00'),
      fc.integer({ min: -2, max: 2 }),
    )
    .map(([char, delta]) => {
      const bytes = utf8Bytes(char);
      return char.repeat(Math.max(0, Math.floor(maxMessageBytes / bytes) + delta));
    });
  return fc.oneof(
    { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }) },
    { weight: 3, arbitrary: anyText(24) },
    { weight: 1, arbitrary: fc.constantFrom(...trickyTexts) },
    { weight: 1, arbitrary: nearLimit },
  );
}

/** A write concern: mostly allowed values, then any JSON. */
export const writeConcernArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(1, 2, 3, 'majority', 'all') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, 4, -1, 1.5, -0, 1e308, '2', 'MAJORITY', '', null, true, [2]),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** `timeoutMs`: small ones that may expire, large ones, and everything that is not allowed. */
export const timeoutArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0, 1, 20, 5000, 2_147_483_647) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(-1, 1.5, '100', null, 2_147_483_648, 1e21, Number.MAX_SAFE_INTEGER),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

/** `?w=` values: allowed ones, near misses and random text. */
export const queryWriteConcernArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('1', '2', '3', 'majority', 'all') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('0', '4', '01', '1.0', '-1', '', ' 2', 'ALL', '9'.repeat(40)),
  },
  { weight: 1, arbitrary: anyText(12) },
);

/** HTTP token characters (RFC 9110), the only ones a header name may have. */
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

export const headerNameArb: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...Array.from(TOKEN_CHARS)),
  minLength: 1,
  maxLength: 24,
});

/** Header values as bytes allow: visible ASCII, spaces, tabs and Latin-1 (obs-text). */
export const headerValueArb = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({
    unit: fc
      .oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.constant(0x09),
        fc.integer({ min: 0x80, max: 0xff }),
      )
      .map((code) => String.fromCharCode(code)),
    maxLength,
  });

/** Whether fetch accepts this header at all; it refuses what HTTP forbids in names and values. */
export function fetchAcceptsHeader(name: string, value: string): boolean {
  try {
    new Headers([[name, value]]);
    return true;
  } catch {
    return false;
  }
}

/**
 * What a node receives for a header value sent with fetch: fetch strips leading and trailing
 * spaces and tabs (the HTTP header value normalization).
 */
export function normalizedHeaderValue(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** Idempotency keys: a small pool (so that retries happen), random, too long, non-ASCII, blank. */
export const idempotencyKeyArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('key-1', 'key-2', 'key-3', 'key 4', 'key-5') },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 127, max: 300 }), fc.constantFrom('k', '-', '~'))
      .map(([length, char]) => char.repeat(length)),
  },
  { weight: 1, arbitrary: headerValueArb(20) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', 'caf\u00e9', 'a,b', 'a, b', ' spaced ') },
);

/**
 * Content types that name a media type: the node reads every body as JSON whatever the type, so
 * none of them may change the answer.
 */
export const mediaTypes: readonly (string | undefined)[] = [
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/JSON',
  'text/plain',
  'text/plain; charset=utf-16',
  'multipart/form-data; boundary=xyz',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  '*/*',
];

/** Whatever JSON text: random values, random text, cut-off JSON, blanks. */
export const junkBodyArb: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  anyText(60),
  fc
    .tuple(fc.json(), fc.nat())
    .map(([text, cut]) => text.slice(0, text.length === 0 ? 0 : cut % text.length)),
  fc.constantFrom(
    '',
    ' \n\t',
    'null',
    '[]',
    '{}',
    '"x"',
    '{"message":',
    '\ufeff{}',
    'NaN',
    '1e999',
  ),
);

// ---------------------------------------------------------------------------------------------
// HTTP over fetch

export interface Exchange {
  readonly method?: string;
  /** Sent as UTF-8 bytes, with no content type unless `headers` has one. */
  readonly body?: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly timeoutMs?: number;
  /**
   * On a connection of its own, used once: for requests after which the node closes the
   * connection without saying so (its 400/431 for what it cannot parse), which would otherwise
   * leave a dead connection in the shared pool for the next request.
   */
  readonly ownConnection?: boolean;
}

const EXCHANGE_TIMEOUT_MS = 10_000;
/** Without pipelining, undici keeps no connection alive: each request gets a new one. */
const oneShotConnections = new Agent({ pipelining: 0 });

/**
 * One request, answered or failed: unlike the harness's `request`, the body goes as bytes (fetch
 * then adds no content type of its own) and a missing answer is an error that says which request
 * it was, since a well-formed request must never lose its connection.
 */
export async function exchange(url: string, options: Exchange = {}): Promise<HttpAnswer> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers = new Headers();
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  const started = Date.now();
  const payload = options.body === undefined ? {} : { body: encoder.encode(options.body) };
  const signal = AbortSignal.timeout(options.timeoutMs ?? EXCHANGE_TIMEOUT_MS);
  try {
    const response =
      options.ownConnection === true
        ? await undiciFetch(url, {
            method,
            headers: [...headers],
            ...payload,
            signal,
            dispatcher: oneShotConnections,
          })
        : await fetch(url, { method, headers, ...payload, signal });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    return {
      status: response.status,
      headers: new Headers([...response.headers]),
      body,
      text,
      ms: Date.now() - started,
    };
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new Error(
      `${method} ${url} got no answer after ${Date.now() - started} ms (${String(error)}${cause})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Documented answers

/** Error statuses an endpoint may answer, each with its documented codes (docs/API.md). */
export type ErrorTable = Readonly<Record<number, readonly string[]>>;

export const APPEND_ERRORS: ErrorTable = {
  400: ['INVALID_REQUEST'],
  403: ['CROSS_SITE_REQUEST'],
  413: ['MESSAGE_TOO_LARGE'],
  503: ['READ_ONLY', 'OVERLOADED', 'STORAGE_UNAVAILABLE'],
  504: ['WRITE_CONCERN_TIMEOUT'],
};

export const SECONDARY_APPEND_ERRORS: ErrorTable = {
  400: ['INVALID_REQUEST'],
  413: ['MESSAGE_TOO_LARGE'],
  421: ['NOT_MASTER'],
};

export const READ_ERRORS: ErrorTable = { 400: ['INVALID_REQUEST'], 404: ['NOT_FOUND'] };

export const INTERNAL_ERRORS: ErrorTable = {
  400: ['INVALID_REQUEST'],
  401: ['UNAUTHORIZED'],
  404: ['NOT_FOUND'],
  409: ['LOG_ID_MISMATCH', 'STALE_EPOCH', 'ENTRY_CONFLICT', 'INVALID_BATCH'],
  413: ['MESSAGE_TOO_LARGE'],
};

/** Node's own answer to a request line and headers over its limit; acceptable anywhere. */
const HEADERS_TOO_LARGE = 431;

/** A short description of an answer, for failure messages. */
export function describeAnswer(answer: HttpAnswer): string {
  const text = answer.text.length > 300 ? `${answer.text.slice(0, 300)}...` : answer.text;
  return `${answer.status} ${text}`;
}

/**
 * Why an error answer is not the documented envelope with one of `codes` (undefined if it is):
 * JSON, `{status: "error", error: {code, message}}`, a message that explains, and the extras the
 * contract names (`master` on 421, `Retry-After` on 503, the entry and acks on 504).
 */
function envelopeProblem(answer: HttpAnswer, codes: readonly string[]): string | undefined {
  if (!/application\/json/.test(answer.headers.get('content-type') ?? ''))
    return `content-type is "${answer.headers.get('content-type') ?? ''}", not JSON`;
  const body = answer.body;
  if (!isPlainObject(body) || body['status'] !== 'error' || !isPlainObject(body['error']))
    return 'not the error envelope {status:"error", error:{code, message}}';
  const { code, message } = body['error'];
  if (typeof code !== 'string' || !codes.includes(code))
    return `code ${JSON.stringify(code)} is not one of ${codes.join(', ')}`;
  if (typeof message !== 'string' || message.length < 10) return 'the message does not explain';
  if (answer.status === 421 && typeof body['master'] !== 'string')
    return '421 without the master URL';
  if (answer.status === 503 && answer.headers.get('retry-after') === null)
    return '503 without Retry-After';
  if (answer.status === 504 && body['log'] === undefined && body['logs'] === undefined)
    return '504 without the stored entry';
  return undefined;
}

/**
 * Asserts that `answer` is one of the error statuses in `allowed` (a subset of `table`'s, all of
 * them if absent) with the envelope, or 431 from node itself.
 */
export function assertDocumentedError(
  answer: HttpAnswer,
  table: ErrorTable,
  context: string,
  allowed?: ReadonlySet<number>,
): void {
  if (answer.status === HEADERS_TOO_LARGE) return;
  const codes = table[answer.status];
  assert.ok(
    codes !== undefined && (allowed === undefined || allowed.has(answer.status)),
    `${context}: answered ${describeAnswer(answer)}; expected ${[...(allowed ?? Object.keys(table))].join('/')}`,
  );
  const problem = envelopeProblem(answer, codes);
  assert.equal(
    problem,
    undefined,
    `${context}: answered ${describeAnswer(answer)}: ${problem ?? ''}`,
  );
}

/** Asserts a 200 read of `GET /logs`: a JSON array of `{id, message}` with consecutive ids. */
export function assertEntryArray(answer: HttpAnswer, context: string): LogEntry[] {
  assert.match(answer.headers.get('content-type') ?? '', /application\/json/, context);
  assert.ok(Array.isArray(answer.body), `${context}: not an array: ${describeAnswer(answer)}`);
  const entries = answer.body as unknown[];
  for (const [index, entry] of entries.entries()) {
    assert.ok(
      isPlainObject(entry) &&
        Number.isSafeInteger(entry['id']) &&
        typeof entry['message'] === 'string' &&
        Object.keys(entry).length === 2,
      `${context}: entry ${index} is not {id, message}: ${JSON.stringify(entry)}`,
    );
  }
  const log = entries as LogEntry[];
  const first = log[0]?.id ?? 0;
  assert.ok(
    log.every((entry, index) => entry.id === first + index),
    `${context}: ids are not consecutive: ${log.map((entry) => entry.id).join(',')}`,
  );
  return log;
}

// ---------------------------------------------------------------------------------------------
// The cluster stays up

/** Every node's process is running and answers GET /health with 200. */
export async function assertNodesUp(cluster: Cluster, context: string): Promise<void> {
  for (const node of cluster.nodes) {
    assert.ok(
      node.running,
      `${context}: ${node.name} is not running (exit ${JSON.stringify(node.lastExit)})`,
    );
    const health = await request(`${node.url}/health`, { timeoutMs: 5000 });
    assert.equal(health.status, 200, `${context}: ${node.name} /health answered ${health.status}`);
  }
}

/** Asserts that no node has logged an internal error (a 500 or an exception in a handler). */
export function assertNoInternalErrors(cluster: Cluster, context: string): void {
  for (const node of cluster.nodes) {
    const errors = node.events('internal-error');
    assert.equal(
      errors.length,
      0,
      `${context}: ${node.name} logged internal errors: ${JSON.stringify(errors.slice(0, 3))}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The ledger of acknowledged appends

/** What was sent with an append that the node acknowledged. */
export interface SentAppend {
  /** The messages as the node received them. */
  readonly messages: readonly string[];
  readonly key: string | undefined;
  /** The write concern it resolves to (1..cluster size). */
  readonly w: number;
  /** Whether the body had `messages` (the answer then has `logs`). */
  readonly batch: boolean;
  readonly context: string;
}

/**
 * Every entry the master acknowledged (201, a replayed 200, or 504 stored-but-not-yet-held), by
 * id and by idempotency key, checked as the answers come in: ids are never handed out twice, a
 * retry with a key gets the entries of the first request. At the end each node's log must hold
 * exactly these entries, ids 1..n, each once: an append that was refused never appears.
 */
export class AppendLedger {
  readonly #byId = new Map<number, string>();
  readonly #byKey = new Map<string, readonly LogEntry[]>();

  get lastId(): number {
    return this.#byId.size;
  }

  /**
   * Records the acknowledged answers of appends sent at the same time. Fresh entries (201 and
   * 504) go first: a retry with the same key may be answered before the request that created them.
   */
  recordAll(
    acknowledged: readonly { readonly answer: HttpAnswer; readonly sent: SentAppend }[],
  ): void {
    const order = (status: number): number => (status === 201 ? 0 : status === 504 ? 1 : 2);
    const sorted = [...acknowledged].sort(
      (a, b) => order(a.answer.status) - order(b.answer.status),
    );
    for (const { answer, sent } of sorted) this.record(answer, sent);
  }

  record(answer: HttpAnswer, sent: SentAppend): void {
    const context = `${sent.context}: answered ${describeAnswer(answer)}`;
    const body = answer.body;
    assert.ok(isPlainObject(body), context);
    const entries = sent.batch ? body['logs'] : [body['log']];
    assert.ok(Array.isArray(entries) && entries.length > 0, `${context}: no entries`);
    const answered = entries as LogEntry[];
    const first = answered[0]!;
    assert.ok(
      answered.every(
        (entry, index) =>
          isPlainObject(entry) &&
          entry.id === first.id + index &&
          typeof entry.message === 'string',
      ),
      `${context}: entries are not consecutive {id, message}`,
    );
    const { w, acks } = body;
    assert.equal(w, sent.w, `${context}: w`);
    assert.ok(typeof acks === 'number' && Number.isInteger(acks) && acks >= 1, `${context}: acks`);
    if (answer.status === 504) {
      assert.equal(body['status'], 'error', context);
      assert.ok(acks < sent.w, `${context}: a 504 holds fewer than w`);
    } else {
      assert.equal(body['status'], 'success', context);
      assert.ok(acks >= sent.w, `${context}: success with acks below w`);
    }
    const known = sent.key === undefined ? undefined : this.#byKey.get(sent.key);
    if (known !== undefined) {
      // A retry: the entries the key first created (a single-message retry shows the first).
      assert.notEqual(
        answer.status,
        201,
        `${context}: key ${JSON.stringify(sent.key)} created a second entry`,
      );
      assert.equal(first.id, known[0]!.id, `${context}: a retry answered another entry`);
      for (const entry of answered) {
        assert.equal(
          this.#byId.get(entry.id),
          entry.message,
          `${context}: a retry changed entry ${entry.id}`,
        );
      }
      return;
    }
    assert.notEqual(answer.status, 200, `${context}: 200 without an earlier request with that key`);
    assert.deepEqual(
      answered.map((entry) => entry.message),
      sent.messages,
      `${context}: the stored messages are not the ones sent`,
    );
    if (answer.status === 201) {
      assert.match(
        answer.headers.get('location') ?? '',
        new RegExp(`^/(logs|messages)/${first.id}$`),
        `${context}: Location`,
      );
    }
    for (const entry of answered) {
      assert.ok(!this.#byId.has(entry.id), `${context}: id ${entry.id} was handed out before`);
      this.#byId.set(entry.id, entry.message);
    }
    if (sent.key !== undefined) this.#byKey.set(sent.key, answered);
  }

  /** The log holds exactly the acknowledged entries: ids 1..n, each with its message. */
  assertLog(log: readonly LogEntry[], context: string): void {
    assert.ok(
      gapFree(log),
      `${context}: the log has gaps: ${log.map((entry) => entry.id).join(',')}`,
    );
    const unexpected = log.filter((entry) => this.#byId.get(entry.id) !== entry.message);
    assert.deepEqual(
      unexpected,
      [],
      `${context}: entries that no acknowledged append created (or with another message)`,
    );
    assert.equal(log.length, this.#byId.size, `${context}: acknowledged entries are missing`);
  }
}

/**
 * The end-of-property check: every node up, no internal errors logged, every node's log the same
 * after convergence, and exactly the entries the ledger holds.
 */
export async function assertClusterSound(
  cluster: Cluster,
  ledger: AppendLedger,
  context: string,
): Promise<void> {
  await assertNodesUp(cluster, context);
  assertNoInternalErrors(cluster, context);
  const log = await cluster.converged(ledger.lastId, 15_000);
  ledger.assertLog(log, `${context}: master (and every secondary, identical)`);
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over TCP

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawResult {
  /** The complete responses received, in order. */
  readonly responses: readonly RawResponse[];
  /** Whether the node closed the connection (by itself, or after the client finished sending). */
  readonly closed: boolean;
  /** Whether the node had closed the connection before the client finished sending. */
  readonly closedEarly: boolean;
  /** Bytes received that are not a complete response. */
  readonly rest: string;
}

export interface RawOptions {
  /** Finish sending (FIN) once this many responses are in; default: wait for quiet. */
  readonly responses?: number;
  /** Finish sending after this long without news from the node. */
  readonly quietMs?: number;
  /** How long the node has to close the connection once the client finished sending. */
  readonly closeWithinMs?: number;
}

/**
 * Sends `payload` as is over a new TCP connection, reads what comes back, then finishes sending
 * (half-close) once the expected responses are in or the node has been quiet for a while, and
 * waits for the node to close the connection. Bounded: never more than quietMs + closeWithinMs
 * plus the time the answers take, and at most 10 s for those.
 */
export function rawExchange(
  port: number,
  payload: string | Uint8Array,
  options: RawOptions = {},
): Promise<RawResult> {
  const quietMs = options.quietMs ?? 250;
  const closeWithinMs = options.closeWithinMs ?? 3000;
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    const chunks: Buffer[] = [];
    let finished = false;
    let closedEarly = false;
    let quietTimer: NodeJS.Timeout | undefined;
    const overall = setTimeout(() => {
      finish();
    }, 10_000);
    let closeTimer: NodeJS.Timeout | undefined;
    const result = (closed: boolean): RawResult => {
      const parsed = parseResponses(Buffer.concat(chunks));
      return { responses: parsed.responses, closed, closedEarly, rest: parsed.rest };
    };
    const done = (closed: boolean): void => {
      clearTimeout(quietTimer);
      clearTimeout(overall);
      clearTimeout(closeTimer);
      socket.destroy();
      resolve(result(closed));
    };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(quietTimer);
      clearTimeout(overall);
      socket.end();
      closeTimer = setTimeout(() => {
        done(false);
      }, closeWithinMs);
    };
    const armQuiet = (): void => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(finish, quietMs);
    };
    socket.on('connect', () => {
      socket.write(payload);
      armQuiet();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (finished) return;
      const wanted = options.responses;
      if (wanted !== undefined && parseResponses(Buffer.concat(chunks)).responses.length >= wanted)
        finish();
      else armQuiet();
    });
    // A reset after the node answered and closed is a close like any other.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!finished) closedEarly = true;
      done(true);
    });
  });
}

/**
 * The complete HTTP/1.1 responses at the start of `bytes` (Content-Length, chunked, or no body for
 * 1xx/204/304), and the rest.
 */
function parseResponses(bytes: Buffer): { responses: RawResponse[]; rest: string } {
  const responses: RawResponse[] = [];
  let offset = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) break;
    const lines = bytes.toString('latin1', offset, headEnd).split('\r\n');
    const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (statusMatch === null) break;
    const status = Number(statusMatch[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0)
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let cursor = headEnd + 4;
    let body = '';
    if (status >= 200 && status !== 204 && status !== 304) {
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const parts: Buffer[] = [];
        let complete = false;
        for (;;) {
          const sizeEnd = bytes.indexOf('\r\n', cursor);
          if (sizeEnd < 0) break;
          const size = parseInt(bytes.toString('latin1', cursor, sizeEnd), 16);
          if (!Number.isFinite(size)) break;
          const dataStart = sizeEnd + 2;
          if (bytes.length < dataStart + size + 2) break;
          parts.push(bytes.subarray(dataStart, dataStart + size));
          cursor = dataStart + size + 2;
          if (size === 0) {
            complete = true;
            break;
          }
        }
        if (!complete) break;
        body = Buffer.concat(parts).toString('utf8');
      } else {
        const length = Number(headers['content-length'] ?? 'NaN');
        if (!Number.isSafeInteger(length) || bytes.length < cursor + length) break;
        body = bytes.toString('utf8', cursor, cursor + length);
        cursor += length;
      }
    }
    responses.push({ status, headers, body });
    offset = cursor;
  }
  return { responses, rest: bytes.toString('latin1', offset) };
}

/** `GET path` on a raw connection: the request line and a Host header. */
export function rawGet(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
}

/** A complete `POST` with a JSON body and a correct Content-Length. */
export function rawPost(path: string, body: string, headers: readonly string[] = []): string {
  return [
    `POST ${path} HTTP/1.1`,
    `Host: ${HOST}`,
    'Content-Type: application/json',
    `Content-Length: ${utf8Bytes(body)}`,
    ...headers,
    '',
    body,
  ].join('\r\n');
}

/**
 * A keep-alive connection kept open through an attack, to show that the node still serves
 * connections it already had: each `probe` sends GET /health on it and returns the status.
 */
export class WitnessConnection {
  readonly #socket: Socket;
  #received = Buffer.alloc(0);
  #closed = false;
  #waiter: (() => void) | undefined;
  #turn: Promise<unknown> = Promise.resolve();

  private constructor(readonly node: NodeProcess) {
    this.#socket = connect(node.port, HOST);
    this.#socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#waiter?.();
    });
    this.#socket.on('error', () => undefined);
    this.#socket.on('close', () => {
      this.#closed = true;
      this.#waiter?.();
    });
  }

  static async open(node: NodeProcess): Promise<WitnessConnection> {
    const witness = new WitnessConnection(node);
    await new Promise<void>((resolve, reject) => {
      witness.#socket.once('connect', resolve);
      witness.#socket.once('error', reject);
    });
    return witness;
  }

  /** Whether the node closed this connection (a method: it changes while a probe waits). */
  isClosed(): boolean {
    return this.#closed;
  }

  /**
   * GET /health on this connection; the status, or a description of what went wrong. Probes take
   * turns: one connection answers one request at a time.
   */
  probe(timeoutMs = 5000): Promise<number | string> {
    const turn = this.#turn.then(() => this.#probe(timeoutMs));
    this.#turn = turn.catch(() => undefined);
    return turn;
  }

  async #probe(timeoutMs: number): Promise<number | string> {
    if (this.isClosed()) return 'closed before the probe';
    this.#received = Buffer.alloc(0);
    this.#socket.write(rawGet('/health'));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { responses } = parseResponses(this.#received);
      if (responses[0] !== undefined) return responses[0].status;
      if (this.isClosed()) return 'closed without an answer';
      const left = deadline - Date.now();
      if (left <= 0) return `no answer within ${timeoutMs} ms`;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}
