import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description("remove a target's BitBake TMPDIR (tmp/, cache/, artifacts/), or with --sstate clean recipes' sstate objects")
    .argument('[target]', 'build target (default: the only one)')
    .option('--sstate <recipe...>', 'run bitbake -c cleansstate RECIPE... in the build environment instead')
    .option('--all', 'remove the whole build directory of the target (conf, logs and report too)')
    .option('--engine <engine>', 'docker, podman or none (for --sstate)')
    .option('--base-image <image>', 'base image of the build environment (for --sstate)')
    .action(
      async (
        target: string | undefined,
        opts: { sstate?: string[]; all?: boolean; engine?: string; baseImage?: string },
        command: Command,
      ) => {
        const { runClean } = await import('../../commands/clean.js');
        await runClean({
          projectDir: projectDir(command),
          target,
          sstate: opts.sstate,
          all: Boolean(opts.all),
          engine: opts.engine,
          baseImage: opts.baseImage,
        });
      },
    );
}
