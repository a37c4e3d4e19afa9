import type { Command } from 'commander';

export function registerFlash(program: Command): void {
  program
    .command('flash')
    .description('write a built image to a block device (bmap-aware, verified)')
    .argument('[device]', 'the whole-disk block device, e.g. /dev/sdX')
    .action(async () => {
      const { InputError } = await import('../../errors.js');
      throw new InputError('flash is not implemented yet');
    });
}
