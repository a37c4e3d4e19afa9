import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerLock(program: Command): void {
  const lock = program.command('lock').description('inspect layers.lock.yaml');
  lock
    .command('diff')
    .description('which repos moved between two locks, with the commits in between')
    .argument('[old]', 'a lock file or a git revision of the project (default: HEAD, the committed lock)')
    .argument('[new]', 'a lock file or a git revision (default: layers.lock.yaml)')
    .option('--json', 'print the moves as JSON')
    .option('--exit-code', 'exit 1 when a repo moved')
    .action(
      async (older: string | undefined, newer: string | undefined, opts: { json?: boolean; exitCode?: boolean }, command: Command) => {
        const { runLockDiff } = await import('../../commands/lock.js');
        await runLockDiff({ projectDir: projectDir(command), older, newer, ...opts });
      },
    );
}
