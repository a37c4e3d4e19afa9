import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerBundle(program: Command): void {
  program
    .command('bundle')
    .description('write an offline archive: manifest, lock, every layer at its locked commit, conf, build environment (and downloads)')
    .argument('[target]', 'build target (default: the only one)')
    .option('-o, --output <file>', 'archive to write (default: TARGET.bundle.tar.gz in the project)')
    .option('--shallow', 'only the locked commits, no history')
    .option('--downloads', 'include the source downloads from DL_DIR, for builds without a network')
    .action(async (target: string | undefined, opts: { output?: string; shallow?: boolean; downloads?: boolean }, command: Command) => {
      const { runBundle } = await import('../../commands/bundle.js');
      await runBundle({ projectDir: projectDir(command), target, ...opts });
    });
}
