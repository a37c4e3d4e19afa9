import type { Command } from 'commander';
import { projectDir } from './common.js';

function subcommandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** `export bitbake-setup` and `import bitbake-setup`: BitBake's own setup tool (bitbake 2.18, bin/bitbake-setup). */
export function registerBitbakeSetup(program: Command): void {
  subcommandGroup(program, 'export', "write the project in another tool's format")
    .command('bitbake-setup')
    .description('write a bitbake-setup configuration (JSON) of a target at the locked commits')
    .argument('[target]', 'build target (default: the only one)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (target: string | undefined, opts: { output?: string }, command: Command) => {
      const { runExportBitbakeSetup } = await import('../../commands/bitbake-setup.js');
      await runExportBitbakeSetup({ projectDir: projectDir(command), target, output: opts.output });
    });
  subcommandGroup(program, 'import', "create layers.yaml from another tool's configuration")
    .command('bitbake-setup')
    .description('create layers.yaml from a bitbake-setup configuration (e.g. poky-wrynose.conf.json); choices as for `bitbake-setup init`')
    .argument('<file>', 'a bitbake-setup configuration JSON file')
    .argument('[choices...]', 'the configuration name, then fragment choices, e.g. poky machine/qemux86-64 distro/poky')
    .option('-o, --output <file>', 'manifest to write (default: layers.yaml of the project)')
    .option('--target <name>', 'name of the target in layers.yaml (default: the configuration name)')
    .option('--image <recipe>', 'image recipe the target builds (default core-image-base)')
    .option('-f, --force', 'replace an existing manifest')
    .action(
      async (
        file: string,
        choices: string[],
        opts: { output?: string; target?: string; image?: string; force?: boolean },
        command: Command,
      ) => {
        const { runImportBitbakeSetup } = await import('../../commands/bitbake-setup.js');
        await runImportBitbakeSetup({ projectDir: projectDir(command), file, choices, ...opts });
      },
    );
}
