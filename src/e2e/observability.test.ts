/**
 * What operators and tools read from a running cluster: `/metrics` follows what happens (appends,
 * a partition, lag, recovery), `/openapi.json` and `/docs` are served, and the answers of a real
 * cluster match the response schemas the document publishes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { openApiDocument } from '../http/openapi.js';
import {
  AppendAnswer,
  BatchAppendAnswer,
  EntriesAnswer,
  EntryAnswer,
  ErrorAnswer,
  FaultsAnswer,
  MasterHealthAnswer,
  SecondaryHealthAnswer,
  WriteConcernTimeoutAnswer,
} from '../http/response-schemas.js';
import { request, waitFor, withCluster, type Cluster } from './harness.js';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

function assertShape(schema: TSchema, value: unknown, what: string): void {
  const check = TypeCompiler.Compile(schema);
  const errors = [...check.Errors(value)].map((error) => `${error.path}: ${error.message}`);
  assert.deepEqual(errors, [], `${what} does not match its schema: ${JSON.stringify(value)}`);
}

/** One sample's value from the Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function metrics(cluster: Cluster, node = 'master'): Promise<string> {
  const answer = await request(`${cluster.node(node).url}/metrics`);
  assert.equal(answer.status, 200);
  assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return answer.text;
}

test('metrics, the API description and answer shapes on a real cluster', async () => {
  await withCluster(
    {
      nodeEnv: { sub2: { FAULT_INJECTION: 'true' } },
      masterEnv: { REPLICATION_TIMEOUT_MS: '300' },
    },
    async (cluster) => {
      // Answers match the published schemas.
      const single = await cluster.append({ message: 'one', w: 3 });
      assert.equal(single.status, 201);
      assertShape(AppendAnswer, single.body, 'append answer');
      const batch = await cluster.append({ messages: ['two', 'three'], w: 2 });
      assert.equal(batch.status, 201);
      assertShape(BatchAppendAnswer, batch.body, 'batch append answer');
      await cluster.converged(3);
      assertShape(EntriesAnswer, (await request(`${cluster.master.url}/logs`)).body, 'GET /logs');
      assertShape(EntryAnswer, (await request(`${cluster.node('sub1').url}/logs/2`)).body, 'entry');
      assertShape(MasterHealthAnswer, await cluster.health(), 'master health');
      const subHealth = await request(`${cluster.node('sub2').url}/health`);
      assertShape(SecondaryHealthAnswer, subHealth.body, 'secondary health');
      const invalid = await cluster.append({ message: 'x', w: 9 });
      assert.equal(invalid.status, 400);
      assertShape(ErrorAnswer, invalid.body, 'error answer');
      const notMaster = await request(`${cluster.node('sub1').url}/logs`, {
        json: { message: 'x' },
      });
      assertShape(ErrorAnswer, notMaster.body, 'NOT_MASTER answer');

      // Metrics once the master sees sub2 Healthy and caught up: a moment of CPU starvation on a
      // busy machine can make it Suspected for a heartbeat or two, or its last ack not in yet.
      let text = await waitFor(
        async () => {
          const now = await metrics(cluster);
          return sample(now, 'rlog_secondary_health{secondary="sub2",state="Healthy"}') === 1 &&
            sample(now, 'rlog_replication_lag_entries{secondary="sub2"}') === 0
            ? now
            : undefined;
        },
        10_000,
        'sub2 Healthy with lag 0 in the metrics',
      );
      assert.equal(sample(text, 'rlog_appends_total{outcome="created",w="3"}'), 1);
      assert.equal(sample(text, 'rlog_appends_total{outcome="created",w="2"}'), 1);
      assert.equal(sample(text, 'rlog_appends_total{outcome="invalid_request",w="none"}'), 1);
      assert.equal(sample(text, 'rlog_append_duration_seconds_count{w="3"}'), 1);
      assert.equal(sample(text, 'rlog_log_last_id'), 3);
      assert.equal(sample(text, 'rlog_replication_lag_entries{secondary="sub2"}'), 0);
      assert.equal(sample(text, 'rlog_secondary_health{secondary="sub2",state="Healthy"}'), 1);
      assert.ok((sample(text, 'rlog_replicated_entries_total{secondary="sub1"}') ?? 0) >= 3);
      assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0, 'process metrics');

      // A partition: sub2 turns Unhealthy, lags, and batches to it are retried.
      const faults = await request(`${cluster.node('sub2').url}/admin/faults`, {
        method: 'PUT',
        json: { partitioned: true },
      });
      assertShape(FaultsAnswer, faults.body, 'faults answer');
      await cluster.waitForStatus('sub2', 'Unhealthy', 10_000);
      assert.equal((await cluster.append({ message: 'four', w: 1 })).status, 201);
      const timedOut = await cluster.append({ message: 'five', w: 3, timeoutMs: 100 });
      assert.equal(timedOut.status, 504);
      assertShape(WriteConcernTimeoutAnswer, timedOut.body, 'WRITE_CONCERN_TIMEOUT answer');
      text = await waitFor(
        async () => {
          const now = await metrics(cluster);
          // sub1 Healthy too: it may be Suspected for a moment on a busy machine.
          return (sample(now, 'rlog_replication_retries_total{secondary="sub2"}') ?? 0) > 0 &&
            sample(now, 'rlog_secondary_health{secondary="sub1",state="Healthy"}') === 1
            ? now
            : undefined;
        },
        10_000,
        'a retried batch to sub2 and sub1 Healthy in the metrics',
      );
      assert.equal(sample(text, 'rlog_secondary_health{secondary="sub2",state="Unhealthy"}'), 1);
      assert.equal(sample(text, 'rlog_secondary_health{secondary="sub1",state="Healthy"}'), 1);
      assert.equal(sample(text, 'rlog_replication_lag_entries{secondary="sub2"}'), 2);
      assert.equal(sample(text, 'rlog_appends_total{outcome="timeout",w="3"}'), 1);
      assert.ok((sample(text, 'rlog_heartbeats_total{secondary="sub2",result="missed"}') ?? 0) > 0);
      // The master times a held request out (300 ms) and retries after a backoff: between the
      // two, none is held. Waited for, not read at one moment.
      const held = await waitFor(
        async () => {
          const now = await metrics(cluster, 'sub2');
          return (sample(now, 'rlog_replicate_requests_in_flight') ?? 0) >= 1 ? now : undefined;
        },
        10_000,
        'sub2 holding a replicate request while partitioned',
        20,
      );
      assert.equal(sample(held, 'rlog_fault_partitioned'), 1);
      // Requests the master gave up on (it timed out and closed the connection) are dropped
      // during the partition, not piled up until it heals.
      const dropped = await waitFor(
        async () => {
          const now = await metrics(cluster, 'sub2');
          return (sample(now, 'rlog_replicate_requests_total{result="abandoned"}') ?? 0) > 0
            ? now
            : undefined;
        },
        10_000,
        'abandoned requests dropped by sub2',
      );
      const inFlight = sample(dropped, 'rlog_replicate_requests_in_flight') ?? 0;
      assert.ok(inFlight <= 8, `${inFlight} requests held: only the master's current ones`);

      // Healed: it catches up and the lag returns to 0.
      await cluster.setFaults('sub2', { partitioned: false });
      await cluster.converged(5);
      await cluster.waitForStatus('sub2', 'Healthy', 10_000);
      text = await metrics(cluster);
      assert.equal(sample(text, 'rlog_replication_lag_entries{secondary="sub2"}'), 0);
      const sub2 = await metrics(cluster, 'sub2');
      assert.equal(sample(sub2, 'rlog_log_last_id'), 5);
      assert.ok((sample(sub2, 'rlog_replicate_requests_total{result="ok"}') ?? 0) >= 1);
      assert.ok((sample(sub2, 'rlog_stored_entries_total') ?? 0) >= 5);

      // The document and its page, on every node.
      for (const node of cluster.nodes) {
        const document = await request(`${node.url}/openapi.json`);
        assert.equal(document.status, 200);
        assert.deepEqual(
          document.body,
          JSON.parse(JSON.stringify(openApiDocument(PACKAGE_VERSION))),
          `${node.name} /openapi.json`,
        );
        const page = await request(`${node.url}/docs`);
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(page.text, /POST<\/span> <code>\/logs<\/code>/);
      }
    },
  );
});
