import type { Command } from 'commander';
import { projectDir } from './common.js';
import { addOverrideOptions, overrideFlags, type OverrideCliOptions } from './overrides.js';

export function registerConfig(program: Command): void {
  addOverrideOptions(program.command('config'))
    .description('render build/TARGET/conf/local.conf and bblayers.conf without building')
    .argument('[target]', 'build target (default: the only one)')
    .action(async (target: string | undefined, opts: OverrideCliOptions, command: Command) => {
      const { runConfig } = await import('../../commands/config.js');
      await runConfig({ projectDir: projectDir(command), target, overrides: overrideFlags(opts) });
    });
}
