import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { projectDir } from './common.js';
import { addOverrideOptions, overrideFlags, type OverrideCliOptions } from './overrides.js';

export function registerShow(program: Command): void {
  addOverrideOptions(program.command('show'))
    .description(
      'the effective settings of a target after defaults, override files, environment and flags, and where each value came from (like kas dump)',
    )
    .argument('[target]', 'build target (default: the only one)')
    .option('--json', 'print settings and origins as JSON')
    .option('--yaml', "print the settings as a targets: block of layers.yaml, each value's origin in a comment above it")
    .action(async (target: string | undefined, opts: OverrideCliOptions & { json?: boolean; yaml?: boolean }, command: Command) => {
      if (opts.json && opts.yaml) throw new InputError('--json and --yaml: choose one');
      const { runShow } = await import('../../commands/show.js');
      await runShow({
        projectDir: projectDir(command),
        target,
        format: opts.json ? 'json' : opts.yaml ? 'yaml' : 'table',
        overrides: overrideFlags(opts),
      });
    });
}
