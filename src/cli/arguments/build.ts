import type { Command } from 'commander';
import { projectDir } from './common.js';
import { addOverrideOptions, overrideFlags, type OverrideCliOptions } from './overrides.js';

export interface BuildCliOptions extends OverrideCliOptions {
  engine?: string;
  baseImage?: string;
  dryRun?: boolean;
  locked?: boolean;
}

export function registerBuild(program: Command): void {
  addOverrideOptions(program.command('build'))
    .description('sync, check layers, render conf and run BitBake in the build container')
    .argument('[target]', 'build target (default: the only one)')
    .option('--engine <engine>', 'docker, podman or none (BitBake on the host); auto-detected by default')
    .option('--base-image <image>', 'base image of the build environment (default debian:12)')
    .option('--dry-run', 'parse and resolve the task graph only (bitbake -g); no downloads, no compiling')
    .option('--locked', 'fail unless layers.lock.yaml matches layers.yaml')
    .action(async (target: string | undefined, opts: BuildCliOptions, command: Command) => {
      const { runBuild } = await import('../../commands/build.js');
      await runBuild({ projectDir: projectDir(command), target, engine: opts.engine, baseImage: opts.baseImage, dryRun: opts.dryRun, locked: opts.locked, overrides: overrideFlags(opts) });
    });
}
