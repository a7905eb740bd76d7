/**
 * The `ledgerstream` command line: `start` runs a broker; the other commands are clients of any
 * Kafka-compatible broker (topics, produce/consume, groups, cluster status), like Kafka's own
 * scripts but in one tool.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { addClusterCommands } from './cluster.js';
import { CliError, DEFAULT_BOOTSTRAP } from './connect.js';
import { addGroupCommands } from './group.js';
import { addProduceConsumeCommands } from './produce-consume.js';
import { addTopicCommands } from './topic.js';

/** The version in package.json, found above this file in source and compiled layouts alike. */
export function packageVersion(): string {
  for (let dir = import.meta.dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

function withBootstrap(command: Command): Command {
  return command.addOption(new Option('-b, --bootstrap-server <host:port>',
    `a broker to connect to, or several, comma-separated (env LEDGERSTREAM_BOOTSTRAP; default ${DEFAULT_BOOTSTRAP})`));
}

function buildProgram(): Command {
  const program = new Command('ledgerstream')
    .description('Ledgerstream: a Kafka-compatible broker on object storage, and a client for it')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  // Registered for `help` only: main() runs `start` itself, so its settings are never parsed here.
  program.command('start').description('start a broker (`ledgerstream start --help` lists its settings)')
    .allowUnknownOption().helpOption(false);
  addTopicCommands(program, withBootstrap);
  addProduceConsumeCommands(program, withBootstrap);
  addGroupCommands(program, withBootstrap);
  addClusterCommands(program, withBootstrap);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the command line; resolves with the exit code (0 ok, 1 failed, 2 usage, 3 see start). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version and `help <command>` exit 0; help shown because a subcommand is
      // missing (`ledgerstream topic`) exits non-zero, a usage error like any other.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      console.error(`ledgerstream: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}
