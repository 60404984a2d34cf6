/**
 * Reads of a log larger than one chunk: streamed whole and in order on every node, and appends
 * keep being answered while a large read is under way.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { READ_CHUNK_ENTRIES } from '../http/read-routes.js';
import { annotated, Cluster, request, type LogEntry } from './harness.js';

let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start();
});

after(async () => {
  // Unset when the start failed (Cluster.start has stopped its processes then).
  await (cluster as Cluster | undefined)?.stop();
});

const ADDED = 5 * READ_CHUNK_ENTRIES + 345;

test('GET /logs larger than one chunk streams the whole log, in order, on every node', async () => {
  await annotated(cluster, async () => {
    for (let offset = 0; offset < ADDED; offset += 1000) {
      const messages = Array.from(
        { length: Math.min(1000, ADDED - offset) },
        (_, index) => `big-${offset + index} "quoted" \u00e9`,
      );
      assert.equal((await cluster.append({ messages, w: 3 })).status, 201);
    }
    const all = await cluster.converged(ADDED);
    assert.equal(all.length, ADDED);
    for (const node of cluster.nodes) {
      const response = await fetch(`${node.url}/logs`);
      assert.equal(response.status, 200, node.name);
      assert.match(response.headers.get('content-type') ?? '', /application\/json/);
      // Streamed: the length is not known when the answer starts.
      assert.equal(response.headers.get('content-length'), null, node.name);
      const body = (await response.json()) as LogEntry[];
      assert.equal(body.length, ADDED, node.name);
      assert.deepEqual(body, all, `${node.name}: the whole log`);
      assert.ok(
        body.every((entry, index) => entry.id === index + 1),
        `${node.name}: ids in order`,
      );
      const tail = await request<LogEntry[]>(`${node.url}/logs?since=1234`);
      assert.deepEqual(tail.body, all.slice(1234), `${node.name}: since=1234`);
    }
  });
});

test('appends are answered while a large read streams', async () => {
  await annotated(cluster, async () => {
    const before = (await cluster.logs()).length;
    // A read under way (its first bytes are in, the rest not consumed yet) holds up no append.
    const response = await fetch(`${cluster.master.url}/logs`);
    const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const first = await reader.read();
    assert.equal(first.done, false);
    for (let index = 0; index < 5; index++) {
      const answer = await cluster.append({ message: `during-read-${index}`, w: 3 });
      assert.equal(answer.status, 201);
    }
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      text += new TextDecoder().decode(next.value, { stream: true });
    }
    const streamed = JSON.parse(text) as LogEntry[];
    // The read shows the log as it was when it started: the appends made during it come after.
    assert.equal(streamed.length, before);
    assert.equal((await cluster.logs()).length, before + 5);
  });
});
