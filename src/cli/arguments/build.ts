import type { Command } from 'commander';
import { projectDir } from './common.js';
import { addOverrideOptions, overrideFlags, type OverrideCliOptions } from './overrides.js';

export interface BuildCliOptions extends OverrideCliOptions {
  engine?: string;
  baseImage?: string;
  dryRun?: boolean;
  locked?: boolean;
  task?: string;
}

export function registerBuild(program: Command): void {
  addOverrideOptions(program.command('build'))
    .description('sync, check layers, render conf and run BitBake in the build container')
    .argument(
      '[targets-and-recipes...]',
      'TARGET... (default: the only one; several are built one after the other), then RECIPE... to build instead of the image; after --, arguments for BitBake',
    )
    .option('-c, --task <task>', 'run this BitBake task (bitbake -c TASK), of the recipes given or else of the image')
    .option('--engine <engine>', 'docker, podman or none (BitBake on the host); auto-detected by default')
    .option('--base-image <image>', 'base image of the build environment (default debian:12)')
    .option('--dry-run', 'parse and resolve the task graph only (bitbake -g); no downloads, no compiling')
    .option('--locked', 'fail unless layers.lock.yaml matches layers.yaml')
    .action(async (words: string[], opts: BuildCliOptions, command: Command) => {
      // Words after -- belong to BitBake; commander hands them over mixed with ours.
      const dashDash = process.argv.indexOf('--');
      const bitbakeArgs = dashDash >= 0 ? process.argv.slice(dashDash + 1) : [];
      const own = words.slice(0, words.length - bitbakeArgs.length);
      const { runBuild } = await import('../../commands/build.js');
      await runBuild({ projectDir: projectDir(command), words: own, bitbakeArgs, ...opts, overrides: overrideFlags(opts) });
    });
}
