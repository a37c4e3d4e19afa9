import { type Command, InvalidArgumentError } from 'commander';
import { projectDir } from './common.js';

function positiveInteger(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return n;
  };
}

export function registerCache(program: Command): void {
  const cache = program
    .command('cache')
    .description('the sstate cache shared beyond this machine: publish to a mirror, status, prune, serve');
  cache
    .command('publish')
    .description('copy the sstate objects the mirror lacks onto it (incremental, atomic per file, never overwriting)')
    .argument('[target]', 'a directory, HOST:PATH, rsync://HOST/MODULE/PATH or s3://BUCKET/PREFIX (default: cache.shared.publish)')
    .option('--json', 'print the result as JSON')
    .action(async (target: string | undefined, opts: { json?: boolean }, command: Command) => {
      const { runCachePublish } = await import('../../commands/cache.js');
      await runCachePublish({ projectDir: projectDir(command), target, ...opts });
    });
  cache
    .command('status')
    .description('local and mirror sizes, sstate reuse of the last builds, hash server reachability')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const { runCacheStatus } = await import('../../commands/cache.js');
      await runCacheStatus({ projectDir: projectDir(command), ...opts });
    });
  cache
    .command('prune')
    .description('remove local sstate objects no build used for DAYS days')
    .requiredOption('--older-than <days>', 'age in days since an object was last used', positiveInteger(36500))
    .option('--dry-run', 'only say what would be removed')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { olderThan: number; dryRun?: boolean; json?: boolean }, command: Command) => {
      const { runCachePrune } = await import('../../commands/cache.js');
      await runCachePrune({ projectDir: projectDir(command), ...opts });
    });
  cache
    .command('serve')
    .description("start BitBake's hash server and an HTTP server for an sstate mirror, in containers (for a small team)")
    .option('--port <port>', 'the hash server port; HTTP listens on the next one', positiveInteger(65534), 8686)
    .option('--dir <dir>', 'where the mirror and the hash database live (default: server/ in the cache directory)')
    .option('--host <name>', "the name or address clients reach this machine by (default: this machine's first external address)")
    .option('--engine <engine>', 'docker or podman')
    .option('--base-image <image>', "the build environment's base image")
    .option('--stop', 'stop the two servers (their data stays)')
    .action(
      async (
        opts: { port: number; dir?: string; host?: string; engine?: string; baseImage?: string; stop?: boolean },
        command: Command,
      ) => {
        const { runCacheServe } = await import('../../commands/cache.js');
        await runCacheServe({ projectDir: projectDir(command), ...opts });
      },
    );
}
