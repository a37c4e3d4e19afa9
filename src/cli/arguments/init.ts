import type { Command } from 'commander';
import { DEFAULT_SERIES, SERIES_NAMES } from '../../manifest/series.js';
import { projectDir } from './common.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('scaffold layers.yaml (the Raspberry Pi 4 + Docker build), .gitignore and README notes')
    .argument('[dir]', 'project directory to create or fill', '.')
    .option('-y, --yes', 'take every default without asking')
    .option('-f, --force', 'overwrite an existing layers.yaml')
    .option('--machine <machine>', 'MACHINE of the first target (default raspberrypi4-64; asked on a terminal)')
    .option('--target <name>', 'name of the first target (default rpi-docker-image)')
    .option('--from-bundle <file>', 'restore a project from a `yoctoforge bundle` archive into an empty folder, without the network')
    .option(
      '--series <name>',
      `Yocto release: ${SERIES_NAMES.join(' or ')} (default ${DEFAULT_SERIES}); wrynose takes bitbake + openembedded-core + meta-yocto instead of poky`,
    )
    .option('--expect-sha256 <hex>', "with --from-bundle: the archive's published SHA-256, checked before anything is unpacked")
    .option(
      '--signature <file>',
      'with --from-bundle: a detached OpenPGP signature of the archive, checked (gpg, your keyring) before anything is unpacked',
    )
    .action(
      async (
        dir: string,
        opts: {
          yes?: boolean;
          force?: boolean;
          fromBundle?: string;
          series?: string;
          machine?: string;
          target?: string;
          expectSha256?: string;
          signature?: string;
        },
        command: Command,
      ) => {
        if (opts.fromBundle) {
          const { runRestore } = await import('../../commands/bundle.js');
          await runRestore({
            projectDir: projectDir(command, dir),
            bundle: opts.fromBundle,
            force: Boolean(opts.force),
            fresh: true,
            expectSha256: opts.expectSha256,
            signature: opts.signature,
          });
          return;
        }
        const { runInit } = await import('../../commands/init.js');
        await runInit({
          dir: projectDir(command, dir),
          yes: Boolean(opts.yes),
          force: Boolean(opts.force),
          series: opts.series,
          machine: opts.machine,
          target: opts.target,
        });
      },
    );
}
