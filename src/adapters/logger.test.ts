import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadNodeConfig } from '../config/config.js';
import { prettyLogLine } from './pretty-log.js';

const here = (module: string): string => new URL(module, import.meta.url).href;

/** The lines a process writes through the node's logger in `format` (stdout is a pipe here). */
function loggedLines(format: string): Promise<string[]> {
  const script = `
    import { createLogger } from ${JSON.stringify(here('./logger.js'))};
    const logger = createLogger('sub1', 'secondary', 'info', ${JSON.stringify(format)});
    logger.info({ event: 'append-acked', id: 7, peer: 'sub 2' }, 'entry 7 acknowledged');
    logger.debug({ event: 'hidden' }, 'below the level');
    logger.error({ event: 'store-failed', err: new Error('disk full') }, 'cannot write');
  `;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 10_000, encoding: 'utf8' },
      (error, stdout) => {
        if (error !== null) reject(new Error(`the logging process failed: ${error.message}`));
        else resolve(stdout.split('\n').filter((line) => line !== ''));
      },
    );
  });
}

describe('LOG_FORMAT', () => {
  it('is json unless set; pretty or json are taken in any case; anything else names the choices', () => {
    assert.equal(loadNodeConfig('master', [], {}).config.logFormat, 'json');
    assert.equal(loadNodeConfig('master', [], { LOG_FORMAT: 'Pretty' }).config.logFormat, 'pretty');
    assert.equal(
      loadNodeConfig('secondary', ['--log-format', 'json'], { LOG_FORMAT: 'pretty' }).config
        .logFormat,
      'json',
    );
    assert.throws(
      () => loadNodeConfig('master', [], { LOG_FORMAT: 'xml' }),
      /--log-format \/ LOG_FORMAT must be json .* or pretty .*; got "xml"/,
    );
  });

  it('json: one JSON object per event, with the node, role, level, time and fields', async () => {
    const lines = await loggedLines('json');
    assert.equal(lines.length, 2, lines.join('\n'));
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(first['node'], 'sub1');
    assert.equal(first['role'], 'secondary');
    assert.equal(first['level'], 'info');
    assert.equal(first['event'], 'append-acked');
    assert.equal(first['id'], 7);
    assert.match(String(first['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('pretty: the same events, one readable line each, without colour on a pipe', async () => {
    const lines = await loggedLines('pretty');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(
      lines[0]!,
      /^\d\d:\d\d:\d\d\.\d{3} sub1 INFO {2}append-acked: entry 7 acknowledged {2}id=7 peer="sub 2"$/,
    );
    assert.match(
      lines[1]!,
      /^\d\d:\d\d:\d\d\.\d{3} sub1 ERROR store-failed: cannot write {2}err="disk full"$/,
    );
    assert.ok(!lines.some((line) => line.includes('\x1b[')), 'no escape codes');
  });
});

describe('prettyLogLine', () => {
  const line = JSON.stringify({
    level: 'warn',
    time: '2026-01-02T03:04:05.678Z',
    node: 'master',
    role: 'master',
    event: 'peer-suspected',
    peer: 'sub2',
    misses: 2,
    msg: 'sub2 missed 2 heartbeats',
  });

  it('pads the node name, paints the level on a terminal only, keeps the other fields', () => {
    assert.equal(
      prettyLogLine(line, 8, false),
      '03:04:05.678 master   WARN  peer-suspected: sub2 missed 2 heartbeats  peer=sub2 misses=2',
    );
    assert.equal(
      prettyLogLine(line, 6, true),
      '03:04:05.678 master \x1b[33mWARN \x1b[0m peer-suspected: sub2 missed 2 heartbeats  peer=sub2 misses=2',
    );
  });

  it('leaves a line that is not a JSON object as it is, and cuts very long fields', () => {
    for (const text of ['plain text', '[1,2]', '42', 'null']) {
      assert.equal(prettyLogLine(text, 6, false), text);
    }
    const long = prettyLogLine(
      JSON.stringify({ node: 'm', msg: 'x', blob: 'y'.repeat(500) }),
      1,
      false,
    );
    assert.ok(long.length < 260, `${long.length} characters`);
    assert.ok(long.endsWith('…'));
  });
});
