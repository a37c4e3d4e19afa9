import type { Command } from 'commander';
import { projectDir } from './common.js';
import { addOverrideOptions, overrideFlags, type OverrideCliOptions } from './overrides.js';

export function registerStatus(program: Command): void {
  addOverrideOptions(program.command('status'))
    .description(
      "layer checkouts (clean, dirty, local commits, against the lock and the fetched branch head), whether each target's conf is current, the last build; no network",
    )
    .option('--json', 'print the status as JSON')
    .action(async (opts: OverrideCliOptions & { json?: boolean }, command: Command) => {
      const { runStatus } = await import('../../commands/status.js');
      await runStatus({ projectDir: projectDir(command), json: Boolean(opts.json), overrides: overrideFlags(opts) });
    });
}
