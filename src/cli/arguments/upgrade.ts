import type { Command } from 'commander';
import { SERIES_NAMES } from '../../manifest/series.js';
import { projectDir } from './common.js';

export function registerUpgrade(program: Command): void {
  program
    .command('upgrade')
    .description(
      'move the project to another Yocto release: checks every repository and layer first, keeps the old manifest and lock for --undo',
    )
    .option('--series <name>', `the release to move to (${SERIES_NAMES.join(', ')})`)
    .option('--undo', 'put back the manifest and lock from before the last upgrade')
    .action(async (opts: { series?: string; undo?: boolean }, command: Command) => {
      const { runUpgrade } = await import('../../commands/upgrade.js');
      await runUpgrade({ projectDir: projectDir(command), series: opts.series, undo: Boolean(opts.undo) });
    });
}
