#!/usr/bin/env node
// Argument parsing only: each command's options live in src/cli/arguments/<name>.ts, and its
// implementation is imported lazily so that `yoctoforge --help` loads nothing heavy.
import { Command, CommanderError } from 'commander';
import { registerCommands } from './arguments/index.js';
import { addHelpFooters } from './help.js';
import { reportError } from './report-error.js';
import { ExitCode } from '../errors.js';
import { forceCiMode } from '../util/output.js';
import { VERSION } from '../version.js';

const program = new Command();
program
  .name('yoctoforge')
  .description('Declarative, containerised Yocto builds for Raspberry Pi + Docker images, and a safe flasher')
  .version(VERSION)
  .option('--ci', 'non-interactive CI mode: plain timestamped logs, no spinners (on when CI is set or stdout is not a TTY)')
  .option('-C, --project <dir>', 'project directory (where layers.yaml lives)', '.')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .hook('preAction', (command) => {
    if (command.optsWithGlobals().ci) forceCiMode();
  });

registerCommands(program);
addHelpFooters(program);

// `yoctoforge layers | head -1`: the reader has all it wanted; end quietly, as cat and git do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
    throw error;
  });
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0.
    process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
  } else {
    process.exitCode = reportError(error);
    // An interrupted command must end now, not when its last child process happens to exit.
    if (process.exitCode === ExitCode.interrupted) process.exit(process.exitCode);
  }
}
