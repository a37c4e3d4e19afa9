import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerForeach(program: Command): void {
  program
    .command('foreach')
    .description('run a command in every layer repository checkout, one after the other (the repo in YOCTOFORGE_REPO)')
    .argument('<command...>', 'after --: a program and its arguments, or one shell command line in quotes')
    .option('--stop-on-error', 'stop at the first repo where the command fails (default: run in all, then fail)')
    .action(async (words: string[], opts: { stopOnError?: boolean }, command: Command) => {
      const { runForeach } = await import('../../commands/foreach.js');
      await runForeach({ projectDir: projectDir(command), command: words, stopOnError: Boolean(opts.stopOnError) });
    });
}
