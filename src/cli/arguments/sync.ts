import type { Command } from 'commander';
import { projectDir } from './common.js';

export interface SyncCliOptions {
  locked?: boolean;
  update?: boolean;
  force?: boolean;
  shallow?: boolean;
  blobless?: boolean;
  jobs?: string;
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
    .option('--shallow', 'clone with --depth 1 (CI: less disk and bandwidth)')
    .option('--blobless', 'clone with --filter=blob:none')
    .option('-j, --jobs <n>', 'repositories synced at once', '4')
    .option('--from-bundle <file>', 'restore manifest, lock and layers from a `yoctoforge bundle` archive, without the network')
    .option('--expect-sha256 <hex>', "with --from-bundle: the archive's published SHA-256, checked before anything is unpacked")
    .option('--signature <file>', 'with --from-bundle: a detached OpenPGP signature of the archive, checked (gpg, your keyring) before anything is unpacked')
    .action(async (opts: SyncCliOptions, command: Command) => {
      if (opts.fromBundle) {
        const { runRestore } = await import('../../commands/bundle.js');
        await runRestore({ projectDir: projectDir(command), bundle: opts.fromBundle, force: Boolean(opts.force), expectSha256: opts.expectSha256, signature: opts.signature });
        return;
      }
      const { runSync } = await import('../../commands/sync.js');
      await runSync({
        projectDir: projectDir(command),
        locked: Boolean(opts.locked),
        update: Boolean(opts.update),
        force: Boolean(opts.force),
        cloneMode: opts.shallow ? 'shallow' : opts.blobless ? 'blobless' : undefined,
        jobs: Number.parseInt(opts.jobs ?? '4', 10) || 4,
      });
    });
}
