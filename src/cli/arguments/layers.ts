import type { Command } from 'commander';
import { projectDir } from './common.js';
import { addOverrideOptions, overrideFlags, type OverrideCliOptions } from './overrides.js';

export function registerLayers(program: Command): void {
  addOverrideOptions(program.command('layers'))
    .description('check layer dependencies and series compatibility, and print the layer table')
    .argument('[target]', 'build target (default: the only one, or all)')
    .option('--json', 'print the table as JSON')
    .action(async (target: string | undefined, opts: OverrideCliOptions & { json?: boolean }, command: Command) => {
      const { runLayers } = await import('../../commands/layers.js');
      await runLayers({ projectDir: projectDir(command), target, json: Boolean(opts.json), overrides: overrideFlags(opts) });
    });
}
