import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('scaffold layers.yaml (the Raspberry Pi 4 + Docker build), .gitignore and README notes')
    .argument('[dir]', 'project directory to create or fill', '.')
    .option('-y, --yes', 'take every default without asking')
    .option('-f, --force', 'overwrite an existing layers.yaml')
    .action(async (dir: string, opts: { yes?: boolean; force?: boolean }, command: Command) => {
      const { runInit } = await import('../../commands/init.js');
      await runInit({ dir: projectDir(command, dir), yes: Boolean(opts.yes), force: Boolean(opts.force) });
    });
}
