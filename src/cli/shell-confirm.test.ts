/**
 * `rlog shell` at a terminal: a single word close to a command is asked about before it is
 * appended (No by default). Runs the shell in-process on a pretend terminal, against the client's
 * fake server, so that the question and the requests it leads to can be checked exactly.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { created, fakeServer } from '../client/fake-server.js';
import { runShell } from './shell.js';

const MASTER_HEALTH = {
  status: 200,
  body: {
    node: 'master',
    role: 'master',
    status: 'ok',
    readOnly: false,
    quorum: { size: 1, required: 1, healthy: 1 },
    log: { lastId: 0 },
    secondaries: [],
  },
};

/** The shell waits for a line: its prompt, or a question's `[y/N] `, ends what it printed. */
const WAITS_FOR_A_LINE = /(rlog w=\S+> |\[y\/N\] )$/;

/**
 * Types `lines` one at a time, each once the shell shows it waits for one (as a person does), then
 * ends the input (Ctrl-D).
 */
async function typed(lines: readonly string[]): Promise<{ output: string; posted: string[] }> {
  const server = await fakeServer([MASTER_HEALTH, created(1, 'lsit')]);
  try {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let shown = '';
    let waiting: (() => void) | undefined;
    output.setEncoding('utf8').on('data', (chunk: string) => {
      shown += chunk;
      if (WAITS_FOR_A_LINE.test(shown)) waiting?.();
    });
    const prompted = async (): Promise<void> => {
      if (WAITS_FOR_A_LINE.test(shown)) return;
      await new Promise<void>((resolve) => (waiting = resolve));
    };
    const done = runShell({
      master: server.url,
      nodes: [],
      apiToken: undefined,
      w: 1,
      timeoutMs: undefined,
      quiet: true,
      env: { RLOG_HISTORY: '' },
      input,
      output,
      errors: output,
    });
    for (const line of lines) {
      await prompted();
      shown += '\n'; // what the shell prints next is after this line's prompt
      input.write(`${line}\r`);
    }
    input.end();
    assert.equal(await done, 0);
    const posted = server.requests
      .filter((request) => request.method === 'POST')
      .map((request) => (JSON.parse(request.body) as { message: string }).message);
    return { output: shown, posted };
  } finally {
    await server.close();
  }
}

test('a near-command is asked about, and not appended without a yes', async () => {
  const { output, posted } = await typed(['lsit', 'n', 'clear', '']);
  assert.match(output, /append 'lsit'\? did you mean list \[y\/N\] /);
  assert.match(output, /append 'clear'\? it is not a command here \("help" lists them\) \[y\/N\] /);
  assert.deepEqual(posted, []);
});

test('a yes appends the word as typed', async () => {
  const { output, posted } = await typed(['lsit', 'y']);
  assert.match(output, /appended as id 1/);
  assert.deepEqual(posted, ['lsit']);
});
