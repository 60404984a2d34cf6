import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplicatedLogError } from './errors.js';
import { findMaster } from './find-master.js';
import type { Health } from './wire.js';

/** A failover node's /health, as far as findMaster reads it. */
function node(role: string, epoch: number, master: string | null): Health {
  return {
    role,
    epoch,
    failover: true,
    master: master === null ? null : { name: master, url: master },
  } as unknown as Health;
}

function asking(answers: Record<string, Health | undefined>): {
  healthOf: (url: string) => Promise<Health>;
  asked: string[];
} {
  const asked: string[] = [];
  const healthOf = (url: string): Promise<Health> => {
    asked.push(url);
    const health = answers[url];
    return health === undefined
      ? Promise.reject(new ReplicatedLogError(`nothing answers at ${url}`, { code: 'UNREACHABLE' }))
      : Promise.resolve(health);
  };
  return { healthOf, asked };
}

test('the node that says it is master wins; of two, the higher epoch', async () => {
  const { healthOf } = asking({
    a: node('master', 1, 'a'),
    b: node('secondary', 2, 'c'),
    c: node('master', 2, 'c'),
  });
  assert.equal((await findMaster(['a', 'b', 'c'], healthOf)).url, 'c');
});

test('a master named by a node but not in the list is asked itself', async () => {
  const { healthOf, asked } = asking({
    a: node('secondary', 3, 'http://x/'),
    'http://x': node('master', 3, 'x'),
  });
  const found = await findMaster(['a', 'b'], healthOf);
  assert.equal(found.url, 'http://x');
  assert.deepEqual(asked, ['a', 'b', 'http://x']);
});

test('a named master that does not say so itself is not the answer', async () => {
  const { healthOf } = asking({ a: node('secondary', 3, 'x'), x: node('candidate', 4, null) });
  await assert.rejects(findMaster(['a'], healthOf), (error: ReplicatedLogError) => {
    assert.equal(error.code, 'NOT_MASTER');
    assert.match(
      error.message,
      /a: secondary of epoch 3, master x; x: candidate of epoch 4, master unknown/,
    );
    return true;
  });
});

test("no node answering: the first node's own error", async () => {
  const { healthOf } = asking({});
  await assert.rejects(findMaster(['a', 'b'], healthOf), /nothing answers at a/);
});
