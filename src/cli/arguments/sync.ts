import { Option, type Command } from 'commander';
import { positiveInteger, projectDir } from './common.js';

export interface SyncCliOptions {
  locked?: boolean;
  update?: boolean;
  force?: boolean;
  shallow?: boolean;
  blobless?: boolean;
  jobs?: number;
  fromBundle?: string;
  expectSha256?: string;
  signature?: string;
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('clone or update every layer repository and write layers.lock.yaml')
    .option('--locked', 'fail unless layers.lock.yaml exists and matches layers.yaml (for CI)')
    .option('--update', 'move the lock forward to the current branch heads')
    .option('-f, --force', 'discard local changes and local commits in layer checkouts')
    .addOption(new Option('--shallow', 'clone with --depth 1 (CI: less disk and bandwidth)').conflicts('blobless'))
    .addOption(new Option('--blobless', 'clone with --filter=blob:none').conflicts('shallow'))
    .option('-j, --jobs <n>', 'repositories synced at once (default: sync.jobs, else 4)', positiveInteger(32))
    .option('--from-bundle <file>', 'restore manifest, lock and layers from a `yoctoforge bundle` archive, without the network')
    .option('--expect-sha256 <hex>', "with --from-bundle: the archive's published SHA-256, checked before anything is unpacked")
    .option(
      '--signature <file>',
      'with --from-bundle: a detached OpenPGP signature of the archive, checked (gpg, your keyring) before anything is unpacked',
    )
    .action(async (opts: SyncCliOptions, command: Command) => {
      if (opts.fromBundle) {
        const { runRestore } = await import('../../commands/bundle.js');
        await runRestore({
          projectDir: projectDir(command),
          bundle: opts.fromBundle,
          force: Boolean(opts.force),
          expectSha256: opts.expectSha256,
          signature: opts.signature,
        });
        return;
      }
      const { runSync } = await import('../../commands/sync.js');
      await runSync({
        projectDir: projectDir(command),
        locked: Boolean(opts.locked),
        update: Boolean(opts.update),
        force: Boolean(opts.force),
        cloneMode: opts.shallow ? 'shallow' : opts.blobless ? 'blobless' : undefined,
        jobs: opts.jobs,
      });
    });
}
