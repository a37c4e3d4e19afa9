import type { Command } from 'commander';
import { projectDir } from './common.js';
import { addOverrideOptions, overrideFlags, type OverrideCliOptions } from './overrides.js';

export function registerShell(program: Command): void {
  addOverrideOptions(program.command('shell'))
    .description('open a shell in the build environment of a target, or run one command there (after --)')
    .argument('[target]', 'build target (default: the only one)')
    .argument('[command...]', 'command to run instead of an interactive shell, after --, e.g. -- bitbake-layers show-layers')
    .option('--engine <engine>', 'docker, podman or none')
    .option('--base-image <image>', 'base image of the build environment')
    .action(
      async (
        target: string | undefined,
        cmd: string[],
        opts: OverrideCliOptions & { engine?: string; baseImage?: string },
        command: Command,
      ) => {
        // `shell -- CMD` has no target: commander would take CMD's first word for it.
        const dashDash = process.argv.indexOf('--');
        const before = dashDash >= 0 ? process.argv.slice(0, dashDash) : process.argv;
        const explicitTarget = target !== undefined && before.includes(target) ? target : undefined;
        const commandWords = dashDash >= 0 ? process.argv.slice(dashDash + 1) : cmd;
        const { runShell } = await import('../../commands/shell.js');
        await runShell({
          projectDir: projectDir(command),
          target: explicitTarget,
          command: commandWords,
          engine: opts.engine,
          baseImage: opts.baseImage,
          overrides: overrideFlags(opts),
        });
      },
    );
}
