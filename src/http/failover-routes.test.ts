import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { entries } from '../core/fixtures.js';
import type { Rollback } from '../node/failover/rollbacks.js';
import type { Faults } from '../node/secondary-node.js';
import { ManualClock } from '../testing/manual-clock.js';
import { createServer } from './create-server.js';
import {
  registerFailoverRoutes,
  ROLLBACKS_PATH,
  type FailoverRoutesNode,
} from './failover-routes.js';

const TOKEN = 'failover-routes-token';

const ROLLBACKS: readonly Rollback[] = [
  {
    atMs: 1_700_000_000_000,
    epoch: 3,
    master: 'n2',
    fromId: 5,
    toId: 6,
    entries: entries(5, 6, 2),
    keys: [['order-5', 5, 2]],
  },
  {
    atMs: 1_700_000_000_500,
    epoch: 4,
    master: 'n3',
    fromId: 5,
    toId: 5,
    entries: entries(5, 5, 3),
    keys: [],
  },
];

function server(clusterToken: string | undefined, rollbacks: readonly Rollback[] = ROLLBACKS) {
  let faults: Faults = { delayMs: 0, errorRate: 0, partitioned: false };
  const node: FailoverRoutesNode = {
    get faults() {
      return faults;
    },
    setFaults: (change) => (faults = { ...faults, ...change }),
    rollbacks: () => rollbacks,
    // More than listed: the list is bounded, the count is not.
    rolledBackEntries: 40,
  };
  const app = createServer({
    logger: pino({ enabled: false }),
    clock: new ManualClock(),
    maxBodyBytes: 1 << 20,
    maxMessageBytes: 1024,
  });
  registerFailoverRoutes(app, node, { clusterToken, faultInjection: false });
  return app;
}

void describe(`GET ${ROLLBACKS_PATH}`, () => {
  const refused: { name: string; headers: Record<string, string> }[] = [
    { name: 'no token', headers: {} },
    { name: 'a wrong token', headers: { authorization: 'Bearer wrong' } },
    { name: 'the token without Bearer', headers: { authorization: TOKEN } },
  ];
  for (const { name, headers } of refused) {
    void it(`answers 401 UNAUTHORIZED to ${name}`, async () => {
      const app = server(TOKEN);
      try {
        const answer = await app.inject({ method: 'GET', url: ROLLBACKS_PATH, headers });
        assert.equal(answer.statusCode, 401);
        const body = answer.json<{
          status: string;
          error: { code: string };
          rollbacks?: unknown;
        }>();
        assert.equal(body.status, 'error');
        assert.equal(body.error.code, 'UNAUTHORIZED');
        assert.equal(body.rollbacks, undefined, 'nothing of the list leaks');
      } finally {
        await app.close();
      }
    });
  }

  const listed: { name: string; token: string | undefined; rollbacks: readonly Rollback[] }[] = [
    { name: 'with the cluster token', token: TOKEN, rollbacks: ROLLBACKS },
    { name: 'with no cluster token configured', token: undefined, rollbacks: ROLLBACKS },
    { name: 'when nothing was discarded', token: TOKEN, rollbacks: [] },
  ];
  for (const { name, token, rollbacks } of listed) {
    void it(`lists the rollbacks and the total ${name}`, async () => {
      const app = server(token, rollbacks);
      try {
        const answer = await app.inject({
          method: 'GET',
          url: ROLLBACKS_PATH,
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        });
        assert.equal(answer.statusCode, 200);
        assert.match(String(answer.headers['content-type']), /^application\/json/);
        assert.deepEqual(answer.json(), {
          rolledBackEntries: 40,
          rollbacks: JSON.parse(JSON.stringify(rollbacks)) as unknown,
        });
      } finally {
        await app.close();
      }
    });
  }
});
