/**
 * `rlog`'s commands, options and help, declared with commander: `rlog <command> --help` for every
 * command, `rlog --version`, and the closest command suggested for an unknown one. The actions
 * live in client-commands.ts, node-command.ts, cluster-command.ts and healthcheck.ts.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { append, health, list, shell, tail, wait } from './client-commands.js';
import { cluster } from './cluster-command.js';
import { DEFAULT_CATCH_UP_TIMEOUT_S } from './commands.js';
import { healthcheck } from './healthcheck.js';
import { nodeCommand, runNode } from './node-command.js';

/** package.json, two directories above this compiled file (dist/cli/program.js). */
function packageVersion(): string {
  const manifest = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

const CLIENT_HELP = `
Client commands ask --master URL (else RLOG_MASTER, else http://127.0.0.1:8000) and the nodes of
--nodes (else RLOG_NODES) where the master is now: any live node's /health names it, so with
failover they find the new master after an election. An append sent to a node that is not the
master follows its 421 to the master (saying so on stderr); with --nodes it also goes on at the
next node when one does not answer.
Appends carry --api-token, else RLOG_API_TOKEN, for a master started with API_TOKEN; each append
has an idempotency key (--key, else a new one), so its retries never store it twice.`;

const TAIL_HELP = `
Without -f it prints what the node holds when asked, and exits. With -f it then follows the
node's stream (GET /logs/stream): when the node restarts, cuts a slow reader or is overloaded, it
says so on stderr, reconnects and resumes after the last entry printed, so no entry is printed
twice or left out. Ctrl-C stops it (exit 0).

Examples:
  rlog tail -n 10                 the master's last 10 entries
  rlog tail -f --node sub1        sub1's whole log, then each new entry
  rlog tail -f --since 1200       every entry after 1200, as it comes`;

const nodesOption = (): Option =>
  new Option(
    '--nodes <urls>',
    "the cluster's node URLs, comma-separated: where to look for the master when the --master node does not answer or is not the master (else RLOG_NODES)",
  );
const masterOption = (): Option =>
  new Option(
    '--master <url>',
    'a node of the cluster, the master or any other (else RLOG_MASTER, else http://127.0.0.1:8000)',
  );
const tokenOption = (): Option =>
  new Option('--api-token <token>', 'for a master with API_TOKEN (else RLOG_API_TOKEN)');
const quietOption = (): Option =>
  new Option('-q, --quiet', 'no progress lines on stderr while it waits');

/** Wraps an action so that its exit code goes to the program's `done`. */
type Act = <A extends unknown[]>(
  action: (...args: A) => Promise<number>,
) => (...args: A) => Promise<void>;

/**
 * The program; `done(code)` receives each action's exit code. Errors of usage are thrown as
 * CommanderError (exitOverride), after commander has printed them.
 */
export function buildProgram(done: (code: number) => void): Command {
  const program = new Command('rlog')
    .description('a replicated append-only log: one master, any number of secondaries, over HTTP')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', CLIENT_HELP);
  const act: Act =
    <A extends unknown[]>(action: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => {
      done(await action(...args));
    };

  // The help lists the commands in the order they are added.
  addClusterCommand(program, act);
  addNodeCommands(program, done, act);
  addAppendCommand(program, act);
  addListCommand(program, act);
  addTailCommand(program, act);
  addHealthCommand(program, act);
  addWaitCommand(program, act);
  addShellCommand(program, act);
  return program;
}

function addClusterCommand(program: Command, act: Act): void {
  program
    .command('cluster')
    .description(
      'master + N secondaries on consecutive ports, their logs in one terminal, failover on (npm start)',
    )
    .option('--secondaries <n>', 'number of secondaries, 0 to 64', '2')
    .option('--base-port <port>', "the master's port; secondaries take the next ones", '8000')
    .option('--host <address>', 'where every node listens', '127.0.0.1')
    .option(
      '--data-dir <dir>',
      "each node's log in DIR/<node name>, kept across runs",
      '.rlog-data',
    )
    .option(
      '--in-memory',
      'keep the logs in memory instead (with failover: in a temporary directory removed on exit)',
    )
    .option(
      '--no-failover',
      "a fixed master (the course's setup) instead of electing one when the master dies",
    )
    .option('--fsync <policy>', "always, interval or never (the nodes' FSYNC)")
    .option(
      '--heartbeat-interval-ms <ms>',
      "the master's probe interval (with failover: every node's, as any may lead)",
    )
    .option('--log-level <level>', 'debug, info, warn or error')
    .option('--json', "print the nodes' JSON log lines as they are")
    .action(act(cluster));
}

/** A node's own commands: run it as master or secondary, and its container's healthcheck. */
function addNodeCommands(program: Command, done: (code: number) => void, act: Act): void {
  for (const role of ['master', 'secondary'] as const) {
    program.addCommand(
      nodeCommand(role, async (argv) => {
        done(await runNode(role, argv));
      }),
    );
  }
  program
    .command('healthcheck')
    .description("this node's GET /health on 127.0.0.1:PORT (https with TLS_CERT): exit 0 on 200")
    .action(act(() => healthcheck(process.env)));
}

function addAppendCommand(program: Command, act: Act): void {
  program
    .command('append')
    .description('append a message, or several as one batch (consecutive ids, all or none)')
    .argument('<message...>', 'the text; several make a batch')
    .option(
      '-w, --w <w>',
      'nodes that must hold it before the answer: N, majority or all (default all)',
    )
    .option('--key <key>', 'idempotency key (default: a new one, reused by its retries)')
    .option(
      '--timeout-ms <ms>',
      'answer 504 (stored, still replicating) if w is not reached by then',
    )
    .option('--json', "print the master's answer as JSON")
    .addOption(masterOption())
    .addOption(nodesOption())
    .addOption(tokenOption())
    .addOption(quietOption())
    .action(act(append));
}

function addListCommand(program: Command, act: Act): void {
  program
    .command('list')
    .description("a node's log, one entry per line: id<TAB>message")
    .option('--node <name|url>', 'master (the master now, default), sub1, ... or a URL')
    .option('--since <id>', 'only entries after this id')
    .option('--limit <n>', 'at most this many entries')
    .option('--json', 'print the entries as JSON')
    .addOption(masterOption())
    .addOption(nodesOption())
    .action(act(list));
}

function addTailCommand(program: Command, act: Act): void {
  program
    .command('tail')
    .description("a node's log after a point, one entry per line as list prints it; -f follows it")
    .option('-f, --follow', 'keep printing each new entry as the node gets it, until Ctrl-C')
    .option('--since <id>', 'start after this id (default: the whole log)')
    .option('-n, --lines <n>', 'start with the last N entries instead')
    .option('--node <name|url>', 'master (the master now, default), sub1, ... or a URL')
    .option('--json', 'print each entry as JSON, one per line')
    .addOption(masterOption())
    .addOption(nodesOption())
    .addOption(new Option('-q, --quiet', 'no line on stderr when -f reconnects'))
    .addHelpText('after', TAIL_HELP)
    .action(act(tail));
}

function addHealthCommand(program: Command, act: Act): void {
  program
    .command('health')
    .description("the cluster's health as the master sees it")
    .option('--json', "print the master's /health as JSON")
    .addOption(masterOption())
    .addOption(nodesOption())
    .action(act(health));
}

function addWaitCommand(program: Command, act: Act): void {
  program
    .command('wait')
    .description(
      'wait until a master is elected and every other node is Healthy with lag 0 (exit 0), or the timeout (exit 1)',
    )
    .option('--timeout-s <s>', 'give up after this long', String(DEFAULT_CATCH_UP_TIMEOUT_S))
    .addOption(masterOption())
    .addOption(nodesOption())
    .addOption(quietOption())
    .action(act(wait));
}

function addShellCommand(program: Command, act: Act): void {
  program
    .command('shell')
    .description(
      'interactive client: a typed line is appended, "help" lists the commands; also reads a script on stdin',
    )
    .option('-w, --w <w>', 'write concern of the appends: N, majority or all', 'all')
    .option('--timeout-ms <ms>', "each append's timeoutMs")
    .addOption(masterOption())
    .addOption(nodesOption())
    .addOption(tokenOption())
    .addOption(quietOption())
    .addHelpText(
      'after',
      '\nHistory: RLOG_HISTORY, else ~/.rlog_history (RLOG_HISTORY= keeps none).',
    )
    .action(act(shell));
}
