import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './api-error.js';
import { entryEvent, streamStartAfter } from './follow-sse.js';

void describe('log stream wire format', () => {
  void it('writes one entry as one event: its id, and the entry as GET /logs shows it', () => {
    assert.equal(
      entryEvent({ id: 7, epoch: 3, message: 'two\nlines "quoted"' }),
      'id: 7\ndata: {"id":7,"message":"two\\nlines \\"quoted\\""}\n\n',
    );
  });

  void it('starts after Last-Event-ID when there is one, else after since, else from the start', () => {
    assert.equal(streamStartAfter(undefined, undefined), 0);
    assert.equal(streamStartAfter(5, undefined), 5);
    assert.equal(streamStartAfter(5, '9'), 9);
    assert.equal(streamStartAfter(5, '2'), 2, 'the header wins even when it is behind since');
    assert.equal(streamStartAfter(5, ''), 5, 'an empty header is none');
    assert.equal(streamStartAfter(undefined, ['4', '6']), 4);
  });

  void it('refuses a Last-Event-ID that is not an entry id, naming it', () => {
    for (const header of ['abc', '-1', '1.5', '1e3', '1234567890123456']) {
      assert.throws(
        () => streamStartAfter(0, header),
        (error: unknown) =>
          error instanceof ApiError &&
          error.statusCode === 400 &&
          error.message.includes(JSON.stringify(header)),
        header,
      );
    }
  });
});
