/**
 * Every 400/404/413/421 case of docs/API.md against a real cluster, the error envelope everywhere,
 * the read query, batch appends (all or none) and the /messages aliases.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  annotated,
  Cluster,
  request,
  type BatchBody,
  type ErrorBody,
  type HttpAnswer,
  type LogEntry,
} from './harness.js';

const MAX_MESSAGE_BYTES = 100;
const MAX_BODY_BYTES = 2048;
const MAX_BATCH_COUNT = 5;
const MAX_READ_LIMIT = 3;

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start({
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

/** The error envelope: `{status:"error", error:{code, message}}`, JSON, with a useful message. */
function assertError(
  answer: HttpAnswer,
  status: number,
  code: string | readonly string[],
  what: string,
): ErrorBody {
  const context = `${what}: ${answer.status} ${answer.text}`;
  assert.equal(answer.status, status, context);
  assert.match(answer.headers.get('content-type') ?? '', /application\/json/, context);
  const body = answer.body as ErrorBody;
  assert.equal(typeof body, 'object', context);
  assert.equal(body.status, 'error', context);
  assert.equal(typeof body.error, 'object', context);
  if (typeof code === 'string') assert.equal(body.error.code, code, context);
  else assert.ok(code.includes(body.error.code), context);
  assert.equal(typeof body.error.message, 'string', context);
  assert.ok(body.error.message.length >= 10, `${context}: the message should explain`);
  return body;
}

async function masterLastId(): Promise<number> {
  return (await cluster.health()).log.lastId;
}

function post(path: string, options: { raw?: string; json?: unknown }): Promise<HttpAnswer> {
  return request(`${cluster.master.url}${path}`, { method: 'POST', ...options });
}

test('POST /logs: bodies that are not a JSON object with a message -> 400 INVALID_REQUEST', async () => {
  await annotated(cluster, async () => {
    const before = await masterLastId();
    const raws: [string, string][] = [
      ['array', '["hi"]'],
      ['string', '"hi"'],
      ['number', '42'],
      ['null', 'null'],
      ['invalid JSON', '{"message": "hi"'],
      ['not JSON at all', 'message=hi'],
      ['empty', ''],
    ];
    for (const path of ['/logs', '/messages']) {
      for (const [what, raw] of raws) {
        assertError(await post(path, { raw }), 400, 'INVALID_REQUEST', `${path} ${what}`);
      }
      const bodies: [string, unknown][] = [
        ['message missing', {}],
        ['message missing, w given', { w: 1 }],
        ['message a number', { message: 5 }],
        ['message null', { message: null }],
        ['message an array', { message: ['a'] }],
        ['message an object', { message: { text: 'a' } }],
        ['message empty', { message: '' }],
        ['empty batch', { messages: [] }],
        ['batch with an empty message', { messages: ['a', ''] }],
        ['message with a lone surrogate', { message: 'a\ud800b' }],
        ['batch with a lone surrogate', { messages: ['a', '\udc00'] }],
        ['batch with a number', { messages: ['a', 5] }],
        ['batch not an array', { messages: 'a' }],
      ];
      for (const [what, json] of bodies) {
        assertError(await post(path, { json }), 400, 'INVALID_REQUEST', `${path} ${what}`);
      }
    }
    assert.equal(await masterLastId(), before, 'a refused append must not be stored');
  });
});

test('w out of range or malformed -> 400 naming the allowed range 1..3 (body and ?w=)', async () => {
  await annotated(cluster, async () => {
    const before = await masterLastId();
    const range = /\b1\b\D{1,12}\b3\b/;
    const problems: string[] = [];
    const check = (what: string, answer: HttpAnswer): void => {
      const body = assertError(answer, 400, 'INVALID_REQUEST', what);
      if (!range.test(body.error.message))
        problems.push(`${what}: message does not name the range 1..3: "${body.error.message}"`);
    };
    for (const w of [0, 4, -1, 1.5, 'foo', '2', null, true]) {
      check(`w=${JSON.stringify(w)}`, await post('/logs', { json: { message: 'bad w', w } }));
    }
    for (const w of ['0', '4', 'foo', '1.5', '-1']) {
      check(`?w=${w}`, await post(`/logs?w=${w}`, { json: { message: 'bad query w' } }));
    }
    assert.equal(await masterLastId(), before, 'a refused append must not be stored');
    assert.deepEqual(problems, []);
  });
});

test('timeoutMs not a non-negative integer -> 400', async () => {
  await annotated(cluster, async () => {
    const before = await masterLastId();
    for (const timeoutMs of [-1, 1.5, '100', null, 'soon']) {
      const body = assertError(
        await post('/logs', { json: { message: 'bad timeout', w: 1, timeoutMs } }),
        400,
        'INVALID_REQUEST',
        `timeoutMs=${JSON.stringify(timeoutMs)}`,
      );
      assert.match(body.error.message, /timeoutMs/, 'name the field');
    }
    assert.equal(await masterLastId(), before, 'a refused append must not be stored');
  });
});

test('sizes: message over MAX_MESSAGE_BYTES, body over MAX_BODY_BYTES, batch over MAX_BATCH_COUNT -> 413', async () => {
  await annotated(cluster, async () => {
    const before = await masterLastId();
    const tooLong = [
      ['ascii', 'x'.repeat(MAX_MESSAGE_BYTES + 1)],
      // 51 characters, 102 bytes as UTF-8: the limit is in bytes.
      ['two-byte UTF-8', '\u00e9'.repeat(MAX_MESSAGE_BYTES / 2 + 1)],
    ];
    for (const [what, message] of tooLong) {
      const body = assertError(
        await post('/logs', { json: { message, w: 1 } }),
        413,
        'MESSAGE_TOO_LARGE',
        `message ${what}`,
      );
      assert.match(body.error.message, new RegExp(`\\b${MAX_MESSAGE_BYTES}\\b`), 'name the limit');
    }
    const batchTooLong = assertError(
      await post('/logs', { json: { messages: ['ok', 'x'.repeat(MAX_MESSAGE_BYTES + 1)], w: 1 } }),
      413,
      'MESSAGE_TOO_LARGE',
      'batch with one message too long',
    );
    assert.match(batchTooLong.error.message, new RegExp(`\\b${MAX_MESSAGE_BYTES}\\b`));

    const bigBody = assertError(
      await post('/logs', { json: { message: 'ok', w: 1, pad: 'p'.repeat(MAX_BODY_BYTES + 100) } }),
      413,
      'MESSAGE_TOO_LARGE',
      'body over MAX_BODY_BYTES',
    );
    assert.match(bigBody.error.message, new RegExp(`\\b${MAX_BODY_BYTES}\\b`), 'name the limit');

    const manyMessages = Array.from({ length: MAX_BATCH_COUNT + 1 }, (_, i) => `many-${i}`);
    const tooMany = assertError(
      await post('/logs', { json: { messages: manyMessages, w: 1 } }),
      413,
      ['MESSAGE_TOO_LARGE', 'INVALID_REQUEST'],
      'batch over MAX_BATCH_COUNT',
    );
    assert.match(tooMany.error.message, new RegExp(`\\b${MAX_BATCH_COUNT}\\b`), 'name the limit');
    assert.equal(await masterLastId(), before, 'a refused append must not be stored');

    // Exactly at the limits is fine.
    for (const message of ['y'.repeat(MAX_MESSAGE_BYTES), '\u00e9'.repeat(MAX_MESSAGE_BYTES / 2)]) {
      const answer = await cluster.append({ message, w: 1 });
      assert.equal(answer.status, 201, answer.text);
      assert.equal(answer.body.log.message, message);
    }
    const full = await cluster.append<BatchBody>({
      messages: manyMessages.slice(0, MAX_BATCH_COUNT),
      w: 1,
    });
    assert.equal(full.status, 201, full.text);
    assert.equal(full.body.logs.length, MAX_BATCH_COUNT);
    await cluster.converged(before + 2 + MAX_BATCH_COUNT);
  });
});

test('batch append: consecutive ids, all or none, one write concern, Location of the first', async () => {
  await annotated(cluster, async () => {
    const before = await masterLastId();
    const answer = await cluster.append<BatchBody>({ messages: ['ba', 'bb', 'bc'], w: 3 });
    assert.equal(answer.status, 201, answer.text);
    assert.deepEqual(answer.body, {
      status: 'success',
      logs: [
        { id: before + 1, message: 'ba' },
        { id: before + 2, message: 'bb' },
        { id: before + 3, message: 'bc' },
      ],
      w: 3,
      acks: 3,
    });
    assert.equal(answer.headers.get('location'), `/logs/${before + 1}`);
    for (const sub of cluster.secondaries) {
      const theirs = await cluster.logs(sub);
      assert.deepEqual(theirs.slice(before), answer.body.logs, `${sub.name} holds the batch (w=3)`);
    }
    // One bad message refuses the whole batch.
    assertError(
      await post('/logs', { json: { messages: ['ok-1', '', 'ok-2'], w: 1 } }),
      400,
      'INVALID_REQUEST',
      'batch with an empty message',
    );
    assert.equal(await masterLastId(), before + 3);
    assert.ok(!(await cluster.logs()).some((entry) => entry.message.startsWith('ok-')));
  });
});

test('GET /logs: since/limit, 404 NOT_FOUND, 400 on bad values; on master and secondaries, /messages alias', async () => {
  await annotated(cluster, async () => {
    for (let index = 0; index < 5; index++) {
      assert.equal((await cluster.append({ message: `read-${index}`, w: 3 })).status, 201);
    }
    const all = await cluster.converged(5);
    const lastId = all.length;
    for (const node of cluster.nodes) {
      for (const base of ['/logs', '/messages']) {
        const at = `${node.name} ${base}`;
        const get = (query: string): Promise<HttpAnswer<LogEntry[]>> =>
          request<LogEntry[]>(`${node.url}${base}${query}`);
        const whole = await get('');
        assert.equal(whole.status, 200, at);
        assert.match(whole.headers.get('content-type') ?? '', /application\/json/);
        assert.deepEqual(whole.body, all, at);
        assert.deepEqual((await get('?since=0')).body, all, at);
        assert.deepEqual((await get('?since=1&limit=1')).body, all.slice(1, 2), at);
        assert.deepEqual((await get(`?since=${lastId - 2}`)).body, all.slice(-2), at);
        assert.deepEqual((await get(`?since=${lastId}`)).body, [], at);
        assert.deepEqual((await get(`?since=${lastId + 100}`)).body, [], at);
        assert.deepEqual((await get('?limit=0')).body, [], at);
        assert.deepEqual((await get('?limit=2')).body, all.slice(0, 2), at);
        assert.deepEqual(
          (await get('?limit=1000')).body,
          all.slice(0, MAX_READ_LIMIT),
          `${at}: limit capped by MAX_READ_LIMIT`,
        );
        for (const query of [
          '?since=-1',
          '?since=abc',
          '?since=1.5',
          '?limit=-2',
          '?limit=x',
          '?limit=2.5',
          '?since=1&limit=-1',
        ]) {
          assertError(await get(query), 400, 'INVALID_REQUEST', `${at}${query}`);
        }

        const one = await request<LogEntry>(`${node.url}${base}/2`);
        assert.equal(one.status, 200, at);
        assert.deepEqual(one.body, all[1]);
        for (const id of [lastId + 1, 999_999, 0]) {
          assertError(await request(`${node.url}${base}/${id}`), 404, 'NOT_FOUND', `${at}/${id}`);
        }
      }
    }
  });
});

test('POST to a secondary -> 421 NOT_MASTER naming the master URL; nothing stored', async () => {
  await annotated(cluster, async () => {
    const before = await masterLastId();
    for (const sub of cluster.secondaries) {
      const sizeBefore = (await cluster.logs(sub)).length;
      for (const path of ['/logs', '/messages']) {
        const answer = await request(`${sub.url}${path}`, {
          method: 'POST',
          json: { message: 'wrong node', w: 1 },
        });
        const body = assertError(answer, 421, 'NOT_MASTER', `${sub.name} POST ${path}`);
        assert.equal(body['master'], cluster.master.url);
        assert.ok(body.error.message.includes(cluster.master.url), 'the message names the master');
      }
      assert.equal((await cluster.logs(sub)).length, sizeBefore);
    }
    assert.equal(await masterLastId(), before);
    assert.ok(!(await cluster.logs()).some((entry) => entry.message === 'wrong node'));
  });
});

test('/messages aliases: POST /messages appends like POST /logs', async () => {
  await annotated(cluster, async () => {
    const before = await masterLastId();
    const answer = await cluster.append({ message: 'via alias', w: 2 }, { path: '/messages' });
    assert.equal(answer.status, 201, answer.text);
    assert.deepEqual(answer.body.log, { id: before + 1, message: 'via alias' });
    assert.equal(answer.body.w, 2);
    assert.ok(answer.body.acks >= 2);
    assert.match(
      answer.headers.get('location') ?? '',
      new RegExp(`^/(logs|messages)/${before + 1}$`),
    );
    const viaQuery = await cluster.append({ message: 'alias query w' }, { path: '/messages?w=1' });
    assert.equal(viaQuery.status, 201, viaQuery.text);
    assert.equal(viaQuery.body.w, 1);
    const read = await request<LogEntry>(`${cluster.master.url}/messages/${before + 1}`);
    assert.deepEqual(read.body, { id: before + 1, message: 'via alias' });
  });
});

test('unknown routes answer the error envelope', async () => {
  await annotated(cluster, async () => {
    for (const node of cluster.nodes) {
      assertError(await request(`${node.url}/no-such-thing`), 404, 'NOT_FOUND', node.name);
    }
  });
});
