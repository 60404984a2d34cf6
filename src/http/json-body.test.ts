import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isWellFormed } from '../protocol/well-formed.js';
import { isVerbatim } from './json-body.js';

void describe('isVerbatim', () => {
  for (const [text, verbatim] of [
    ['{"messages":["plain","text ~ with {} and []"],"w":3}', true],
    ['{"message":"DEL \u007f is not escaped by JSON"}', true],
    ['', true],
    ['{"message":"a \\"quote\\""}', false],
    ['{"message":"\\u0041"}', false],
    ['{"message":"caf\u00e9"}', false],
    ['{"message":"\\ud800"}', false],
  ] as const) {
    void it(`${verbatim ? 'holds' : 'does not hold'} for ${JSON.stringify(text)}`, () => {
      assert.equal(isVerbatim(Buffer.from(text)), verbatim);
    });
  }

  void it('when it holds, every string is its own JSON once quoted, one byte per character', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
    );
    let held = 0;
    fc.assert(
      fc.property(fc.array(text, { maxLength: 4 }), (messages) => {
        const bytes = Buffer.from(JSON.stringify({ messages }));
        if (!isVerbatim(bytes)) return;
        held += 1;
        for (const message of messages) {
          assert.equal(`"${message}"`, JSON.stringify(message));
          assert.equal(Buffer.byteLength(message), message.length);
          assert.ok(isWellFormed(message));
        }
      }),
      { numRuns: 2000 },
    );
    assert.ok(held >= 50, `the property held for only ${held} of 2000 bodies: too few to tell`);
  });
});
