/**
 * Raw HTTP abuse over plain TCP against every node of a real cluster (issue 7): bytes no HTTP
 * client would send. Each attack must get 400 (or another status that fits it) or a closed
 * connection, never a 5xx and never a connection left hanging once the client is done; the node
 * must keep serving a keep-alive connection it already had, and stay up. Appends that slip
 * through must be whole: every stored message is one a request carried, at most once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { annotated, Cluster, gapFree, HOST, type NodeProcess } from './harness.js';
import {
  assertNodesUp,
  assertNoInternalErrors,
  checkProperty,
  isPlainObject,
  rawExchange,
  rawGet,
  rawPost,
  WitnessConnection,
  type RawOptions,
  type RawResult,
} from './fuzz-arbitraries.js';

const TOKEN = 'raw-abuse-token';
const MAX_BODY_BYTES = 64 * 1024;

let cluster: Cluster;
const witnesses = new Map<string, WitnessConnection>();
/** Every message a raw append carried: only these may be stored, each at most once. */
const sentMessages = new Set<string>();
/** Appends answered 201 on a raw connection: these must be stored at their id. */
const acknowledged = new Map<number, string>();
let nextTag = 0;

before(async () => {
  cluster = await Cluster.start({
    token: TOKEN,
    secondaries: 2,
    env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) },
  });
  for (const node of cluster.nodes) witnesses.set(node.name, await WitnessConnection.open(node));
  // Secondaries that hold entries: an empty one may join any log, and the mutated requests carry
  // a batch of another log with the right token.
  const message = 'seed entry';
  sentMessages.add(message);
  const seed = await cluster.append({ message, w: 3 }, { timeoutMs: 10_000 });
  assert.equal(seed.status, 201, seed.text);
  acknowledged.set(seed.body.log.id, message);
  await cluster.converged(1);
});

after(async () => {
  for (const witness of witnesses.values()) witness.close();
  // Unset when the start failed (Cluster.start has stopped its processes then).
  await (cluster as Cluster | undefined)?.stop();
});

/** A fresh append body whose message is recorded as sent. */
function appendBody(): string {
  const message = `raw append ${nextTag++}`;
  sentMessages.add(message);
  return JSON.stringify({ message, w: 1 });
}

/** Records the 201 answers of raw appends, so that the final check can find them. */
function noteAcknowledged(result: RawResult): void {
  for (const response of result.responses) {
    if (response.status !== 201) continue;
    const body = JSON.parse(response.body) as unknown;
    if (isPlainObject(body) && isPlainObject(body['log'])) {
      const { id, message } = body['log'];
      if (typeof id === 'number' && typeof message === 'string') acknowledged.set(id, message);
    }
  }
}

/**
 * What every attack must leave behind: no 5xx (but 501/505, which refuse a method or a version),
 * a connection the node closed (by itself or once the client was done), the node's other
 * keep-alive connection still served, and every node up.
 */
async function assertSurvived(
  node: NodeProcess,
  result: RawResult,
  context: string,
): Promise<void> {
  const statuses = result.responses.map((response) => response.status);
  assert.ok(
    statuses.every((status) => status < 500 || status === 501 || status === 505),
    `${context}: answered ${statuses.join(', ')}: ${JSON.stringify(result.responses.slice(0, 2))}`,
  );
  assert.ok(
    result.closed,
    `${context}: the connection was left open after the client finished (answers: ${statuses.join(', ')})`,
  );
  const witness = witnesses.get(node.name)!;
  const probe = await witness.probe();
  assert.equal(probe, 200, `${context}: ${node.name}'s other keep-alive connection: ${probe}`);
}

// ---------------------------------------------------------------------------------------------
// Named attacks

interface Attack {
  readonly name: string;
  readonly payload: (node: NodeProcess) => string | Uint8Array;
  /** The statuses its answers may have (none at all is allowed unless `answers` says so). */
  readonly statuses: readonly number[];
  /** How many answers it must get. */
  readonly answers?: number;
  readonly options?: RawOptions;
  /** A further check of the answers. */
  readonly check?: (result: RawResult, node: NodeProcess) => void;
}

const head = (lines: readonly string[]): string => `${lines.join('\r\n')}\r\n\r\n`;

const ATTACKS: readonly Attack[] = [
  {
    name: 'garbage bytes',
    payload: () => Uint8Array.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x7f]),
    statuses: [400],
  },
  {
    name: 'a request line only, then the client finishes',
    payload: () => 'GET /logs HTTP/1.1\r\n',
    statuses: [400],
  },
  { name: 'a cut-off request line', payload: () => 'GET /lo', statuses: [400] },
  {
    name: 'an absurd method',
    payload: () => head(['FROBNICATE /logs HTTP/1.1', `Host: ${HOST}`]),
    statuses: [400, 404, 405, 501],
  },
  {
    name: 'a method name of 10,000 letters',
    payload: () => head([`${'A'.repeat(10_000)} /logs HTTP/1.1`, `Host: ${HOST}`]),
    statuses: [400, 431, 501],
  },
  {
    name: 'CONNECT to another host',
    payload: () => head(['CONNECT evil.example:443 HTTP/1.1', 'Host: evil.example:443']),
    statuses: [400, 404, 405, 501],
  },
  {
    name: 'a path with ..',
    payload: () => rawGet('/../../../../etc/passwd'),
    statuses: [400, 404],
    answers: 1,
    check: (result) => {
      assert.ok(
        !result.responses.some((response) => response.body.includes('root:')),
        'served a file',
      );
    },
  },
  {
    name: 'a path with encoded ../',
    payload: () => rawGet('/logs/..%2f..%2f..%2fetc%2fpasswd'),
    statuses: [400, 404],
    answers: 1,
  },
  { name: 'a path with %00', payload: () => rawGet('/logs%00'), statuses: [400, 404], answers: 1 },
  { name: 'an id with %00', payload: () => rawGet('/logs/1%00'), statuses: [400, 404], answers: 1 },
  { name: 'a raw NUL byte in the path', payload: () => rawGet('/lo\u0000gs'), statuses: [400] },
  {
    name: 'a Content-Length bigger than the body, then the client finishes',
    payload: () =>
      head([
        'POST /logs HTTP/1.1',
        `Host: ${HOST}`,
        'Content-Type: application/json',
        'Content-Length: 100',
      ]) + appendBody(),
    statuses: [400, 408],
  },
  {
    name: 'a Content-Length smaller than the body (the rest is garbage as a next request)',
    payload: () =>
      head([
        'POST /logs HTTP/1.1',
        `Host: ${HOST}`,
        'Content-Type: application/json',
        'Content-Length: 5',
      ]) + appendBody(),
    statuses: [400],
  },
  {
    name: 'a malformed chunk size',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: chunked']) +
      'zz\r\nabc\r\n0\r\n\r\n',
    statuses: [400],
  },
  {
    name: 'a chunk longer than its data, then the client finishes',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: chunked']) + '40\r\n{"mes',
    statuses: [400],
  },
  {
    name: 'a chunk size past 2^64',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: chunked']) +
      'ffffffffffffffffff\r\nabc\r\n0\r\n\r\n',
    statuses: [400],
  },
  {
    name: 'a chunk without its CRLF',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: chunked']) +
      '3\r\nabcXY0\r\n\r\n',
    statuses: [400],
  },
  {
    name: 'Content-Length and Transfer-Encoding together',
    payload: () =>
      head([
        'POST /logs HTTP/1.1',
        `Host: ${HOST}`,
        'Content-Length: 3',
        'Transfer-Encoding: chunked',
      ]) + '0\r\n\r\n',
    statuses: [400],
  },
  {
    name: 'two different Content-Lengths',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Content-Length: 2', 'Content-Length: 3']) +
      '{}',
    statuses: [400],
  },
  {
    name: 'a Content-Length that is not a number',
    payload: () => head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Content-Length: 1e3']),
    statuses: [400],
  },
  {
    name: 'a negative Content-Length',
    payload: () => head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Content-Length: -1']),
    statuses: [400],
  },
  {
    name: 'Transfer-Encoding gzip without chunked',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: gzip']) + 'abc',
    statuses: [400, 501],
  },
  {
    name: 'a header without a colon',
    payload: () => head(['GET /logs HTTP/1.1', `Host ${HOST}`]),
    statuses: [400],
  },
  {
    name: 'a NUL byte in a header value',
    payload: () => head(['GET /logs HTTP/1.1', `Host: ${HOST}`, 'X-A: a\u0000b']),
    statuses: [400],
  },
  {
    name: 'an obsolete folded header line',
    payload: () => head(['GET /logs?limit=1 HTTP/1.1', `Host: ${HOST}`, 'X-A: a', ' folded']),
    statuses: [200, 400],
  },
  {
    name: 'bare LF line endings',
    payload: () => `GET /logs?limit=1 HTTP/1.1\nHost: ${HOST}\n\n`,
    statuses: [200, 400],
  },
  { name: 'no Host header', payload: () => head(['GET /logs HTTP/1.1']), statuses: [400] },
  {
    name: 'HTTP/1.0 without Host',
    payload: () => head(['GET /logs?limit=1 HTTP/1.0']),
    statuses: [200],
    answers: 1,
  },
  {
    name: 'an HTTP/2 preface',
    payload: () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    statuses: [400, 505],
  },
  {
    name: 'HTTP/9.9',
    payload: () => head(['GET /logs HTTP/9.9', `Host: ${HOST}`]),
    statuses: [400, 505],
  },
  {
    name: 'an absolute-form target',
    payload: () => rawGet('http://evil.example/logs?limit=1'),
    statuses: [200, 400],
    answers: 1,
  },
  {
    name: 'an asterisk-form target',
    payload: () => head(['OPTIONS * HTTP/1.1', `Host: ${HOST}`]),
    statuses: [400, 404],
    answers: 1,
  },
  {
    name: 'headers over the limit',
    payload: () => head(['GET /logs HTTP/1.1', `Host: ${HOST}`, `X-Big: ${'b'.repeat(20_000)}`]),
    statuses: [431, 400],
  },
  {
    name: '3,000 small headers',
    payload: () =>
      head([
        'GET /logs HTTP/1.1',
        `Host: ${HOST}`,
        ...Array.from({ length: 3000 }, (_, index) => `X-${index}: ${index}`),
      ]),
    statuses: [200, 400, 431],
  },
  {
    name: 'a URL of 20,000 bytes',
    payload: () => rawGet(`/logs?x=${'a'.repeat(20_000)}`),
    statuses: [400, 414, 431],
  },
  {
    name: 'Expect: 100-continue with a body the node refuses',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Expect: 100-continue', 'Content-Length: 14']) +
      '{"message":""}',
    statuses: [100, 400, 417, 421],
    answers: 1,
  },
  {
    name: 'an unknown Expect',
    payload: () =>
      head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Expect: 999-weird', 'Content-Length: 2']) +
      '{}',
    statuses: [400, 417],
  },
  {
    name: 'a declared body far above MAX_BODY_BYTES',
    payload: () =>
      head([
        'POST /logs HTTP/1.1',
        `Host: ${HOST}`,
        'Content-Type: application/json',
        'Content-Length: 1000000000',
      ]) + '{"message":',
    // A secondary answers 421 at once and reads on, throwing the body away; the client then
    // stops short of the declared length, which is a 400.
    statuses: [413, 400],
    answers: 1,
    check: (result, node) => {
      const body = JSON.parse(result.responses[0]!.body) as { error?: { code?: string } };
      // A secondary refuses any append first (421), without reading its body.
      const expected = node.role === 'secondary' ? 'NOT_MASTER' : 'MESSAGE_TOO_LARGE';
      assert.equal(body.error?.code, expected, JSON.stringify(result.responses[0]));
    },
  },
  {
    name: 'two requests pipelined',
    payload: () => rawGet('/health') + rawGet('/logs?limit=1'),
    statuses: [200],
    answers: 2,
    options: { responses: 2 },
    check: (result) => {
      assert.match(result.responses[0]!.body, /"node"/, 'the first answer is /health');
      assert.match(result.responses[1]!.body, /^\[/, 'the second answer is /logs');
    },
  },
  {
    name: 'an append and a read pipelined',
    payload: () => rawPost('/logs', appendBody()) + rawGet('/logs'),
    statuses: [200, 201, 421],
    answers: 2,
    options: { responses: 2 },
    check: (result, node) => {
      const [append, read] = result.responses;
      assert.equal(append!.status, node.role === 'master' ? 201 : 421, 'the append');
      assert.equal(read!.status, 200, 'the read');
      // Node handles a pipelined request while the one before it is still being answered, so
      // the read may or may not show the append; if it does, it shows it whole.
      if (node.role === 'master') {
        const { log } = JSON.parse(append!.body) as { log: { id: number; message: string } };
        const entries = JSON.parse(read!.body) as { id: number; message: string }[];
        const shown = entries[log.id - 1];
        if (shown !== undefined) assert.deepEqual(shown, log, 'the read shows the append');
      }
    },
  },
  {
    name: 'a malformed request followed by a valid one on the same connection',
    payload: () => `GARBAGE\r\n\r\n${rawGet('/health')}`,
    statuses: [400],
  },
  {
    name: 'DELETE /logs with a body',
    payload: () => head(['DELETE /logs HTTP/1.1', `Host: ${HOST}`, 'Content-Length: 2']) + '{}',
    statuses: [404, 405],
    answers: 1,
  },
  {
    name: 'an internal endpoint without the token, body declared above its limit',
    payload: () =>
      head(['POST /internal/replicate HTTP/1.1', `Host: ${HOST}`, 'Content-Length: 999999999999']) +
      '{',
    // 401 at once; then, when the client finishes without the body, node's own 400.
    statuses: [401, 404, 413, 400],
    answers: 1,
  },
];

// The attacks run side by side: most wait for a quiet connection, and they do not share one.
void describe('raw attacks on every node', { concurrency: 8 }, () => {
  for (const attack of ATTACKS) {
    test(attack.name, async () => {
      await annotated(cluster, async () => {
        await Promise.all(
          cluster.nodes.map(async (node) => {
            const payload = attack.payload(node);
            const result = await rawExchange(node.port, payload, {
              quietMs: 150,
              ...attack.options,
            });
            noteAcknowledged(result);
            const context = `${attack.name} on ${node.name}`;
            const statuses = result.responses.map((response) => response.status);
            // A secondary answers an append 421 before reading its body, whatever the body.
            const allowed =
              node.role === 'secondary' &&
              typeof payload === 'string' &&
              /^POST \/(logs|messages)[ ?]/.test(payload)
                ? [...attack.statuses, 421]
                : attack.statuses;
            assert.ok(
              statuses.every((status) => allowed.includes(status)),
              `${context}: answered ${statuses.join(', ')} (allowed ${allowed.join('/')}): ${JSON.stringify(result).slice(0, 600)}`,
            );
            assert.ok(
              statuses.length >= (attack.answers ?? 0),
              `${context}: ${statuses.length} answers, expected ${attack.answers ?? 0}: ${JSON.stringify(result).slice(0, 600)}`,
            );
            attack.check?.(result, node);
            await assertSurvived(node, result, context);
          }),
        );
        await assertNodesUp(cluster, attack.name);
      });
    });
  }
});

/** Requests the node cannot parse, which it answers and then closes the connection after. */
const UNPARSABLE: Readonly<Record<string, string>> = {
  'garbage bytes': '\u0000\u00ff garbage\r\n\r\n',
  'headers over the limit': head([
    'GET /logs HTTP/1.1',
    `Host: ${HOST}`,
    `X-Big: ${'b'.repeat(20_000)}`,
  ]),
  'a malformed chunk size':
    head(['POST /logs HTTP/1.1', `Host: ${HOST}`, 'Transfer-Encoding: chunked']) + 'zz\r\n',
  'a Content-Length that is not a number': head([
    'POST /logs HTTP/1.1',
    `Host: ${HOST}`,
    'Content-Length: x',
  ]),
  'an absurd method': head(['FROBNICATE /logs HTTP/1.1', `Host: ${HOST}`]),
};

test('an answer after which the node closes the connection says "Connection: close", so that keep-alive clients do not send their next request into a closed connection', async () => {
  await annotated(cluster, async () => {
    await checkProperty(
      'Connection: close before closing',
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(UNPARSABLE)),
        fc.constantFrom(...cluster.nodes.map((node) => node.name)),
        async (kind, name) => {
          // The node answers and closes at once; a generous quiet time keeps this client from
          // finishing its side first (closedEarly false) when the node is slow to get to it.
          const result = await rawExchange(cluster.node(name).port, UNPARSABLE[kind]!, {
            quietMs: 5000,
          });
          const last = result.responses.at(-1);
          const context = `${kind} on ${name}: ${JSON.stringify(result).slice(0, 400)}`;
          assert.ok(
            last !== undefined && result.closedEarly,
            `${context}: expected an answer and a close`,
          );
          assert.equal(last.headers['connection']?.toLowerCase(), 'close', context);
        },
      ),
      20,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Random bytes and mutated requests

/** One edit of a request's bytes, at a position given as a number to take modulo the length. */
type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly byte: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'truncate'; readonly at: number };

const interestingBytes = [
  0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x2f, 0x3a, 0x3f, 0x7f, 0x80, 0xff,
];
const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...interestingBytes));

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: byteArb }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(byteArb, { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/**
 * Applies the mutations to the request line and headers only (`head` bytes): the body stays as
 * sent, so an append that still gets through stores exactly the message it carried.
 */
function mutate(
  request: Uint8Array,
  headLength: number,
  mutations: readonly Mutation[],
): Uint8Array {
  let headBytes = Array.from(request.subarray(0, headLength));
  let truncated = false;
  for (const mutation of mutations) {
    const at = headBytes.length === 0 ? 0 : mutation.at % headBytes.length;
    switch (mutation.kind) {
      case 'flip':
        headBytes[at] = mutation.byte;
        break;
      case 'delete':
        headBytes.splice(at, mutation.length);
        break;
      case 'insert':
        headBytes.splice(at, 0, ...mutation.bytes);
        break;
      case 'duplicate':
        headBytes.splice(at, 0, ...headBytes.slice(at, at + mutation.length));
        break;
      case 'truncate':
        headBytes = headBytes.slice(0, at);
        truncated = true;
        break;
    }
  }
  const body = truncated ? new Uint8Array() : request.subarray(headLength);
  return Uint8Array.from([...headBytes, ...body]);
}

/** Requests to mutate: a read, an append, a heartbeat with the token, another log's batch. */
function baseRequest(kind: string): string {
  const auth = `Authorization: Bearer ${TOKEN}`;
  switch (kind) {
    case 'read':
      return rawGet('/logs?since=0&limit=3');
    case 'append':
      return rawPost('/logs?w=1', appendBody(), ['Idempotency-Key: raw-mutant']);
    case 'heartbeat':
      return rawPost('/internal/heartbeat', '{"logId":"other-log","epoch":1,"lastId":0}', [auth]);
    default:
      return rawPost(
        '/internal/replicate',
        JSON.stringify({
          logId: 'another-log',
          epoch: 1,
          fromId: 1,
          epochs: [1],
          messages: ['intruder'],
        }),
        [auth],
      );
  }
}

test('random bytes on every node: 400 or a closed connection, never a 5xx or a hang; the nodes keep serving', async () => {
  await annotated(cluster, async () => {
    const bytesArb = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 600 }),
      fc
        .string({ unit: 'binary-ascii', minLength: 1, maxLength: 300 })
        .map((text) => new TextEncoder().encode(text)),
      // A plausible start, then noise.
      fc
        .tuple(
          fc.constantFrom(
            'GET / HTTP/1.1\r\n',
            'POST /logs HTTP/1.1\r\nHost: x\r\n',
            'HTTP/1.1 200 OK\r\n',
            'GET ',
          ),
          fc.uint8Array({ maxLength: 200 }),
        )
        .map(([start, noise]) => Uint8Array.from([...new TextEncoder().encode(start), ...noise])),
    );
    await checkProperty(
      'random bytes',
      fc.asyncProperty(bytesArb, async (bytes) => {
        await Promise.all(
          cluster.nodes.map(async (node) => {
            const result = await rawExchange(node.port, bytes, { quietMs: 150 });
            noteAcknowledged(result);
            await assertSurvived(node, result, `${bytes.length} random bytes on ${node.name}`);
          }),
        );
      }),
      80,
    );
    await assertNodesUp(cluster, 'after random bytes');
  });
});

test('mutated requests (bytes flipped, cut, inserted or repeated in the head) on every node: never a 5xx or a hang; the nodes keep serving', async () => {
  await annotated(cluster, async () => {
    const encoder = new TextEncoder();
    await checkProperty(
      'mutated requests',
      fc.asyncProperty(
        fc.constantFrom('read', 'append', 'heartbeat', 'replicate'),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        async (kind, mutations) => {
          await Promise.all(
            cluster.nodes.map(async (node) => {
              const request = baseRequest(kind);
              const headLength = request.indexOf('\r\n\r\n') + 4;
              const bytes = mutate(
                encoder.encode(request),
                encoder.encode(request.slice(0, headLength)).length,
                mutations,
              );
              const result = await rawExchange(node.port, bytes, { quietMs: 150, responses: 1 });
              noteAcknowledged(result);
              const context = `${kind} mutated ${JSON.stringify(mutations)} on ${node.name}: ${JSON.stringify(Buffer.from(bytes).toString('latin1').slice(0, 300))}`;
              await assertSurvived(node, result, context);
            }),
          );
        },
      ),
      150,
    );
    await assertNodesUp(cluster, 'after mutated requests');
  });
});

test('after the abuse: every node holds the same gap-free log, only messages requests carried, each once, and every acknowledged append', async () => {
  await annotated(cluster, async () => {
    await assertNodesUp(cluster, 'after the abuse');
    assertNoInternalErrors(cluster, 'after the abuse');
    const master = await cluster.logs();
    const log = await cluster.converged(master.length);
    assert.ok(gapFree(log), `gaps: ${log.map((entry) => entry.id).join(',')}`);
    const strangers = log.filter((entry) => !sentMessages.has(entry.message));
    assert.deepEqual(strangers, [], 'entries no request carried');
    const messages = log.map((entry) => entry.message);
    assert.equal(
      new Set(messages).size,
      messages.length,
      `a message stored twice: ${messages.join(' | ')}`,
    );
    for (const [id, message] of acknowledged) {
      assert.equal(log[id - 1]?.message, message, `acknowledged entry ${id}`);
    }
  });
});
