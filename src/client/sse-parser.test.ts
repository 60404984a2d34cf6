import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser, type SseItem } from './sse-parser.js';

const event = (data: string, id?: string, name = 'message'): SseItem => ({
  kind: 'event',
  id,
  event: name,
  data,
});

/** Streams and what they parse to, whatever the pieces they arrive in. */
const CASES: readonly { name: string; text: string; items: readonly SseItem[] }[] = [
  {
    name: 'a node stream: retry, entries, a keep-alive',
    text: 'retry: 1000\n\nid: 1\ndata: {"id":1}\n\n: keep-alive\n\nid: 2\ndata: {"id":2}\n\n',
    items: [
      { kind: 'retry', ms: 1000 },
      event('{"id":1}', '1'),
      { kind: 'comment', text: 'keep-alive' },
      event('{"id":2}', '2'),
    ],
  },
  {
    // A CR as the last character waits for the next one (it may start a CRLF), so this stream
    // ends its last event with a CRLF.
    name: 'CRLF and lone CR line ends',
    text: 'id: 1\r\ndata: a\r\n\r\nid: 2\rdata: b\r\r\n',
    items: [event('a', '1'), event('b', '2')],
  },
  {
    name: 'data lines joined with LF; no space after the colon; one space only is dropped',
    text: 'data:x\ndata:  y\ndata\n\n',
    items: [event('x\n y\n')],
  },
  {
    name: 'event names, unknown fields ignored, a bad retry ignored',
    text: 'event: note\nfoo: bar\nretry: 1s\ndata: z\n\n',
    items: [event('z', undefined, 'note')],
  },
  {
    name: 'an event without data is dropped, and its id does not leak into the next',
    text: 'id: 5\n\ndata: q\n\n',
    items: [event('q')],
  },
  {
    name: 'an id with NUL is ignored',
    text: 'id: 1\u00002\ndata: n\n\n',
    items: [event('n')],
  },
  {
    name: 'an event without its empty line at the end is not dispatched',
    text: 'id: 1\ndata: a\n\nid: 2\ndata: half',
    items: [event('a', '1')],
  },
  {
    name: 'non-ASCII text',
    text: 'id: 7\ndata: {"message":"żółw 🐢"}\n\n',
    items: [event('{"message":"żółw 🐢"}', '7')],
  },
];

function parseIn(pieces: readonly string[]): SseItem[] {
  const parser = new SseParser();
  return pieces.flatMap((piece) => parser.feed(piece));
}

for (const { name, text, items } of CASES) {
  test(`SSE: ${name}, whole`, () => {
    assert.deepEqual(parseIn([text]), items);
  });

  test(`SSE: ${name}, split at every place and one character at a time`, () => {
    for (let at = 0; at <= text.length; at++) {
      assert.deepEqual(parseIn([text.slice(0, at), text.slice(at)]), items, `split at ${at}`);
    }
    assert.deepEqual(parseIn(Array.from(text)), items);
    assert.deepEqual(parseIn(Array.from(text).flatMap((char) => [char, ''])), items);
  });
}

test('SSE: a line longer than the limit without its end is refused, naming the limit', () => {
  const parser = new SseParser(16);
  assert.deepEqual(parser.feed('data: 0123456789'), []);
  assert.throws(() => parser.feed('ab'), /longer than 16 characters/);
});
