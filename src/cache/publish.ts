import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, linkSync, lstatSync, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EnvironmentError, InputError, InterruptedError, OperationError } from '../errors.js';
import { isOnPath } from '../util/path.js';
import { listSstateFiles, publishGroups, type SstateFile } from './objects.js';
import { processAlive } from '../util/pidfile.js';

export type PublishTarget =
  { kind: 'directory'; path: string } | { kind: 'rsync'; destination: string } | { kind: 's3'; bucket: string; prefix: string };

/** `s3://BUCKET/PREFIX`, `rsync://HOST/MODULE/PATH` or `[USER@]HOST:PATH` (rsync over ssh), else a directory. */
export function parsePublishTarget(text: string, baseDir = process.cwd()): PublishTarget {
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/(.*))?$/.exec(text);
  if (text.startsWith('s3://')) {
    if (!s3) throw new InputError(`${text}: expected s3://BUCKET/PREFIX with a valid bucket name`);
    return { kind: 's3', bucket: s3[1]!, prefix: (s3[3] ?? '').replace(/\/+$/, '') };
  }
  if (text.startsWith('rsync://')) return { kind: 'rsync', destination: text.replace(/\/*$/, '/') };
  if (text.startsWith('file://')) return { kind: 'directory', path: path.resolve(text.slice('file://'.length)) };
  // rsync's own rule: a colon before the first slash means a remote host
  const colon = text.indexOf(':');
  const slash = text.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) return { kind: 'rsync', destination: text.replace(/\/*$/, '/') };
  return { kind: 'directory', path: path.resolve(baseDir, text) };
}

export function describeTarget(target: PublishTarget): string {
  return target.kind === 'directory'
    ? target.path
    : target.kind === 'rsync'
      ? target.destination
      : `s3://${target.bucket}/${target.prefix}`;
}

export interface PublishResult {
  target: string;
  /** files copied to the mirror by this run */
  uploaded: number;
  uploadedBytes: number;
  /** files the mirror already had, left as they are */
  present: number;
  /** files the mirror has with another size: kept (never overwritten), listed here */
  conflicts: string[];
}

export interface PublishOptions {
  /** test hook: called before each file is put in place */
  beforeEach?: (file: SstateFile) => Promise<void> | void;
}

/** The staging area inside a directory mirror: same filesystem, so a finished copy is linked into place atomically. */
export const STAGING_DIR = '.yoctoforge-incoming';
const STALE_STAGING_MS = 24 * 3600 * 1000;
/** objects between two looks at the event loop (signals) */
const YIELD_EVERY = 64;

/**
 * Puts the sstate objects of `sstateDir` that the mirror lacks onto it. Incremental (what the
 * mirror has is skipped), atomic per file (a reader sees a whole object or none), companions
 * before their object, and never overwriting: a name the mirror has stays as it is, even with
 * other content (a non-reproducible rebuild), and is reported.
 */
export async function publishSstate(sstateDir: string, target: PublishTarget, options: PublishOptions = {}): Promise<PublishResult> {
  switch (target.kind) {
    case 'directory':
      return publishToDirectory(sstateDir, target.path, options);
    case 'rsync':
      return publishWithRsync(sstateDir, target.destination);
    case 's3': {
      // loaded here: the S3 client is most of a megabyte other publishes do without
      const { publishToS3 } = await import('./s3.js');
      return publishToS3(sstateDir, target, options);
    }
  }
}

async function publishToDirectory(source: string, target: string, options: PublishOptions): Promise<PublishResult> {
  const sstateDir = path.resolve(source);
  const mirror = path.resolve(target);
  const groups = publishGroups(await listSstateFiles(sstateDir));
  await mkdir(mirror, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new EnvironmentError(`cannot create the mirror directory ${mirror}: ${error.code ?? error.message}`);
  });
  await removeStaleStaging(mirror);
  const staging = path.join(mirror, STAGING_DIR, `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  const result: PublishResult = { target: mirror, uploaded: 0, uploadedBytes: 0, present: 0, conflicts: [] };

  const madeDirs = new Set<string>();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let counter = 0;
  let sinceYield = 0;
  try {
    // Synchronous copies and links in batches: through the thread pool every file costs four
    // round trips, which doubled the time of `rsync` by hand; between batches signals get through.
    for (const group of groups) {
      if (interrupted) break;
      if (++sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
        if (interrupted) break;
      }
      for (const file of group) {
        // joined by hand: both are absolute and normal, and path.join normalises every time
        const destination = `${mirror}/${file.rel}`;
        const existing = lstatSync(destination, { throwIfNoEntry: false });
        if (existing) {
          if (existing.size === file.size) result.present++;
          else result.conflicts.push(file.rel);
          continue;
        }
        const dir = path.dirname(destination);
        if (!madeDirs.has(dir)) {
          mkdirSync(dir, { recursive: true });
          madeDirs.add(dir);
        }
        const temp = path.join(staging, String(counter++));
        copyFileSync(`${sstateDir}/${file.rel}`, temp);
        await options.beforeEach?.(file);
        try {
          placeWithoutOverwrite(temp, destination);
          result.uploaded++;
          result.uploadedBytes += file.size;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          // another publisher put the same name in place meanwhile
          const other = lstatSync(destination);
          if (other.size === file.size) result.present++;
          else result.conflicts.push(file.rel);
        } finally {
          // not rmSync: its lstat first is one more system call per file. ENOENT: a rename fallback
          // moved it; anything else: the staging folder is removed as a whole at the end
          try {
            unlinkSync(temp);
          } catch {
            // see above
          }
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await rm(staging, { recursive: true, force: true });
  }
  if (interrupted)
    throw new InterruptedError(`interrupted by ${interrupted} after ${result.uploaded} files; the mirror holds only whole objects`);
  return result;
}

/** link(2) fails with EEXIST instead of replacing; filesystems without hard links get a checked rename. */
function placeWithoutOverwrite(temp: string, destination: string): void {
  try {
    linkSync(temp, destination);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw error;
    if (lstatSync(destination, { throwIfNoEntry: false })) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
    renameSync(temp, destination);
  }
}

/** Staging folders left by interrupted publishers: a dead process of this host, or a day old. */
async function removeStaleStaging(mirror: string): Promise<void> {
  const root = path.join(mirror, STAGING_DIR);
  const entries = await readdir(root).catch(() => [] as string[]);
  const host = os.hostname();
  for (const name of entries) {
    const match = /^(.*)-(\d+)-[0-9a-f]+$/.exec(name);
    const info = await lstat(path.join(root, name)).catch(() => undefined);
    if (!info) continue;
    const deadHere = match && match[1] === host && !processAlive(Number(match[2]));
    if (deadHere || Date.now() - info.mtimeMs > STALE_STAGING_MS) await rm(path.join(root, name), { recursive: true, force: true });
  }
}

/**
 * The rsync filter of a publish: every directory, the sstate objects and their companions,
 * nothing else. `--ignore-existing` is the never-overwrite rule; rsync writes each file under a
 * temporary name and renames it, so readers never see half a file.
 */
export const RSYNC_FILTER = [
  '--include=*/',
  '--include=sstate:*.tar.zst',
  '--include=sstate:*.tgz',
  '--include=sstate:*.siginfo',
  '--include=sstate:*.sig',
  '--exclude=*',
];

async function publishWithRsync(sstateDir: string, destination: string): Promise<PublishResult> {
  if (!isOnPath('rsync'))
    throw new EnvironmentError(
      'rsync is not installed: install it (Debian: apt-get install rsync) to publish to HOST:PATH or rsync:// targets',
    );
  const argv = [
    '--recursive',
    '--times',
    '--ignore-existing',
    '--prune-empty-dirs',
    '--chmod=D755,F644',
    '--stats',
    ...RSYNC_FILTER,
    `${sstateDir.replace(/\/*$/, '')}/`,
    destination,
  ];
  // node:child_process, not execa: loading execa took longer than a whole warm rsync run
  const child = spawn('rsync', argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RSYNC_RSH: process.env.RSYNC_RSH ?? 'ssh -o BatchMode=yes' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    child.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let exitCode: number | null;
  try {
    exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(new EnvironmentError(`cannot run rsync: ${error.code ?? error.message}`)),
      );
      child.once('close', (code) => resolve(code));
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
  if (stopped || exitCode === 20)
    throw new InterruptedError('interrupted; rsync renames each file into place when it is whole, so the mirror holds only whole objects');
  if (exitCode !== 0) {
    const lines = stderr.split('\n').filter((l) => l.trim());
    throw new OperationError(
      `rsync to ${destination} failed (${exitCode === null ? 'killed by a signal' : `exit ${exitCode}`}): ${lines[0] ?? ''}`,
      lines.slice(1, 8),
    );
  }
  const out = stdout;
  const number = (label: RegExp): number => Number((label.exec(out)?.[1] ?? '0').replace(/[,.]/g, ''));
  const transferred = number(/Number of regular files transferred: ([\d,.]+)/);
  const total = number(/Number of files: [\d,.]+ \(reg: ([\d,.]+)/);
  return {
    target: destination,
    uploaded: transferred,
    uploadedBytes: number(/Total transferred file size: ([\d,.]+)/),
    present: Math.max(0, total - transferred),
    conflicts: [],
  };
}
