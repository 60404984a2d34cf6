/**
 * `rlog master` and `rlog secondary`: one node, as the container runs it. Every flag comes from
 * the option table of src/config/config.ts (each also read from its variable; the flag wins);
 * the flags of the other role are accepted, hidden from --help, and ignored with a warning; with
 * --failover they apply (the node can take either role), and --peers replaces --secondaries and
 * --master.
 */
import { Command, Option } from 'commander';
import { StorageError } from '../adapters/file-store/file-log-store.js';
import { ConfigError, envName, loadNodeConfig, OPTIONS, type Role } from '../config/config.js';
import { InvariantError } from '../core/assert.js';
import { exitWithParent } from '../launcher/exit-with-parent.js';
import { startNode } from '../main/start-node.js';
import { INVARIANT_EXIT_CODE, stopOnUncaughtInvariant } from '../node/fatal.js';

interface Spec {
  readonly flag: string;
  readonly env?: string;
  readonly roles: readonly Role[];
  readonly defaultValue: unknown;
  readonly help: string;
  readonly boolean?: true;
}

const SPECS: readonly Spec[] = Object.values(OPTIONS as Record<string, Spec>);

/** The node command of `role`, running `run(argv)` with the flags given, as loadNodeConfig reads them. */
export function nodeCommand(role: Role, run: (argv: string[]) => Promise<void>): Command {
  const command = new Command(role)
    .description(`run a ${role} node (every option also from its variable)`)
    .addHelpText(
      'after',
      `\nEach flag also reads the variable in brackets (the flag wins); the container sets ROLE=${role}.
With --failover the nodes of --peers elect the master and ${role} is only this node's role at a
cluster's first start; the options of both roles apply (see rlog ${otherRole(role)} --help), and
--peers replaces --secondaries and --master.`,
    );
  const flags: { readonly spec: Spec; readonly option: Option }[] = [];
  for (const spec of SPECS) {
    const option = new Option(
      `--${spec.flag}${spec.boolean === true ? '' : ' <value>'}`,
      `${spec.help} [${spec.env ?? envName(spec.flag)}]${defaultText(spec.defaultValue)}`,
    );
    if (!spec.roles.includes(role)) option.hideHelp();
    command.addOption(option);
    flags.push({ spec, option });
  }
  return command.action(async () => {
    const argv: string[] = [];
    for (const { spec, option } of flags) {
      // A string (`<value>`) or true (a boolean flag), as the option was declared above.
      const value = command.getOptionValue(option.attributeName()) as string | true | undefined;
      if (value === undefined) continue;
      argv.push(value === true ? `--${spec.flag}` : `--${spec.flag}=${value}`);
    }
    await run(argv);
  });
}

function otherRole(role: Role): Role {
  return role === 'master' ? 'secondary' : 'master';
}

function defaultText(value: unknown): string {
  return typeof value === 'number' || (typeof value === 'string' && value !== '')
    ? ` (default ${String(value)})`
    : '';
}

/** Runs a node until SIGINT or SIGTERM; the exit code of a failed start. */
export async function runNode(role: Role | undefined, args: readonly string[]): Promise<number> {
  let loaded;
  try {
    loaded = loadNodeConfig(role, args, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`rlog ${role ?? 'node'}: invalid configuration: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const { config } = loaded;
  // Started by a launcher (tests, chaos, benches, `rlog cluster`): no node outlives it.
  exitWithParent();
  let node;
  try {
    node = await startNode(config, loaded.warnings);
  } catch (error) {
    return startFailure(config.role === 'failover' ? config.preferredRole : config.role, error);
  }
  stopOnUncaughtInvariant(node.logger);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      node.logger.info({ event: 'stopping', signal }, `stopping on ${signal}`);
      void node.stop().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function startFailure(role: Role, error: unknown): number {
  if (error instanceof StorageError) {
    process.stderr.write(`rlog ${role}: cannot start: ${error.message}\n`);
    return 1;
  }
  // Configuration checked at start, such as unreadable TLS files.
  if (error instanceof ConfigError) {
    process.stderr.write(`rlog ${role}: invalid configuration: ${error.message}\n`);
    return 2;
  }
  // Recovery found a log that breaks an invariant: the same exit as a running node's.
  if (error instanceof InvariantError) {
    process.stderr.write(`rlog ${role}: invariant broken at start: ${error.stack ?? ''}\n`);
    return INVARIANT_EXIT_CODE;
  }
  // A port already taken: say which and what to do, rather than a stack.
  if ((error as { code?: unknown }).code === 'EADDRINUSE') {
    process.stderr.write(
      `rlog ${role}: cannot listen: ${(error as Error).message}; stop what holds the port or give another with --port / PORT\n`,
    );
    return 1;
  }
  throw error;
}
