/**
 * Starting nodes: invalid configuration stops a node with a message naming the option; a launched
 * node runs with glibc's malloc on huge pages unless told otherwise; an option of the other role is
 * ignored with a warning; a node under a few hundred idle or half-open client
 * connections keeps serving others (README "Configuration", docs/API.md "Limits and capacity").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { MALLOC_TUNABLES } from '../launcher/node-process.js';
import { HOST, MAIN_JS, NodeProcess, freePort, request, waitFor, withCluster } from './harness.js';

function runToExit(
  role: string,
  env: Record<string, string>,
  timeoutMs = 10_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, role], {
      env: { PATH: process.env['PATH'] ?? '', HOST, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${role} did not stop within ${timeoutMs} ms: ${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('invalid configuration stops the node with a message naming the option', async () => {
  const port = String(await freePort());
  const cases: [string, Record<string, string>, RegExp][] = [
    ['master', { PORT: port, HEARTBEAT_INTERVAL_MS: 'often' }, /HEARTBEAT_INTERVAL_MS/],
    ['master', { PORT: port, SECONDARIES: 'sub1=ftp://x' }, /SECONDARIES/],
    ['secondary', { PORT: port, ERROR_RATE: '2' }, /ERROR_RATE/],
    ['secondary', { PORT: port, DELAY_MS: '500-100' }, /DELAY_MS/],
    ['secondary', { PORT: '70000' }, /PORT/],
  ];
  await Promise.all(
    cases.map(async ([role, env, names]) => {
      const { code, output } = await runToExit(role, env);
      assert.notEqual(code, 0, `${role} ${JSON.stringify(env)} started: ${output}`);
      assert.match(output, names, `${role} ${JSON.stringify(env)}: ${output}`);
    }),
  );
});

/** The variable as the running process `pid` got it. */
function environmentOf(pid: number, name: string): string | undefined {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return entries.find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** Mappings of `pid` advised for transparent huge pages (madvise MADV_HUGEPAGE: VmFlags `hg`). */
function hugePageMappings(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
  return lines.filter((line) => line.startsWith('VmFlags:') && / hg\b/.test(line)).length;
}

/**
 * Why glibc's malloc cannot advise huge pages here, if it cannot: it does so (glibc 2.35 and
 * later) only where the kernel's THP mode is `madvise`.
 */
function whyNoMallocHugePages(): string | undefined {
  const report = process.report.getReport() as { header: { glibcVersionRuntime?: string } };
  const glibc = report.header.glibcVersionRuntime;
  const [major = 0, minor = 0] = (glibc ?? '').split('.').map(Number);
  if (glibc === undefined || major * 1000 + minor < 2035) {
    return `glibc ${glibc ?? 'absent'}: glibc.malloc.hugetlb needs 2.35`;
  }
  const mode = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').trim();
  return mode.includes('[madvise]') ? undefined : `the kernel's THP mode is ${mode}, not [madvise]`;
}

/** Starts a secondary, hands it to `check` with its pid, kills it. */
async function withSecondary(check: (pid: number) => void): Promise<void> {
  const node = new NodeProcess({ name: 'sub1', role: 'secondary', port: await freePort() });
  try {
    await node.start();
    check(node.pid ?? assert.fail('no pid'));
  } finally {
    await node.kill();
  }
}

test('a launched node runs with malloc huge pages; the caller’s GLIBC_TUNABLES wins', async (t: TestContext) => {
  if (process.platform !== 'linux') {
    t.skip(`SKIPPED: reads /proc, which ${process.platform} has not`);
    return;
  }
  const why = whyNoMallocHugePages();
  if (why !== undefined) t.diagnostic(`SKIPPED the huge-page mappings check: ${why}`);
  const saved = process.env['GLIBC_TUNABLES'];
  try {
    delete process.env['GLIBC_TUNABLES'];
    await withSecondary((pid) => {
      assert.equal(environmentOf(pid, 'GLIBC_TUNABLES'), MALLOC_TUNABLES);
      if (why === undefined) assert.ok(hugePageMappings(pid) > 0, 'malloc advised huge pages');
    });
    process.env['GLIBC_TUNABLES'] = 'glibc.malloc.hugetlb=0';
    await withSecondary((pid) => {
      assert.equal(environmentOf(pid, 'GLIBC_TUNABLES'), 'glibc.malloc.hugetlb=0');
      assert.equal(hugePageMappings(pid), 0, 'no mapping advised for huge pages');
    });
  } finally {
    if (saved === undefined) delete process.env['GLIBC_TUNABLES'];
    else process.env['GLIBC_TUNABLES'] = saved;
  }
});

test('an option of the other role is ignored with a warning', async () => {
  const node = new NodeProcess({
    name: 'sub1',
    role: 'secondary',
    port: await freePort(),
    env: {
      LOG_LEVEL: 'info',
      HEARTBEAT_INTERVAL_MS: '100',
      SECONDARIES: 'sub2=http://127.0.0.1:1',
    },
  });
  try {
    await node.start();
    await waitFor(
      () => node.output.some((line) => line.includes('HEARTBEAT_INTERVAL_MS')),
      10_000,
      'a warning naming HEARTBEAT_INTERVAL_MS',
    );
    const warning = node.output.find((line) => line.includes('HEARTBEAT_INTERVAL_MS')) ?? '';
    assert.match(warning, /"level":"warn"/, warning);
    assert.equal((await request(`${node.url}/logs`)).status, 200);
  } finally {
    await node.kill();
  }
});

test('a few hundred idle and half-open connections do not stop the master from serving', async () => {
  await withCluster({ secondaries: 1 }, async (cluster) => {
    const sockets: Socket[] = [];
    try {
      const port = cluster.master.port;
      await Promise.all(
        Array.from(
          { length: 300 },
          (_, index) =>
            new Promise<void>((resolve, reject) => {
              const socket = connect(port, HOST, () => {
                // Half of them send an unfinished request, the other half nothing at all.
                if (index % 2 === 0) {
                  socket.write(
                    'POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mess',
                  );
                }
                resolve();
              });
              socket.on('error', reject);
              sockets.push(socket);
            }),
        ),
      );
      const read = await request(`${cluster.master.url}/logs`, { timeoutMs: 5000 });
      assert.equal(read.status, 200);
      const append = await cluster.append({ message: 'still served', w: 2 }, { timeoutMs: 5000 });
      assert.equal(append.status, 201, append.text);
      // Healthy once the master has caught its breath: 300 connections opened at once can keep
      // it busy for a heartbeat or two on a slow machine, and sub1 Suspected meanwhile.
      await cluster.waitForStatus('sub1', 'Healthy', 10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});
