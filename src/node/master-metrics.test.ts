import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MasterMetrics } from './master-metrics.js';
import type { MasterHealth } from './master-node.js';
import { NodeMetrics } from './metrics.js';

function health(overrides: Partial<MasterHealth> = {}): MasterHealth {
  return {
    node: 'master',
    role: 'master',
    status: 'ok',
    readOnly: false,
    logId: 'log-1',
    epoch: 1,
    quorum: { size: 3, required: 2, healthy: 2 },
    log: { lastId: 12 },
    waitingAppends: 4,
    secondaries: [
      {
        name: 'sub1',
        url: 'http://127.0.0.1:8001',
        status: 'Healthy',
        ackedId: 12,
        lag: 0,
        lastContactMs: 250,
        missedProbes: 0,
        mode: 'replicate',
        inflightBatches: 1,
        failedAttempts: 0,
        lastError: null,
      },
      {
        name: 'sub2',
        url: 'http://127.0.0.1:8002',
        status: 'Unhealthy',
        ackedId: 5,
        lag: 7,
        lastContactMs: null,
        missedProbes: 6,
        mode: 'probe',
        inflightBatches: 0,
        failedAttempts: 3,
        lastError: 'timeout',
      },
    ],
    ...overrides,
  };
}

/** The sample lines of a metric family, without comments. */
function samples(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('MasterMetrics', () => {
  it('counts appends by outcome and w, and times those with a w', async () => {
    const metrics = new NodeMetrics('master', 'master');
    const master = new MasterMetrics(metrics, () => ({
      health: () => health(),
      storeWritesInFlight: 0,
    }));
    master.appendEnded('created', 3, 2);
    master.appendEnded('created', 3, 40);
    master.appendEnded('read_only', 2, 0.1);
    master.appendEnded('invalid_request', undefined, 0.1);
    const text = await metrics.text();
    assert.deepEqual(samples(text, 'rlog_appends_total'), [
      'rlog_appends_total{outcome="created",w="3"} 2',
      'rlog_appends_total{outcome="read_only",w="2"} 1',
      'rlog_appends_total{outcome="invalid_request",w="none"} 1',
    ]);
    assert.ok(text.includes('rlog_append_duration_seconds_count{w="3"} 2'));
    assert.ok(text.includes('rlog_append_duration_seconds_bucket{le="0.0025",w="3"} 1'));
    assert.ok(!text.includes('rlog_append_duration_seconds_count{w="none"}'));
  });

  it('counts answered batches, retries and probes per secondary', async () => {
    const metrics = new NodeMetrics('master', 'master');
    const master = new MasterMetrics(metrics, () => ({
      health: () => health(),
      storeWritesInFlight: 0,
    }));
    master.replicationEnded('sub1', true, 10, 1);
    master.replicationEnded('sub2', false, 10, 500);
    master.replicationEnded('sub2', false, 10, 500);
    master.probeEnded('sub2', false);
    const text = await metrics.text();
    assert.deepEqual(samples(text, 'rlog_replication_batches_total'), [
      'rlog_replication_batches_total{secondary="sub1"} 1',
    ]);
    assert.deepEqual(samples(text, 'rlog_replication_retries_total'), [
      'rlog_replication_retries_total{secondary="sub2"} 2',
    ]);
    assert.deepEqual(samples(text, 'rlog_replicated_entries_total'), [
      'rlog_replicated_entries_total{secondary="sub1"} 10',
    ]);
    assert.deepEqual(samples(text, 'rlog_heartbeats_total'), [
      'rlog_heartbeats_total{secondary="sub2",result="missed"} 1',
    ]);
  });

  it('reads lag, health states and queue depths from the node at scrape time', async () => {
    const metrics = new NodeMetrics('master', 'master');
    let current = health();
    new MasterMetrics(metrics, () => ({ health: () => current, storeWritesInFlight: 3 }));
    let text = await metrics.text();
    assert.deepEqual(samples(text, 'rlog_replication_lag_entries'), [
      'rlog_replication_lag_entries{secondary="sub1"} 0',
      'rlog_replication_lag_entries{secondary="sub2"} 7',
    ]);
    assert.deepEqual(samples(text, 'rlog_secondary_health'), [
      'rlog_secondary_health{secondary="sub1",state="Healthy"} 1',
      'rlog_secondary_health{secondary="sub1",state="Suspected"} 0',
      'rlog_secondary_health{secondary="sub1",state="Unhealthy"} 0',
      'rlog_secondary_health{secondary="sub2",state="Healthy"} 0',
      'rlog_secondary_health{secondary="sub2",state="Suspected"} 0',
      'rlog_secondary_health{secondary="sub2",state="Unhealthy"} 1',
    ]);
    assert.deepEqual(samples(text, 'rlog_secondary_last_contact_seconds'), [
      'rlog_secondary_last_contact_seconds{secondary="sub1"} 0.25',
      'rlog_secondary_last_contact_seconds{secondary="sub2"} -1',
    ]);
    assert.deepEqual(samples(text, 'rlog_waiting_appends'), ['rlog_waiting_appends 4']);
    assert.deepEqual(samples(text, 'rlog_store_writes_in_flight'), [
      'rlog_store_writes_in_flight 3',
    ]);
    assert.deepEqual(samples(text, 'rlog_read_only'), ['rlog_read_only 0']);
    assert.deepEqual(samples(text, 'rlog_node_info'), [
      'rlog_node_info{node="master",role="master"} 1',
    ]);

    // The next scrape sees the node as it is then.
    current = health({ readOnly: true, status: 'read-only', log: { lastId: 13 } });
    text = await metrics.text();
    assert.deepEqual(samples(text, 'rlog_read_only'), ['rlog_read_only 1']);
    assert.deepEqual(samples(text, 'rlog_log_last_id'), ['rlog_log_last_id 13']);
  });

  it('times fsyncs in seconds', async () => {
    const metrics = new NodeMetrics('sub1', 'secondary');
    metrics.fsyncObserved(3);
    const text = await metrics.text();
    assert.ok(text.includes('rlog_fsync_duration_seconds_count 1'));
    assert.ok(text.includes('rlog_fsync_duration_seconds_sum 0.003'));
  });
});
