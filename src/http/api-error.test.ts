import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeValue, invalidWriteConcern, unauthorizedError } from './api-error.js';

describe('describeValue', () => {
  it('shows short values as JSON and cuts long strings', () => {
    assert.equal(describeValue('two'), '"two"');
    assert.equal(describeValue(7.5), '7.5');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue('x'.repeat(100_000)), `"${'x'.repeat(40)}"... (100000 characters)`);
  });

  it('names arrays and objects by kind, however deep, without serializing them', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level++) deep = [deep];
    assert.equal(describeValue(deep), 'an array');
    assert.equal(describeValue({ a: 1 }), 'an object');
    assert.match(invalidWriteConcern(deep, 3).message, /from 1 to 3 .*; got an array$/);
  });
});

describe('unauthorizedError', () => {
  it('names the token the endpoint needs', () => {
    assert.match(unauthorizedError().message, /CLUSTER_TOKEN/);
    assert.match(unauthorizedError('API_TOKEN').message, /the API token .*API_TOKEN/);
  });
});
