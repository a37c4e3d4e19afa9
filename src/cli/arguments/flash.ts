import type { Command } from 'commander';
import type { FlashOptions } from '../../commands/flash.js';
import { projectDir } from './common.js';

/** What commander hands over: the command's options without the project and the device. */
type FlashCliOptions = Omit<FlashOptions, 'projectDir' | 'device'>;

export function registerFlash(program: Command): void {
  program
    .command('flash')
    .description('write a built image to a block device: bmap-aware, verified, refuses the wrong disk')
    .argument('[device]', 'the whole-disk block device, e.g. /dev/sdX')
    .option('--list', 'list block devices that could be targets, and which would be refused')
    .option('--image <file>', 'image to write (.wic, .wic.bz2/.gz/.xz/.zst, .img, .sdimg); default: the newest of the target')
    .option('--target <name>', 'build target whose image to write (default: the only one)')
    .option('--bmap <file>', 'block map to use (default: the .bmap beside the image)')
    .option('--no-bmap', 'ignore any bmap and write the whole image')
    .option('--no-verify', 'skip reading the written data back')
    .option('--force', 'allow a partition, a non-removable disk or a regular file as the target')
    .option('-y, --yes', 'do not ask for confirmation (scripts)')
    .option('--json', 'print the result (or the --list table) as JSON')
    .action(async (device: string | undefined, opts: FlashCliOptions, command: Command) => {
      const { runFlash } = await import('../../commands/flash.js');
      await runFlash({ projectDir: projectDir(command), device, ...opts });
    });
}
