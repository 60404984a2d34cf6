import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { historyPath, loadHistory, saveHistory } from './shell-history.js';

const dir = mkdtempSync(join(tmpdir(), 'rlog-history-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

void describe('shell history', () => {
  void it('lives in RLOG_HISTORY, else ~/.rlog_history; empty turns it off', () => {
    assert.equal(historyPath({}, '/home/ann'), '/home/ann/.rlog_history');
    assert.equal(historyPath({ RLOG_HISTORY: '/tmp/h' }, '/home/ann'), '/tmp/h');
    assert.equal(historyPath({ RLOG_HISTORY: '' }, '/home/ann'), undefined);
  });

  void it('a missing file is an empty history', () => {
    assert.deepEqual(loadHistory(join(dir, 'absent')), []);
  });

  void it('is saved oldest first, read back newest first (readline order), private', () => {
    const path = join(dir, 'round-trip');
    saveHistory(path, ['third', 'second', 'first']);
    assert.equal(readFileSync(path, 'utf8'), 'first\nsecond\nthird\n');
    assert.deepEqual(loadHistory(path), ['third', 'second', 'first']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  void it('is bounded when saved and when loaded, keeping the newest lines', () => {
    const path = join(dir, 'bounded');
    saveHistory(path, ['5', '4', '3', '2', '1'], 3);
    assert.equal(readFileSync(path, 'utf8'), '3\n4\n5\n');
    writeFileSync(path, 'a\n\nb\nc\nd\n');
    assert.deepEqual(loadHistory(path, 2), ['d', 'c']);
    saveHistory(path, []);
    assert.equal(readFileSync(path, 'utf8'), '');
  });
});
