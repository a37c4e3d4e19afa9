import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerShell(program: Command): void {
  program
    .command('shell')
    .description('open a shell (or run a command) in the build environment of a target')
    .argument('[target]', 'build target (default: the only one)')
    .argument('[command...]', 'command to run instead of an interactive shell (after --)')
    .option('--engine <engine>', 'docker, podman or none')
    .option('--base-image <image>', 'base image of the build environment')
    .action(async (target: string | undefined, cmd: string[], opts: { engine?: string; baseImage?: string }, command: Command) => {
      const { runShell } = await import('../../commands/shell.js');
      await runShell({ projectDir: projectDir(command), target, command: cmd, ...opts });
    });
}
