import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { entriesJson, jsonString } from './entry-json.js';

void describe('jsonString', () => {
  void it('is JSON.stringify, for the texts it only quotes and for those it escapes', () => {
    const cases = [
      '',
      'hello world',
      ' !#[]~',
      'say "hi"',
      'back\\slash',
      'tab\there',
      'line\nbreak',
      '\u001f',
      '\u007f',
      'é',
      '日本',
      '😀',
      '\ud800 lone high surrogate',
      'lone low \udc00',
    ];
    for (const text of cases) assert.equal(jsonString(text), JSON.stringify(text), text);
  });

  void it('is JSON.stringify for any string (fast-check: printable ASCII, any UTF-16 code unit)', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
    for (const unit of ['grapheme-ascii', codeUnit] as const) {
      fc.assert(
        fc.property(fc.string({ unit, maxLength: 64 }), (text) => {
          assert.equal(jsonString(text), JSON.stringify(text));
        }),
        { numRuns: 3000, seed: 15 },
      );
    }
  });

  void it('makes the entries of an answer parse back to themselves', () => {
    const entries = [
      { id: 1, epoch: 1, message: 'plain' },
      { id: 2, epoch: 1, message: 'with "quotes" and \\' },
    ];
    assert.deepEqual(
      JSON.parse(entriesJson(entries)),
      entries.map(({ id, message }) => ({ id, message })),
    );
  });
});
