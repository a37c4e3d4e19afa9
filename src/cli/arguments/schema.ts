import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of layers.yaml (editors validate and complete the manifest with it)')
    .option('--write', 'write it to .yoctoforge/layers.schema.json in the project, where layers.yaml points')
    .action(async (opts: { write?: boolean }, command: Command) => {
      const { runSchema } = await import('../../commands/schema.js');
      await runSchema({ projectDir: projectDir(command), write: Boolean(opts.write) });
    });
}
