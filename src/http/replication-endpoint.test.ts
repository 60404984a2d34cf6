import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { InvariantError } from '../core/assert.js';
import type { InvariantContext } from '../node/fatal.js';
import {
  replicationEndpoint,
  type EndpointOutcome,
  type ReplicaEndpointNode,
} from './replication-endpoint.js';
import type { EpochEndRequestBody, VoteRequestBody } from '../protocol/messages.js';
import type { ReplicateBatch } from '../core/replica-log.js';
import { encodeReplicateFrame, REPLICATE_FRAME_TYPE } from '../protocol/frame.js';
import type { ReplicaOutcome, ReplicaRefusal } from '../node/secondary-node.js';

const TOKEN = 'secret-token';
const REPLY = { logId: 'L', incarnation: 'i-1', hwm: 3, pending: 0 };

/** A secondary stand-in that records what reached it and can be told to fail. */
class FakeNode implements ReplicaEndpointNode {
  readonly received: ReplicateBatch[] = [];
  failWith: Error | undefined;
  refuseWith: ReplicaRefusal | undefined;

  replicate(body: ReplicateBatch): Promise<ReplicaOutcome> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    if (this.refuseWith !== undefined)
      return Promise.resolve({ kind: 'refused', refusal: this.refuseWith });
    this.received.push(body);
    return Promise.resolve({ kind: 'replied', reply: REPLY });
  }

  heartbeat(): Promise<ReplicaOutcome> {
    return Promise.resolve({ kind: 'replied', reply: REPLY });
  }
}

void describe('replicationEndpoint', () => {
  const node = new FakeNode();
  let server: Server;
  let origin: string;
  let passedOn = 0;
  const invariants: { error: InvariantError; context: InvariantContext }[] = [];

  before(async () => {
    const intercept = replicationEndpoint(node, {
      clusterToken: TOKEN,
      logger: pino({ level: 'silent' }),
      maxBodyBytes: 4096,
      onInvariant: (error, context) => {
        invariants.push({ error, context });
      },
    });
    server = createServer((request, response) => {
      if (intercept(request, response)) return;
      passedOn += 1;
      response.writeHead(299).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = async (
    path: string,
    body: string,
    token: string | null = TOKEN,
    method = 'POST',
  ): Promise<{
    status: number;
    json: { status?: string; error?: { code: string; message: string } };
  }> => {
    const response = await fetch(`${origin}${path}`, {
      method,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      ...(method === 'GET' ? {} : { body }),
    });
    return { status: response.status, json: (await response.json()) as never };
  };
  const batch = JSON.stringify({
    logId: 'L',
    epoch: 1,
    fromId: 1,
    epochs: [1],
    messages: ['a'],
  });

  void it('hands a valid batch to the node and answers its reply', async () => {
    const answer = await post('/internal/replicate', batch);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, REPLY);
    assert.deepEqual(node.received.at(-1), {
      logId: 'L',
      epoch: 1,
      entries: [{ id: 1, epoch: 1, message: 'a' }],
    });
    assert.equal(
      (await post('/internal/heartbeat', '{"logId":"L","epoch":1,"lastId":0}')).status,
      200,
    );
  });

  void it('refuses a missing or wrong token with 401, before reading the body', async () => {
    const before = node.received.length;
    for (const token of [null, 'wrong', '']) {
      const answer = await post('/internal/replicate', batch, token);
      assert.equal(answer.status, 401, String(token));
      assert.equal(answer.json.error?.code, 'UNAUTHORIZED');
    }
    assert.equal(node.received.length, before, 'nothing reached the node');
  });

  void it('answers 400 INVALID_REQUEST to bodies that are not JSON or not a batch', async () => {
    for (const body of [
      '',
      '{',
      'null',
      '[]',
      '{"logId":"L","epoch":0,"fromId":1,"epochs":[],"messages":[]}',
      '{"logId":"L","epoch":1,"fromId":"1","epochs":[1],"messages":["a"]}',
      '{"logId":"L","epoch":1,"fromId":1,"epochs":[1],"messages":[1]}',
      '{"logId":"L","epoch":1,"fromId":1,"epochs":[1,1],"messages":["a"]}',
    ]) {
      const answer = await post('/internal/replicate', body);
      assert.equal(answer.status, 400, body);
      assert.equal(answer.json.status, 'error');
      assert.equal(answer.json.error?.code, 'INVALID_REQUEST', body);
    }
  });

  void it('answers 413 to a body over the limit, declared or chunked, and closes the connection', async () => {
    const declared = await fetch(`${origin}/internal/replicate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ pad: 'x'.repeat(5000) }),
    });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.get('connection'), 'close');
    assert.equal(
      ((await declared.json()) as { error: { code: string } }).error.code,
      'MESSAGE_TOO_LARGE',
    );
    const chunked = await fetch(`${origin}/internal/replicate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: new ReadableStream({
        pull(controller) {
          controller.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        },
      }),
      duplex: 'half',
    });
    assert.equal(chunked.status, 413);
    assert.equal(
      ((await chunked.json()) as { error: { code: string } }).error.code,
      'MESSAGE_TOO_LARGE',
    );
  });

  const postFrame = async (
    frame: Buffer,
    contentType = REPLICATE_FRAME_TYPE,
  ): Promise<{ status: number; json: { error?: { code: string; message: string } } }> => {
    const response = await fetch(`${origin}/internal/replicate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType },
      body: frame,
    });
    return { status: response.status, json: (await response.json()) as never };
  };

  void it('takes a batch as a frame by its content type, parameters and case aside', async () => {
    const entries = [
      { id: 1, epoch: 1, message: 'a' },
      { id: 2, epoch: 2, message: 'ünï 🚀' },
    ];
    const stamp = { from: 'master', commitId: 1, startId: 0, keys: [['k', 1, 2]] as const };
    for (const type of [REPLICATE_FRAME_TYPE, `${REPLICATE_FRAME_TYPE.toUpperCase()}; v=1`]) {
      const answer = await postFrame(encodeReplicateFrame('L', 1, entries, stamp), type);
      assert.equal(answer.status, 200, type);
      assert.deepEqual(answer.json, REPLY);
      // The entries arrive packed (their bytes, PackedEntry); JSON shows them as plain ones.
      assert.deepEqual(JSON.parse(JSON.stringify(node.received.at(-1))), {
        logId: 'L',
        epoch: 1,
        entries,
        failover: stamp,
      });
    }
  });

  void it('answers 400 INVALID_REQUEST to a broken frame, saying why, and reaches no node', async () => {
    const before = node.received.length;
    const whole = encodeReplicateFrame('L', 1, [{ id: 1, epoch: 1, message: 'abc' }]);
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(2), /shorter than its head length/],
      [whole.subarray(0, 12), /runs past the frame/],
      [whole.subarray(0, whole.length - 1), /2 message bytes after its head, but .* add up to 3/],
      [
        Buffer.concat([whole.subarray(0, whole.length - 3), Buffer.from([0xed, 0xa0, 0x80])]),
        /entry 1 is not valid UTF-8/,
      ],
    ];
    for (const [frame, why] of cases) {
      const answer = await postFrame(frame);
      assert.equal(answer.status, 400, why.source);
      assert.equal(answer.json.error?.code, 'INVALID_REQUEST');
      assert.match(answer.json.error.message, why);
    }
    // A frame sent as JSON is read as JSON.
    assert.equal((await postFrame(whole, 'application/json')).status, 400);
    assert.equal(node.received.length, before, 'nothing reached the node');
  });

  void it('answers a storage failure with its own status, not as an internal error', async () => {
    node.refuseWith = { reason: 'storage-full', message: 'no space left on device' };
    const full = await post('/internal/replicate', batch);
    assert.equal(full.status, 507);
    assert.equal(full.json.error?.code, 'STORAGE_FULL');
    node.refuseWith = undefined;
  });

  void it('refuses a batch with a message that has no UTF-8 form', async () => {
    const answer = await post(
      '/internal/replicate',
      '{"logId":"L","epoch":1,"fromId":1,"epochs":[1],"messages":["\\ud800"]}',
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.json.error?.code, 'INVALID_REQUEST');
  });

  void it("answers the node's refusal in the envelope and anything else as a 500", async () => {
    node.refuseWith = { reason: 'rejected', code: 'STALE_EPOCH', message: 'stale' };
    const refused = await post('/internal/replicate', batch);
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.json, {
      status: 'error',
      error: { code: 'STALE_EPOCH', message: 'stale' },
    });
    node.refuseWith = undefined;
    node.failWith = new Error('bug');
    const broken = await post('/internal/replicate', batch);
    assert.equal(broken.status, 500);
    assert.equal(broken.json.error?.code, 'INTERNAL_ERROR');
    node.failWith = undefined;
  });

  void it('hands a broken invariant to onInvariant and answers nothing', async () => {
    node.failWith = new InvariantError('stored id 4 where 3 comes next');
    try {
      await assert.rejects(post('/internal/replicate?from=master', batch), 'no answer at all');
    } finally {
      node.failWith = undefined;
    }
    assert.equal(invariants.length, 1);
    assert.equal(invariants[0]!.error.message, 'stored id 4 where 3 comes next');
    assert.deepEqual(invariants[0]!.context, {
      method: 'POST',
      url: '/internal/replicate?from=master',
    });
  });

  void it('answers 404 to other methods and passes every other path on', async () => {
    const wrong = await post('/internal/replicate', '', TOKEN, 'GET');
    assert.equal(wrong.status, 404);
    const before = passedOn;
    const other = await fetch(`${origin}/logs`);
    await other.body?.cancel();
    assert.equal(other.status, 299);
    assert.equal(passedOn, before + 1);
  });
});

/** A failover node stand-in: answers votes and epoch-end questions with the outcome it is given. */
class FakeFailoverNode extends FakeNode {
  readonly votes: VoteRequestBody[] = [];
  readonly questions: EpochEndRequestBody[] = [];
  voteOutcome: EndpointOutcome = {
    kind: 'replied',
    reply: { epoch: 4, granted: true, preVote: false },
  };
  epochEndOutcome: EndpointOutcome = { kind: 'replied', reply: { epoch: 2, endId: 9 } };

  vote(body: VoteRequestBody): Promise<EndpointOutcome> {
    this.votes.push(body);
    return Promise.resolve(this.voteOutcome);
  }

  epochEnd(body: EpochEndRequestBody): EndpointOutcome {
    this.questions.push(body);
    return this.epochEndOutcome;
  }
}

/** A loopback server with the endpoint of `node` in front of a router that answers 299. */
async function serve(node: ReplicaEndpointNode): Promise<{ origin: string; server: Server }> {
  const intercept = replicationEndpoint(node, {
    clusterToken: TOKEN,
    logger: pino({ level: 'silent' }),
  });
  const server = createServer((request, response) => {
    if (intercept(request, response)) return;
    request.resume();
    response.writeHead(299).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function postTo(
  origin: string,
  path: string,
  body: string,
  token: string | null = TOKEN,
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const response = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

const VOTE = { epoch: 4, candidate: 'n2', acceptedEpoch: 3, lastId: 10, preVote: false };
const EPOCH_END = { logId: 'L', epoch: 4, lastEpoch: 3 };

void describe('replicationEndpoint without failover', () => {
  const nodes: { name: string; node: () => ReplicaEndpointNode }[] = [
    { name: 'a secondary', node: () => new FakeNode() },
    {
      name: 'a node with vote but no epochEnd',
      node: () => {
        const node = new FakeNode() as FakeNode & Pick<ReplicaEndpointNode, 'vote'>;
        node.vote = () => Promise.reject(new Error('must not be called'));
        return node;
      },
    },
  ];
  for (const { name, node } of nodes) {
    void it(`passes /internal/vote and /internal/epoch-end on for ${name}`, async () => {
      const { origin, server } = await serve(node());
      try {
        for (const [path, body] of [
          ['/internal/vote', VOTE],
          ['/internal/epoch-end', EPOCH_END],
        ] as const) {
          const answer = await postTo(origin, path, JSON.stringify(body));
          assert.equal(answer.status, 299, path);
        }
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});

void describe('replicationEndpoint on a failover node', () => {
  const node = new FakeFailoverNode();
  let origin: string;
  let server: Server;

  before(async () => {
    ({ origin, server } = await serve(node));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  void it('hands a vote request to the node and answers its reply', async () => {
    const answer = await postTo(origin, '/internal/vote', JSON.stringify(VOTE));
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { epoch: 4, granted: true, preVote: false });
    assert.deepEqual(node.votes.at(-1), VOTE);
  });

  void it('hands an epoch-end question to the node and answers its reply', async () => {
    const answer = await postTo(origin, '/internal/epoch-end?from=n3', JSON.stringify(EPOCH_END));
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { epoch: 2, endId: 9 });
    assert.deepEqual(node.questions.at(-1), EPOCH_END);
  });

  void it('refuses a request without the cluster token with 401', async () => {
    const votes = node.votes.length;
    const questions = node.questions.length;
    for (const [path, body] of [
      ['/internal/vote', VOTE],
      ['/internal/epoch-end', EPOCH_END],
    ] as const) {
      const answer = await postTo(origin, path, JSON.stringify(body), null);
      assert.equal(answer.status, 401, path);
    }
    assert.equal(node.votes.length, votes);
    assert.equal(node.questions.length, questions);
  });

  const badBodies: { path: string; body: unknown }[] = [
    { path: '/internal/vote', body: {} },
    { path: '/internal/vote', body: { ...VOTE, epoch: 0 } },
    { path: '/internal/vote', body: { ...VOTE, candidate: '' } },
    { path: '/internal/vote', body: { ...VOTE, acceptedEpoch: -1 } },
    { path: '/internal/vote', body: { ...VOTE, lastId: 1.5 } },
    { path: '/internal/vote', body: { ...VOTE, preVote: 'no' } },
    { path: '/internal/vote', body: { epoch: 4, candidate: 'n2', acceptedEpoch: 3, lastId: 1 } },
    { path: '/internal/vote', body: 'not an object' },
    { path: '/internal/epoch-end', body: {} },
    { path: '/internal/epoch-end', body: { ...EPOCH_END, logId: '' } },
    { path: '/internal/epoch-end', body: { ...EPOCH_END, epoch: 0 } },
    { path: '/internal/epoch-end', body: { ...EPOCH_END, lastEpoch: -1 } },
    { path: '/internal/epoch-end', body: { logId: 'L', epoch: 4 } },
  ];
  void it('answers 400 INVALID_REQUEST to a body that does not match, reaching no node', async () => {
    const votes = node.votes.length;
    const questions = node.questions.length;
    for (const { path, body } of badBodies) {
      const text = JSON.stringify(body);
      const answer = await postTo(origin, path, text);
      assert.equal(answer.status, 400, `${path} ${text}`);
      assert.equal(
        (answer.json as { error?: { code?: string } }).error?.code,
        'INVALID_REQUEST',
        `${path} ${text}`,
      );
    }
    const notJson = await postTo(origin, '/internal/vote', '{');
    assert.equal(notJson.status, 400);
    assert.equal(node.votes.length, votes);
    assert.equal(node.questions.length, questions);
  });

  const refusals: {
    name: string;
    path: string;
    body: unknown;
    set: (outcome: EndpointOutcome) => void;
    outcome: EndpointOutcome;
    status: number;
    extra: Record<string, unknown>;
    retryAfter: string | null;
  }[] = [
    {
      name: 'a vote refused while syncing',
      path: '/internal/vote',
      body: VOTE,
      set: (outcome) => (node.voteOutcome = outcome),
      outcome: { kind: 'refused', refusal: { reason: 'syncing', epoch: 5, master: 'n1' } },
      status: 503,
      extra: { epoch: 5 },
      retryAfter: '1',
    },
    {
      name: 'an epoch-end question rejected with an epoch',
      path: '/internal/epoch-end',
      body: EPOCH_END,
      set: (outcome) => (node.epochEndOutcome = outcome),
      outcome: {
        kind: 'refused',
        refusal: { reason: 'rejected', code: 'STALE_EPOCH', message: 'not master', epoch: 6 },
      },
      status: 409,
      extra: { epoch: 6 },
      retryAfter: null,
    },
    {
      name: 'an epoch-end question refused while overloaded',
      path: '/internal/epoch-end',
      body: EPOCH_END,
      set: (outcome) => (node.epochEndOutcome = outcome),
      outcome: {
        kind: 'refused',
        refusal: { reason: 'overloaded', queue: 'replication', inProgress: 9, limit: 9 },
      },
      status: 503,
      extra: {},
      retryAfter: '1',
    },
  ];
  for (const { name, path, body, set, outcome, status, extra, retryAfter } of refusals) {
    void it(`answers ${name} through the refusal table`, async () => {
      set(outcome);
      try {
        const answer = await postTo(origin, path, JSON.stringify(body));
        assert.equal(answer.status, status);
        assert.equal(answer.headers.get('retry-after'), retryAfter);
        const json = answer.json as Record<string, unknown>;
        assert.equal(json['status'], 'error');
        for (const [field, value] of Object.entries(extra)) assert.deepEqual(json[field], value);
      } finally {
        node.voteOutcome = { kind: 'replied', reply: { epoch: 4, granted: true, preVote: false } };
        node.epochEndOutcome = { kind: 'replied', reply: { epoch: 2, endId: 9 } };
      }
    });
  }
});
