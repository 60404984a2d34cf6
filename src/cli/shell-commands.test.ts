import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance } from './edit-distance.js';
import {
  appendDoubt,
  COMMAND_WORDS,
  isYes,
  nearCommand,
  completeShellLine,
  describeWriteConcern,
  parseShellLine,
  parseWriteConcern,
  SHELL_HELP,
  shellPrompt,
  writeConcernProblem,
  type ShellCommand,
} from './shell-commands.js';

void describe('parseShellLine', () => {
  const cases: [line: string, expected: ShellCommand][] = [
    ['hello world', { kind: 'append', message: 'hello world' }],
    // A message is appended as typed, spaces included.
    ['  spaced out  ', { kind: 'append', message: '  spaced out  ' }],
    ['List is not a command', { kind: 'append', message: 'List is not a command' }],
    ['listing', { kind: 'append', message: 'listing' }],
    ['', { kind: 'nothing' }],
    ['   \t ', { kind: 'nothing' }],
    ['list', { kind: 'list', node: undefined }],
    ['  list  ', { kind: 'list', node: undefined }],
    ['list master', { kind: 'list', node: 'master' }],
    ['list sub1', { kind: 'list', node: 'sub1' }],
    ['list http://127.0.0.1:8001', { kind: 'list', node: 'http://127.0.0.1:8001' }],
    ['w', { kind: 'show-w' }],
    ['w 2', { kind: 'set-w', w: 2 }],
    ['w majority', { kind: 'set-w', w: 'majority' }],
    ['w all', { kind: 'set-w', w: 'all' }],
    ['health', { kind: 'health' }],
    ['help', { kind: 'help' }],
    ['exit', { kind: 'exit' }],
    ['quit', { kind: 'exit' }],
    ['\\list of chores', { kind: 'append', message: 'list of chores' }],
    ['\\\\x', { kind: 'append', message: '\\x' }],
    ['\\ leading space', { kind: 'append', message: ' leading space' }],
    ['append help wanted', { kind: 'append', message: 'help wanted' }],
    ['append  two  spaces', { kind: 'append', message: ' two  spaces' }],
    ['append w 2', { kind: 'append', message: 'w 2' }],
    ['tail', { kind: 'tail', node: undefined, follow: false }],
    ['tail sub1', { kind: 'tail', node: 'sub1', follow: false }],
    ['tail -f', { kind: 'tail', node: undefined, follow: true }],
    ['tail -f sub2', { kind: 'tail', node: 'sub2', follow: true }],
    [
      'tail http://127.0.0.1:8001 -f',
      { kind: 'tail', node: 'http://127.0.0.1:8001', follow: true },
    ],
    ['tails of two cities', { kind: 'append', message: 'tails of two cities' }],
  ];
  for (const [line, expected] of cases) {
    void it(`${JSON.stringify(line)} is ${expected.kind}`, () => {
      assert.deepEqual(parseShellLine(line), expected);
    });
  }

  const invalid: [line: string, pattern: RegExp][] = [
    ['\\', /nothing to append after \\/],
    ['append', /append needs the text/],
    ['append   ', /append needs the text/],
    ['list of chores', /list takes at most one node name .*start it with \\/],
    ['w 0', /w takes a number of nodes from 1 .*got "0"/],
    ['w two', /got "two"/],
    ['w 2 3', /got "2 3"/],
    ['w -1', /got "-1"/],
    ['help me', /"help" takes no arguments; to append the line as it is, start it with \\/],
    ['exit now', /"exit" takes no arguments/],
    ['quit please', /"quit" takes no arguments/],
    ['health check', /"health" takes no arguments/],
    ['tail of the dog', /tail takes -f and at most one node name or URL.*start it with \\/],
    ['tail -n 5', /tail takes -f and at most one node/],
  ];
  for (const [line, pattern] of invalid) {
    void it(`${JSON.stringify(line)} is refused with the fix`, () => {
      const command = parseShellLine(line);
      assert.equal(command.kind, 'invalid');
      assert.match(command.message, pattern);
    });
  }
});

void describe('write concern', () => {
  void it('parseWriteConcern takes 1.., majority and all, nothing else', () => {
    assert.equal(parseWriteConcern('1'), 1);
    assert.equal(parseWriteConcern('12'), 12);
    assert.equal(parseWriteConcern('majority'), 'majority');
    assert.equal(parseWriteConcern('all'), 'all');
    for (const bad of ['0', '', '1.5', '-2', 'ALL', '2x']) {
      assert.equal(parseWriteConcern(bad), undefined, bad);
    }
  });

  void it('writeConcernProblem checks a number against the cluster size', () => {
    assert.equal(writeConcernProblem(3, 3), undefined);
    assert.equal(writeConcernProblem('all', 3), undefined);
    assert.equal(writeConcernProblem('majority', 1), undefined);
    assert.equal(
      writeConcernProblem(4, 3),
      'w=4 is more than the 3 nodes of this cluster: give 1 to 3, "majority" or "all"',
    );
  });

  void it('describeWriteConcern and the prompt show w', () => {
    assert.equal(describeWriteConcern(1), 'w=1: an append answers once the master holds it');
    assert.equal(describeWriteConcern(2), 'w=2: an append answers once 2 nodes hold it');
    assert.equal(
      describeWriteConcern('majority'),
      'w=majority: an append answers once a majority of the nodes hold it',
    );
    assert.equal(describeWriteConcern('all'), 'w=all: an append answers once every node holds it');
    assert.equal(shellPrompt('all'), 'rlog w=all> ');
    assert.equal(shellPrompt(2), 'rlog w=2> ');
  });
});

void describe('completeShellLine', () => {
  const names = ['master', 'sub1', 'sub2'];
  void it('completes command words at the start of a line', () => {
    assert.deepEqual(completeShellLine('li', names), [['list'], 'li']);
    assert.deepEqual(completeShellLine('he', names), [['health', 'help'], 'he']);
    assert.deepEqual(completeShellLine('', names), [[...COMMAND_WORDS], '']);
    assert.deepEqual(completeShellLine('zz', names), [[], 'zz']);
  });

  void it('completes node names after list and write concerns after w', () => {
    assert.deepEqual(completeShellLine('list s', names), [['sub1', 'sub2'], 's']);
    assert.deepEqual(completeShellLine('list ', names), [names, '']);
    assert.deepEqual(completeShellLine('w m', names), [['majority'], 'm']);
    assert.deepEqual(completeShellLine('tail ', names), [['-f', ...names], '']);
    assert.deepEqual(completeShellLine('tail -', names), [['-f'], '-']);
    assert.deepEqual(completeShellLine('tail -f s', names), [['sub1', 'sub2'], 's']);
  });

  void it('offers nothing inside a message', () => {
    assert.deepEqual(completeShellLine('hello wor', names), [[], 'hello wor']);
    assert.deepEqual(completeShellLine('list sub1 x', names), [[], 'list sub1 x']);
  });
});

void it('the help names every command and the escape', () => {
  for (const word of [
    'list',
    'list NAME|URL',
    'tail [NAME|URL]',
    'tail -f [NAME|URL]',
    'Ctrl-C',
    'w N|majority|all',
    'health',
    'help',
    'exit',
    'quit',
    'Ctrl-D',
    '\\list of chores',
    'append help wanted',
  ]) {
    assert.ok(SHELL_HELP.includes(word), word);
  }
});

void describe('appendDoubt: a single word close to a command is asked about first', () => {
  it('measures swaps as one edit', () => {
    assert.equal(editDistance('lsit', 'list'), 1);
    assert.equal(editDistance('hello', 'help'), 2);
    assert.equal(editDistance('', 'exit'), 4);
    assert.equal(editDistance('health', 'health'), 0);
  });

  it('names the command a typo is close to', () => {
    const cases: [word: string, near: string | undefined][] = [
      ['lsit', 'list'],
      ['lis', 'list'],
      ['List', 'list'],
      ['hlep', 'help'],
      ['helth', 'health'],
      ['exti', 'exit'],
      ['qiut', 'quit'],
      ['appnd', 'append'],
      ['tial', 'tail'],
      ['tai', 'tail'],
      ['hello', undefined],
      ['first', undefined],
      ['listing', undefined],
      ['hi', undefined],
      ['x', undefined],
    ];
    for (const [word, near] of cases) assert.equal(nearCommand(word), near, word);
  });

  it('asks about near-commands and shell habits, never about sentences or escaped lines', () => {
    assert.deepEqual(appendDoubt('lsit'), {
      question: "append 'lsit'? did you mean list [y/N] ",
      refusal: "'lsit' was not appended: did you mean list? To append it as it is, write \\lsit",
    });
    assert.match(
      appendDoubt('clear')?.question ?? '',
      /^append 'clear'\? it is not a command here/,
    );
    assert.equal(appendDoubt('lsit of chores'), undefined);
    assert.equal(appendDoubt('\\lsit'), undefined);
    assert.equal(appendDoubt('hello'), undefined);
  });

  it('takes only y or yes as a yes', () => {
    for (const answer of ['y', 'Y', 'yes', ' YES ']) assert.equal(isYes(answer), true, answer);
    for (const answer of ['', 'n', 'no', 'yep', 'list']) assert.equal(isYes(answer), false, answer);
  });
});
