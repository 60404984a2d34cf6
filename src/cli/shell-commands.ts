/**
 * `rlog shell`'s little language, pure: what a typed line means, the help, the prompt, the
 * write-concern check and tab completion. The loop that talks to the cluster is shell.ts.
 */
import type { WriteConcern } from '../client/index.js';
import { editDistance } from './edit-distance.js';

export type ShellCommand =
  | { readonly kind: 'append'; readonly message: string }
  | { readonly kind: 'list'; readonly node: string | undefined }
  | { readonly kind: 'tail'; readonly node: string | undefined; readonly follow: boolean }
  | { readonly kind: 'show-w' }
  | { readonly kind: 'set-w'; readonly w: WriteConcern }
  | { readonly kind: 'health' }
  | { readonly kind: 'help' }
  | { readonly kind: 'exit' }
  | { readonly kind: 'nothing' }
  | { readonly kind: 'invalid'; readonly message: string };

/** The first words that make a line a command (lowercase only: "List" is appended). */
export const COMMAND_WORDS = [
  'append',
  'list',
  'tail',
  'w',
  'health',
  'help',
  'exit',
  'quit',
] as const;

/** How many of the last entries `tail` shows (and `tail -f` shows before it follows). */
export const SHELL_TAIL_ENTRIES = 10;

/** Starts a line that is appended as it is, even when it begins with a command word. */
export const ESCAPE = '\\';

const APPEND_HINT = `; to append the line as it is, start it with ${ESCAPE}`;

export const SHELL_HELP = `Type a line to append it to the log with the current write concern (w).
Commands (the first word of a line, lowercase):
  list                  the master's log
  list NAME|URL         a node's log: list sub1, list http://127.0.0.1:8001
  tail [NAME|URL]       the last ${SHELL_TAIL_ENTRIES} entries of the master's log, or a node's
  tail -f [NAME|URL]    the same, then each new entry as it comes, until Ctrl-C
                        (it reconnects by itself when the node restarts; not in a script)
  w                     show the write concern
  w N|majority|all      set it: an append answers once N nodes (1..cluster size) hold it
  health                the cluster's health, as "rlog health" prints it
  help                  this text
  exit, quit, Ctrl-D    leave
To append a line that starts with a command word, start it with ${ESCAPE} (${ESCAPE}list of chores
appends "list of chores"), or write "append " before it (append help wanted).
An append slower than a second shows what it waits for on stderr; Ctrl-C stops waiting.`;

/** What one line typed into (or piped to) the shell asks for. */
export function parseShellLine(line: string): ShellCommand {
  if (line.startsWith(ESCAPE)) {
    const message = line.slice(ESCAPE.length);
    return message === ''
      ? { kind: 'invalid', message: `nothing to append after ${ESCAPE}` }
      : { kind: 'append', message };
  }
  const words = line.trim().split(/\s+/);
  const [word = '', ...args] = words;
  if (word === '') return { kind: 'nothing' };
  switch (word) {
    case 'append': {
      // The text after "append " exactly as typed, keeping any further spaces.
      const message = line.trimStart().slice(word.length).replace(/^\s/, '');
      return message.trim() === ''
        ? { kind: 'invalid', message: 'append needs the text, as in: append list of chores' }
        : { kind: 'append', message };
    }
    case 'list':
      if (args.length > 1) {
        return {
          kind: 'invalid',
          message: `list takes at most one node name or URL (list, list sub1, list http://host:port)${APPEND_HINT}`,
        };
      }
      return { kind: 'list', node: args[0] };
    case 'tail':
      return parseTailArgs(args);
    case 'w':
      if (args.length === 0) return { kind: 'show-w' };
      return parseWriteConcernArgs(args);
    case 'health':
    case 'help':
    case 'exit':
    case 'quit':
      if (args.length > 0) {
        return { kind: 'invalid', message: `"${word}" takes no arguments${APPEND_HINT}` };
      }
      return { kind: word === 'quit' ? 'exit' : word };
    default:
      return { kind: 'append', message: line };
  }
}

/** `majority`, `all` or a whole number from 1; undefined for anything else. */
export function parseWriteConcern(value: string): WriteConcern | undefined {
  if (value === 'majority' || value === 'all') return value;
  return /^[0-9]+$/.test(value) && Number(value) >= 1 ? Number(value) : undefined;
}

function parseTailArgs(args: readonly string[]): ShellCommand {
  const follow = args.includes('-f');
  const rest = args.filter((arg) => arg !== '-f');
  if (rest.length > 1 || rest.some((arg) => arg.startsWith('-'))) {
    return {
      kind: 'invalid',
      message: `tail takes -f and at most one node name or URL (tail, tail -f, tail -f sub1)${APPEND_HINT}`,
    };
  }
  return { kind: 'tail', node: rest[0], follow };
}

function parseWriteConcernArgs(args: readonly string[]): ShellCommand {
  const w = args.length === 1 ? parseWriteConcern(args[0] ?? '') : undefined;
  if (w !== undefined) return { kind: 'set-w', w };
  return {
    kind: 'invalid',
    message: `w takes a number of nodes from 1 to the cluster size, "majority" or "all"; got "${args.join(' ')}"${APPEND_HINT}`,
  };
}

/** Why `w` does not fit a cluster of `size` nodes, or undefined when it does. */
export function writeConcernProblem(w: WriteConcern, size: number): string | undefined {
  if (typeof w !== 'number' || w <= size) return undefined;
  return `w=${w} is more than the ${size} nodes of this cluster: give 1 to ${size}, "majority" or "all"`;
}

/** What the current write concern means, for `w` alone and after setting it. */
export function describeWriteConcern(w: WriteConcern): string {
  const waits =
    w === 'all'
      ? 'every node holds it'
      : w === 'majority'
        ? 'a majority of the nodes hold it'
        : w === 1
          ? 'the master holds it'
          : `${w} nodes hold it`;
  return `w=${w}: an append answers once ${waits}`;
}

export function shellPrompt(w: WriteConcern): string {
  return `rlog w=${w}> `;
}

/**
 * Tab completion in readline's form ([candidates, the text they replace]): command words at the
 * start of a line, node names after "list" and "tail" (and -f), write concerns after "w".
 */
export function completeShellLine(
  line: string,
  names: readonly string[],
): [completions: string[], replaced: string] {
  const pick = (candidates: readonly string[], partial: string): [string[], string] => [
    candidates.filter((candidate) => candidate.startsWith(partial)),
    partial,
  ];
  if (!/\s/.test(line)) return pick(COMMAND_WORDS, line);
  const list = /^list\s+(\S*)$/.exec(line);
  if (list !== null) return pick(names, list[1] ?? '');
  const tail = /^tail\s+(-f\s+)?(\S*)$/.exec(line);
  if (tail !== null) return pick(tail[1] === undefined ? ['-f', ...names] : names, tail[2] ?? '');
  const w = /^w\s+(\S*)$/.exec(line);
  if (w !== null) return pick(['majority', 'all'], w[1] ?? '');
  return [[], line];
}

/**
 * Words people type into shells out of habit; in this one they would become entries. The shell
 * asks before appending one (and a script is stopped at it), as it does for a near-command.
 */
const SHELL_HABITS: readonly string[] = [
  'clear',
  'cls',
  'ls',
  'dir',
  'cd',
  'pwd',
  'history',
  'cat',
  'q',
  ':q',
  '?',
];

/**
 * The command a single typed word is probably a typo of: one letter off (two for the longer
 * words), two neighbours swapped, a different case, or a start of it (`lis`). "w" is too short
 * to guess at, and "hello" is two letters from "help" but a message.
 */
export function nearCommand(word: string): string | undefined {
  const lower = word.toLowerCase();
  let best: { readonly command: string; readonly distance: number } | undefined;
  for (const command of COMMAND_WORDS) {
    if (command.length < 3) continue;
    const distance =
      lower.length >= 2 && command.startsWith(lower) ? 0 : editDistance(lower, command);
    const allowed = command.length <= 4 ? 1 : 2;
    if (distance <= allowed && (best === undefined || distance < best.distance)) {
      best = { command, distance };
    }
  }
  return best?.command;
}

/**
 * Why to ask before appending `line`, or undefined to append it at once: only a single word that
 * is close to a command, or a word shells know (`clear`), is in doubt.
 */
export function appendDoubt(
  line: string,
): { readonly question: string; readonly refusal: string } | undefined {
  const word = line.trim();
  if (word === '' || /\s/.test(word) || line.startsWith(ESCAPE)) return undefined;
  const near = nearCommand(word);
  const habit = SHELL_HABITS.includes(word.toLowerCase());
  if (near === undefined && !habit) return undefined;
  const why =
    near === undefined ? 'it is not a command here ("help" lists them)' : `did you mean ${near}`;
  return {
    question: `append '${word}'? ${why} [y/N] `,
    refusal: `'${word}' was not appended: ${why}? To append it as it is, write ${ESCAPE}${word}`,
  };
}

/** A yes to `appendDoubt`'s question: y or yes, any case; anything else (Enter too) is no. */
export function isYes(answer: string): boolean {
  return /^\s*y(es)?\s*$/i.test(answer);
}
