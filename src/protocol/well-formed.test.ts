import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWellFormed } from './well-formed.js';

void describe('isWellFormed', () => {
  void it('accepts ordinary text, pairs included', () => {
    for (const text of ['', 'plain', 'ünïcødé', '🚀 rocket', '\u2028', 'a\ud83d\ude80b']) {
      assert.equal(isWellFormed(text), true, JSON.stringify(text));
    }
  });

  void it('refuses a lone high or low surrogate anywhere', () => {
    for (const text of ['\ud800', 'a\ud800', '\ud800b', '\udc00', 'x\udc00y', '\ude80\ud83d']) {
      assert.equal(isWellFormed(text), false, JSON.stringify(text));
    }
  });
});
