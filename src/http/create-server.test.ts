import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBlank } from './create-server.js';

void describe('isBlank', () => {
  void it('is true for an empty body and JSON whitespace only', () => {
    assert.equal(isBlank(''), true);
    assert.equal(isBlank(' \t\r\n '), true);
  });

  void it('is false as soon as anything else appears, including non-JSON whitespace', () => {
    assert.equal(isBlank('{}'), false);
    assert.equal(isBlank('   x'), false);
    assert.equal(isBlank('\u00a0'), false);
  });
});
