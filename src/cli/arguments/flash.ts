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
    .option(
      '--image <file>',
      'image to write (raw, bz2/gz/xz/zst/lz4/lzo, zip or tar with one image; by content); default: the newest of the target',
    )
    .option('--raw', 'write an uncompressed file that shows no partition table or file-system superblock as it is')
    .option('--member <name>', 'the file to write from a zip or tar archive holding several')
    .option('--target <name>', 'build target whose image to write (default: the only one)')
    .option('--bmap <file>', 'block map to use (default: the .bmap beside the image)')
    .option('--no-bmap', 'ignore any bmap and write the whole image')
    .option('--no-verify', "check neither the bmap's range checksums nor the written data read back")
    .option('--no-sig-verify', "do not check the bmap's gpg signature (.asc, .sig or clearsigned)")
    .option('--force', 'allow a partition, a non-removable disk or a regular file as the target')
    .option('-y, --yes', 'do not ask for confirmation (scripts)')
    .option('--json', 'print the result (or the --list table) as JSON')
    .action(async (device: string | undefined, opts: FlashCliOptions, command: Command) => {
      const { runFlash } = await import('../../commands/flash.js');
      await runFlash({ projectDir: projectDir(command), device, ...opts });
    });
}
