import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { HttpConnection } from './http-connection.js';
import { encodePost, HttpResponseParser, type HttpAnswer } from './http-wire.js';
import { parseInPieces } from './stream-parser.js';

/** Every answer in `bytes`, fed to a fresh parser cut at every offset in `cuts`. */
function answersOf(bytes: Buffer, cuts: readonly number[]): HttpAnswer[] {
  return parseInPieces(new HttpResponseParser(), bytes, cuts);
}

/** Starts `server` on a free loopback port; its port. */
async function listening(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const LENGTH =
  'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"status":1}\n';
const CHUNKED =
  'HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n' +
  '5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n';
const NO_BODY = 'HTTP/1.1 204 No Content\r\nDate: now\r\n\r\n';
const INTERIM = 'HTTP/1.1 100 Continue\r\n\r\n';

void describe('HTTP wire', () => {
  void it('encodes a POST once: request line, host, JSON type, length in bytes, body', () => {
    const bytes = encodePost(new URL('http://127.0.0.1:9100'), '/logs', '{"message":"é"}');
    assert.equal(
      bytes.toString(),
      'POST /logs HTTP/1.1\r\nhost: 127.0.0.1:9100\r\ncontent-type: application/json\r\n' +
        'content-length: 16\r\n\r\n{"message":"é"}',
    );
    assert.throws(() => encodePost(new URL('https://x'), '/', ''), /plain HTTP only/);
  });

  void it('frames answers by length, by chunks and without a body, skipping an interim one', () => {
    const bytes = Buffer.from(LENGTH + INTERIM + CHUNKED + NO_BODY + LENGTH);
    const expected: HttpAnswer[] = [
      { status: 201, bodyStart: '{"status":1}\n', closes: false },
      { status: 503, bodyStart: 'hello, world', closes: false },
      { status: 204, bodyStart: '', closes: false },
      { status: 201, bodyStart: '{"status":1}\n', closes: false },
    ];
    assert.deepEqual(answersOf(bytes, []), expected);
    // The same answers however the bytes are cut: at every single offset, and byte by byte.
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(answersOf(bytes, [cut]), expected, `cut at ${cut}`);
    }
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, index) => index + 1);
    assert.deepEqual(answersOf(bytes, everyByte), expected);
  });

  void it('keeps an incomplete answer until its last byte arrives', () => {
    const parser = new HttpResponseParser();
    assert.deepEqual(parser.push(Buffer.from(LENGTH.slice(0, -1))), []);
    assert.equal(parser.pendingBytes, LENGTH.length - 1);
    assert.deepEqual(parser.push(Buffer.from(LENGTH.slice(-1))), [
      { status: 201, bodyStart: '{"status":1}\n', closes: false },
    ]);
  });

  void it('keeps only the start of a long body', () => {
    const body = 'x'.repeat(5000);
    const answers = answersOf(
      Buffer.from(`HTTP/1.1 400 Bad\r\ncontent-length: ${body.length}\r\n\r\n${body}`),
      [100, 4000],
    );
    assert.deepEqual(answers, [{ status: 400, bodyStart: 'x'.repeat(200), closes: false }]);
    const chunks = `c8\r\n${'y'.repeat(200)}\r\n`.repeat(3);
    const chunked = `HTTP/1.1 400 Bad\r\ntransfer-encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`;
    assert.deepEqual(answersOf(Buffer.from(chunked), [150]), [
      { status: 400, bodyStart: 'y'.repeat(200), closes: false },
    ]);
  });

  void it('says when the server closes after an answer', () => {
    const closes = (head: string): boolean | undefined =>
      new HttpResponseParser().push(Buffer.from(`${head}\r\ncontent-length: 0\r\n\r\n`))[0]?.closes;
    assert.equal(closes('HTTP/1.1 200 OK\r\nConnection: Close'), true);
    assert.equal(closes('HTTP/1.1 200 OK\r\nconnection: keep-alive'), false);
    assert.equal(closes('HTTP/1.1 200 OK'), false);
    assert.equal(closes('HTTP/1.0 200 OK'), true);
    assert.equal(closes('HTTP/1.0 200 OK\r\nConnection: keep-alive'), false);
  });

  void it('refuses what it cannot frame', () => {
    const cases: [string, RegExp][] = [
      ['SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP\/1\.x status line/],
      ['HTTP/1.1 200 OK\r\n\r\n', /neither content-length nor chunked/],
      ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', /is not a length/],
      ['HTTP/1.1 200 OK\r\ncontent-length: 99999999\r\n\r\n', /over 16777216/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /chunk size "zz"/],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nab\r\n', /not followed by CRLF/],
      [`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(70_000)}`, /head is over 65536 bytes/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => new HttpResponseParser().push(Buffer.from(text)), message, text);
    }
  });
});

/** A TCP server that answers each request's first bytes with `answer`, one byte per write. */
async function byteByByteServer(answer: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('data', () => {
      for (const byte of Buffer.from(answer)) socket.write(Buffer.of(byte));
    });
  });
  return { server, port: await listening(server) };
}

void describe('HttpConnection', () => {
  const request = encodePost(new URL('http://127.0.0.1:1'), '/logs', '{}');

  void it('answers one request after another on one connection, however the answer is split', async () => {
    let connections = 0;
    const { server, port } = await byteByByteServer(CHUNKED);
    server.on('connection', () => (connections += 1));
    const connection = new HttpConnection('127.0.0.1', port, 5000);
    try {
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(await connection.send(request), {
          status: 503,
          bodyStart: 'hello, world',
          closes: false,
        });
      }
      assert.equal(connections, 1);
    } finally {
      connection.close();
      server.close();
    }
  });

  void it('reads node:http’s answers, and opens a new connection after one closed', async () => {
    const server = createHttpServer((incoming, response) => {
      incoming.resume();
      incoming.on('end', () => {
        const close = incoming.headers['content-length'] === '2';
        response.writeHead(201, close ? { connection: 'close' } : {});
        response.write('{"a"');
        response.end(':1}');
      });
    });
    let connections = 0;
    server.on('connection', () => (connections += 1));
    const connection = new HttpConnection('127.0.0.1', await listening(server), 5000);
    try {
      // node:http answers these with chunked encoding, and closes after each: every request
      // opens a connection of its own.
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(await connection.send(request), {
          status: 201,
          bodyStart: '{"a":1}',
          closes: true,
        });
      }
      assert.equal(connections, 3);
    } finally {
      connection.close();
      server.close();
    }
  });

  void it('rejects the request in flight when the server closes, times out or says too much', async () => {
    const cases: [(socket: import('node:net').Socket) => void, RegExp][] = [
      [(socket) => socket.destroy(), /closed the connection/],
      [() => undefined, /no answer from http:\/\/127\.0\.0\.1:\d+ within 200 ms/],
      [(socket) => socket.write(LENGTH + LENGTH), /an HTTP answer nobody asked for/],
    ];
    for (const [answer, message] of cases) {
      const server = createServer((socket) => {
        socket.once('data', () => {
          answer(socket);
        });
      });
      const connection = new HttpConnection('127.0.0.1', await listening(server), 200);
      try {
        await assert.rejects(connection.send(request), message);
      } finally {
        connection.close();
        server.close();
      }
    }
    const closed = new HttpConnection('127.0.0.1', 1, 200);
    closed.close();
    await assert.rejects(closed.send(request), /HttpConnection: closed/);
  });
});
