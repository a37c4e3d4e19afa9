import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'each layer checkout (clean, dirty, local commits) against the lock and its branch; each target: conf current?, last build',
    )
    .option('--json', 'print it as JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const { runStatus } = await import('../../commands/status.js');
      await runStatus({ projectDir: projectDir(command), json: Boolean(opts.json) });
    });
}
