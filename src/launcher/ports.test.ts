import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fetchRefuses } from '../config/bad-ports.js';
import { freePort, freePortsIn } from './ports.js';

const CLAIM_DIR = join(tmpdir(), 'rlog-port-claims');
const PORTS_JS = fileURLToPath(new URL('./ports.js', import.meta.url));

void describe('freePort', () => {
  void it('hands out distinct ports below the ephemeral range, each claimed by this process', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    assert.equal(new Set(ports).size, ports.length, 'no port twice');
    for (const port of ports) {
      assert.ok(port >= 10_000 && port <= 19_999, `${port} in 10000-19999`);
      const claim = join(CLAIM_DIR, String(port));
      assert.equal(readFileSync(claim, 'utf8'), String(process.pid), `claim of ${port}`);
    }
  });

  void it('never hands out a port that fetch() refuses (10080 is in its range)', async () => {
    // The first draw lands on 10080 (a flaky CI run once got it: the launcher's readiness check
    // could not reach the node); the draws after it are random again.
    const random = Math.random.bind(Math);
    const draws = mock.method(Math, 'random', () =>
      draws.mock.callCount() === 0 ? 0.008 : random(),
    );
    try {
      const port = await freePort();
      assert.ok(draws.mock.callCount() >= 2, 'drew again after 10080');
      assert.notEqual(port, 10_080);
    } finally {
      draws.mock.restore();
    }
    assert.deepEqual(
      [10_080, 6000, 1, 10_081, 8000].map((p) => [p, fetchRefuses(p)]),
      [
        [10_080, true],
        [6000, true],
        [1, true],
        [10_081, false],
        [8000, false],
      ],
    );
  });

  void it('freePortsIn skips the ports fetch() refuses', async () => {
    const ports = await freePortsIn({ min: 10_080, max: 10_090 }, 1, '127.0.0.1');
    assert.equal(ports.length, 1);
    assert.notEqual(ports[0], 10_080);
  });

  void it("removes a process's claims when it exits", () => {
    // A child claims three ports and prints them; it exits, so its claims are removed.
    const script = `import { freePort } from ${JSON.stringify(PORTS_JS)};
      const ports = [await freePort(), await freePort(), await freePort()];
      console.log(JSON.stringify(ports));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const ports = JSON.parse(child.stdout) as number[];
    assert.equal(ports.length, 3);
    for (const port of ports) {
      assert.equal(existsSync(join(CLAIM_DIR, String(port))), false, `claim of ${port} released`);
    }
  });
});
