/**
 * TLS_CERT / TLS_KEY: every node serves HTTPS, to clients and to the other nodes, with a
 * self-signed certificate made here by openssl; replication, heartbeats, the dashboard's polls
 * and the CLI all work over it, and nothing is served in plain text.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, fetch as undiciFetch, setGlobalDispatcher } from 'undici';
import {
  MAIN_JS,
  freePort,
  openConnections,
  runRlog,
  type CliRun,
  makeTemporaryDir,
  removeTemporaryDir,
  request,
  waitFor,
  withCluster,
} from './harness.js';

const TOKEN = 'tls-cluster-token';
let dir = '';
let certFile = '';
let keyFile = '';
let cert = '';

/** A self-signed certificate for 127.0.0.1 and localhost, valid for two days. */
function makeCertificate(into: string, name: string): { certFile: string; keyFile: string } {
  const paths = { certFile: join(into, `${name}.pem`), keyFile: join(into, `${name}-key.pem`) };
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      paths.keyFile,
      '-out',
      paths.certFile,
      '-days',
      '2',
      '-subj',
      `/CN=replicated-log ${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(
    made.status,
    0,
    `openssl could not make a certificate (install Debian's openssl): ${made.error?.message ?? made.stderr}`,
  );
  return paths;
}

/** Heartbeats over TLS in these tests (the harness's 100 ms is too short for handshakes under load). */
const TLS_HEARTBEAT_MS = 500;

before(() => {
  dir = makeTemporaryDir('rlog-tls-');
  ({ certFile, keyFile } = makeCertificate(dir, 'cluster'));
  cert = readFileSync(certFile, 'utf8');
  // This process's own fetch (the harness's requests) trusts the cluster's certificate.
  setGlobalDispatcher(new Agent({ connect: { ca: [cert] } }));
});

after(() => {
  removeTemporaryDir(dir);
});

test('TLS: clients and nodes talk HTTPS only; replication, heartbeats, the dashboard and the CLI work over it', async () => {
  await withCluster(
    {
      token: TOKEN,
      env: { TLS_CERT: certFile, TLS_KEY: keyFile, HEADERS_TIMEOUT_MS: '1500' },
      // A probe's timeout is the heartbeat interval: TLS handshakes on a busy 2-core machine
      // take longer than the tests' usual 100 ms, and every probe would count as missed.
      masterEnv: { HEARTBEAT_INTERVAL_MS: String(TLS_HEARTBEAT_MS) },
      secondaryEnv: { FAULT_INJECTION: 'true' },
    },
    async (cluster) => {
      assert.match(cluster.master.url, /^https:\/\//);
      for (const name of ['sub1', 'sub2'])
        await cluster.waitForStatus(name, 'Healthy', 20 * TLS_HEARTBEAT_MS);
      // Connections that never start their TLS handshake are closed like idle ones.
      const silent = await openConnections(cluster.master.url.replace('https:', 'http:'), 8);
      try {
        await Promise.all(
          silent.map((connection) =>
            connection.closedWithin(6000, 'a connection without a handshake'),
          ),
        );
      } finally {
        for (const connection of silent) connection.destroy();
      }
      const appended = await cluster.append({ message: 'over tls', w: 3 });
      assert.equal(appended.status, 201, appended.text);
      const log = await cluster.converged(1);
      assert.deepEqual(log, [{ id: 1, message: 'over tls' }]);
      // Healthy over heartbeats on https: waited for, as a node starved of CPU for a moment
      // can be Suspected for a heartbeat or two.
      const health = await waitFor(
        async () => {
          const now = await cluster.health();
          return now.secondaries.every((peer) => peer.status === 'Healthy') ? now : undefined;
        },
        10_000,
        'every secondary Healthy over heartbeats on https',
      );
      for (const peer of health.secondaries) assert.match(peer.url, /^https:\/\//);

      // The dashboard's polls of the secondaries trust the certificate too.
      const state = await request<{ nodes?: { name: string; entries?: unknown[] }[] }>(
        `${cluster.master.url}/dashboard/state`,
      );
      assert.equal(state.status, 200, state.text);
      assert.match(state.text, /over tls/);

      // Plain HTTP to an HTTPS port gets no answer; a client that does not trust the
      // certificate is refused by its own TLS check.
      const plain = cluster.master.url.replace('https:', 'http:');
      await assert.rejects(fetch(`${plain}/health`, { signal: AbortSignal.timeout(3000) }));
      await assert.rejects(
        undiciFetch(`${cluster.master.url}/health`, { dispatcher: new Agent() }),
        (error: unknown) =>
          /SELF_SIGNED|self-signed|certificate/i.test(
            String((error as { cause?: { code?: string; message?: string } }).cause?.code) +
              String((error as { cause?: { message?: string } }).cause?.message),
          ),
      );

      // The CLI trusts it through Node's own NODE_EXTRA_CA_CERTS.
      const cli = await runRlog(
        ['append', 'from the cli over tls', '-w', '3', '--master', cluster.master.url],
        { NODE_EXTRA_CA_CERTS: certFile },
      );
      assert.equal(cli.status, 0, cli.stderr);
      await cluster.converged(2);

      // The container's HEALTHCHECK (rlog healthcheck) asks over HTTPS when TLS_CERT is set.
      const check = (env: Record<string, string>): Promise<CliRun> =>
        runRlog(['healthcheck'], { PORT: String(cluster.master.port), ...env }, 10_000);
      assert.equal((await check({ TLS_CERT: certFile })).status, 0);
      const plainCheck = await check({});
      assert.equal(plainCheck.status, 1, 'plain HTTP to an HTTPS node is not healthy');
      assert.match(plainCheck.stderr, /rlog healthcheck: http:\/\/127\.0\.0\.1/);

      // Internal endpoints still need the cluster token over TLS.
      const forged = await request(`${cluster.node('sub1').url}/internal/heartbeat`, {
        json: { logId: 'x', epoch: 1, lastId: 0 },
      });
      assert.equal(forged.status, 401);
    },
  );
});

test('TLS: a master that does not trust the secondaries certificate replicates nothing to them', async () => {
  const other = makeCertificate(dir, 'other');
  const otherCert = readFileSync(other.certFile, 'utf8');
  // The master trusts only a different certificate (TLS_CA); the secondaries serve the cluster's.
  const trustFile = join(dir, 'trust-other.pem');
  writeFileSync(trustFile, otherCert);
  await withCluster(
    {
      secondaries: 1,
      env: { TLS_CERT: certFile, TLS_KEY: keyFile },
      // The untrusted secondary is never found Unhealthy while the test runs (1000 missed
      // probes): the master would then be read-only (1 of 2 nodes) and refuse the append below
      // with 503, however soon after the start it comes on a busy machine.
      masterEnv: {
        TLS_CA: trustFile,
        REPLICATION_TIMEOUT_MS: '500',
        HEARTBEAT_INTERVAL_MS: String(2 * TLS_HEARTBEAT_MS),
        UNHEALTHY_AFTER_MISSES: '1000',
      },
    },
    async (cluster) => {
      const refused = await cluster.append({ message: 'not replicated', w: 2, timeoutMs: 1500 });
      assert.equal(refused.status, 504, refused.text);
      assert.deepEqual(await cluster.logs('sub1'), []);
      const peer = await cluster.peer('sub1');
      assert.match(peer.lastError ?? '', /cert|self-signed|SELF_SIGNED/i);
    },
  );
});

test('TLS: a half-configured or unreadable certificate stops the node at start, naming the fix', async () => {
  const port = await freePort();
  const cases: [Record<string, string>, RegExp][] = [
    [{ TLS_CERT: certFile }, /TLS_CERT and --tls-key \/ TLS_KEY go together; only TLS_CERT is set/],
    [
      { TLS_CERT: join(dir, 'missing.pem'), TLS_KEY: keyFile },
      /TLS_CERT: cannot read .*missing\.pem \(ENOENT\)/,
    ],
    [{ TLS_CERT: keyFile, TLS_KEY: keyFile }, /TLS_CERT: .* holds no PEM CERTIFICATE/],
    [
      { TLS_CERT: certFile, TLS_KEY: makeCertificate(dir, 'stranger').keyFile },
      /TLS_CERT .* and TLS_KEY .* do not make a usable pair/,
    ],
  ];
  for (const [env, message] of cases) {
    const run = spawnSync(process.execPath, [MAIN_JS, 'secondary'], {
      env: { PATH: process.env['PATH'] ?? '', PORT: String(port), ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(run.status, 2, `${JSON.stringify(env)}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});
