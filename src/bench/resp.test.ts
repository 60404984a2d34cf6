import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { RespConnection } from './resp-connection.js';
import { encodeCommand, RespError, RespParser, type RespValue } from './resp.js';
import { parseInPieces } from './stream-parser.js';

/** Every reply in `bytes`, fed to a fresh parser cut at every offset in `cuts`. */
function repliesOf(bytes: Buffer, cuts: readonly number[]): RespValue[] {
  return parseInPieces(new RespParser(), bytes, cuts);
}

describe('RESP', () => {
  it('encodes a command as an array of bulk strings, counting bytes not characters', () => {
    assert.equal(
      encodeCommand(['XADD', 'bench', '*', 'm', 'é']).toString('utf8'),
      '*5\r\n$4\r\nXADD\r\n$5\r\nbench\r\n$1\r\n*\r\n$1\r\nm\r\n$2\r\né\r\n',
    );
  });

  it('parses simple strings, errors, integers, bulk strings, nulls and arrays', () => {
    const bytes = Buffer.from(
      '+OK\r\n-ERR wrong\r\n:2\r\n:-1\r\n$11\r\n1700000-0\r\n\r\n$-1\r\n*2\r\n$1\r\na\r\n:3\r\n*0\r\n',
    );
    assert.deepEqual(repliesOf(bytes, []), [
      'OK',
      new RespError('ERR wrong'),
      2,
      -1,
      '1700000-0\r\n',
      null,
      ['a', 3],
      [],
    ]);
  });

  it('gives the same replies however the bytes are split across chunks', () => {
    const bytes = Buffer.from('$15\r\n1718000000000-0\r\n:2\r\n*2\r\n$3\r\nabc\r\n-ERR x\r\n');
    const whole = repliesOf(bytes, []);
    assert.equal(whole.length, 3);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(repliesOf(bytes, [cut]), whole, `cut at ${cut}`);
    }
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, index) => index + 1);
    assert.deepEqual(repliesOf(bytes, everyByte), whole);
  });

  it('keeps an incomplete reply until its last byte arrives', () => {
    const parser = new RespParser();
    assert.deepEqual(parser.push(Buffer.from('$5\r\nhel')), []);
    assert.equal(parser.pendingBytes, 7);
    assert.deepEqual(parser.push(Buffer.from('lo\r')), []);
    assert.deepEqual(parser.push(Buffer.from('\n:7\r\n')), ['hello', 7]);
  });

  it('refuses bytes that are not RESP', () => {
    assert.throws(() => new RespParser().push(Buffer.from('HTTP/1.1 200 OK\r\n')), /not a RESP/);
    assert.throws(() => new RespParser().push(Buffer.from(':12a\r\n')), /not a RESP integer/);
  });
});

/** A server answering every whole command with `reply`, sent a byte at a time. */
async function byteByByteServer(reply: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    const parser = new RespParser();
    socket.on('data', (chunk) => {
      // Commands are arrays: the parser reads them as well as replies.
      for (let commands = parser.push(chunk).length; commands > 0; commands--) {
        for (const byte of Buffer.from(reply)) socket.write(Buffer.from([byte]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('RespConnection', () => {
  it('answers a pipelined request with all its replies, however they are split', async () => {
    const { server, port } = await byteByByteServer('$3\r\n1-0\r\n:2\r\n');
    const connection = new RespConnection('127.0.0.1', port, 5000);
    try {
      const payload = Buffer.concat([encodeCommand(['XADD']), encodeCommand(['WAIT', '2', '0'])]);
      for (let round = 0; round < 3; round++) {
        // Two commands, so two answers of two replies each: four, of which the request waits for 4.
        assert.deepEqual(await connection.request(payload, 4), ['1-0', 2, '1-0', 2]);
      }
    } finally {
      connection.close();
      server.close();
    }
  });

  it('rejects the request in flight when the server closes the connection', async () => {
    const server = createServer((socket) => {
      socket.once('data', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const connection = new RespConnection(
      '127.0.0.1',
      (server.address() as AddressInfo).port,
      5000,
    );
    try {
      await assert.rejects(connection.request(encodeCommand(['PING']), 1), /closed/);
    } finally {
      connection.close();
      server.close();
    }
  });
});
