import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('render build/TARGET/conf/local.conf and bblayers.conf without building')
    .argument('[target]', 'build target (default: the only one)')
    .action(async (target: string | undefined, _opts: unknown, command: Command) => {
      const { runConfig } = await import('../../commands/config.js');
      await runConfig({ projectDir: projectDir(command), target });
    });
}
