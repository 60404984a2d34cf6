import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  callersOf,
  formatSummary,
  originOf,
  summarize,
  type CpuProfile,
} from './profile-summary.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

void describe('profile summary', () => {
  void it('names where a frame lives: a package, node itself, one of our files, or V8', () => {
    assert.equal(originOf(frame('f', 'file:///app/node_modules/fastify/lib/route.js')), 'fastify');
    assert.equal(
      originOf(frame('f', 'file:///app/node_modules/@sinclair/typebox/x.js')),
      '@sinclair/typebox',
    );
    assert.equal(originOf(frame('f', 'node:internal/http/server')), 'node:http');
    assert.equal(originOf(frame('f', 'node:events')), 'node:events');
    assert.equal(
      originOf(frame('f', 'file:///app/dist/node/master-node.js')),
      'node/master-node.js',
    );
    assert.equal(originOf(frame('(garbage collector)')), '(garbage collector)');
    assert.equal(originOf(frame('writev')), '(native)');
  });

  void it('adds up self time per origin and function, leaving idle time out of busy time', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)') },
        { id: 2, callFrame: frame('append', 'file:///app/dist/node/master-node.js', 9) },
        { id: 3, callFrame: frame('writev') },
      ],
      samples: [1, 2, 2, 3, 1],
      timeDeltas: [1000, 2000, 3000, 4000, 5000],
    };
    const summary = summarize(profile);
    assert.equal(summary.totalMs, 15);
    assert.equal(summary.busyMs, 9);
    assert.deepEqual(summary.byOrigin, [
      ['node/master-node.js', 5],
      ['(native)', 4],
    ]);
    assert.deepEqual(summary.byFunction[0], ['append (node/master-node.js:10)', 5]);
    const text = formatSummary('master', summary, 5);
    assert.match(text, /^master: 0\.01 s profiled, 0\.01 s busy \(60%\)$/m);
    assert.match(text, /^ +55\.6% {2}node\/master-node\.js$/m);
    assert.match(text, /^ +44\.4% {2}\(native\)$/m);
  });
  void it('attributes the self time of a function to its callers, two frames up', () => {
    const url = 'file:///app/dist/node/';
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 3] },
        { id: 2, callFrame: frame('store', `${url}a.js`, 9), children: [4] },
        { id: 3, callFrame: frame('encode', `${url}b.js`, 19), children: [5] },
        { id: 4, callFrame: frame('write', 'node:buffer', 1101), children: [6] },
        { id: 5, callFrame: frame('write', 'node:buffer', 1101) },
        { id: 6, callFrame: frame('utf8Write') },
      ],
      samples: [4, 5, 5, 6, 2],
      timeDeltas: [1000, 2000, 3000, 4000, 5000],
    };
    assert.deepEqual(callersOf(profile, 'write (node:buffer'), [
      ['encode (node/b.js:20) < (root) ((root):1)', 5],
      ['store (node/a.js:10) < (root) ((root):1)', 1],
    ]);
    assert.deepEqual(callersOf(profile, 'utf8Write'), [
      ['write (node:buffer:1102) < store (node/a.js:10)', 4],
    ]);
    assert.deepEqual(callersOf(profile, 'nothing'), []);
  });
});
