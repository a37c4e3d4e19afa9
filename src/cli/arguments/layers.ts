import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerLayers(program: Command): void {
  program
    .command('layers')
    .description('check layer dependencies and series compatibility, and print the layer table')
    .argument('[target]', 'build target (default: the only one, or all)')
    .option('--json', 'print the table as JSON')
    .action(async (target: string | undefined, opts: { json?: boolean }, command: Command) => {
      const { runLayers } = await import('../../commands/layers.js');
      await runLayers({ projectDir: projectDir(command), target, json: Boolean(opts.json) });
    });
}
