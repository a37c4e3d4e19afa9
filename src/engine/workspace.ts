import { lchown, lstat, mkdir, readdir, realpath, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError, InputError } from '../errors.js';
import { isInside } from '../util/fs.js';
import { acquirePidfile } from '../util/pidfile.js';
import { formatSize } from '../util/units.js';
import type { BuildUser } from './engine.js';

export interface WritableDir {
  dir: string;
  /** what it is, for messages: "build directory", "downloads cache (cache.downloads)" */
  what: string;
  /** yoctoforge's own (the target's build directory inside the project): handed over whole when it exists */
  own?: boolean;
}

/** Directories no cache or build directory may be, or lie under: the system's own, and the engine's. */
const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/run',
  '/var/lib/docker',
  '/var/lib/containers',
  '/var/log',
  '/var/spool',
  '/var/mail',
];
/** ...and directories that may hold one but never be one. */
const SYSTEM_DIRS = [
  '/',
  '/home',
  '/root',
  '/tmp',
  '/var',
  '/var/tmp',
  '/var/cache',
  '/var/lib',
  '/opt',
  '/srv',
  '/mnt',
  '/media',
  '/snap',
];

/** The path with every existing link resolved (the part that does not exist yet appended as is). */
export async function resolvedPath(p: string): Promise<string> {
  const rest: string[] = [];
  let at = path.resolve(p);
  for (;;) {
    try {
      return path.join(await realpath(at), ...rest.reverse());
    } catch {
      const parent = path.dirname(at);
      if (parent === at) return path.resolve(p);
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

/** Refuses a system directory (or one under it) as a place BitBake writes to and the container mounts. */
export async function checkNotSystemDir(dir: string, what: string): Promise<void> {
  const real = await resolvedPath(dir);
  const tree = SYSTEM_TREES.find((t) => isInside(real, t));
  if (tree !== undefined || SYSTEM_DIRS.includes(real)) {
    const shown = real === path.resolve(dir) ? dir : `${dir} (${real})`;
    throw new InputError(
      `${what} ${shown} is ${tree ? `under the system directory ${tree}` : 'a system directory'}: BitBake would write there and the container would mount it; choose a directory of its own (e.g. ~/yocto-cache)`,
    );
  }
}

/** Whether the build user can use a directory: `bits` = 1 (enter), 3 (enter and write). */
function permits(info: { uid: number; gid: number; mode: number }, user: BuildUser, bits: number): boolean {
  const shift = info.uid === user.uid ? 6 : info.gid === user.gid ? 3 : 0;
  return ((info.mode >> shift) & bits) === bits;
}

/**
 * Creates the directories BitBake writes to. When yoctoforge runs as root and hands the build to
 * another user, only what it creates here changes owner (and the target's build directory, its
 * own, handed over whole without following a link); a directory that existed must already be
 * the build user's to write, else the build is refused before it starts, with the fix.
 */
export async function prepareWritableDirs(dirs: WritableDir[], user: BuildUser): Promise<void> {
  for (const { dir, what } of dirs) await checkNotSystemDir(dir, what);
  // as root, every engine (--engine none too) runs BitBake as the build user: it gets what it writes to
  const handOver = process.getuid?.() === 0 && user.uid !== 0;
  for (const { dir, what, own } of dirs) {
    const existing = await stat(dir).catch(() => undefined);
    if (existing && !existing.isDirectory()) throw new InputError(`${what} ${dir} is not a directory`);
    const firstCreated = await mkdir(dir, { recursive: true });
    if (!handOver) continue;
    if (firstCreated !== undefined) {
      // new and empty: this directory and the parents created with it
      for (let at = dir; ; at = path.dirname(at)) {
        await lchown(at, user.uid, user.gid);
        if (at === firstCreated || path.dirname(at) === at) break;
      }
    } else if (own && (await realpath(dir)) === path.resolve(dir)) {
      // (reached through no link: a `build` link in the project could lead to anyone's files)
      await handOverTree(dir, user, (await lstat(dir)).dev);
    }
    await checkReachable(dir, what, user);
  }
}

/** chown -R that never follows a link, never leaves the file system, and skips hard-linked files. */
async function handOverTree(dir: string, user: BuildUser, dev: number): Promise<void> {
  const info = await lstat(dir);
  if (info.dev !== dev || info.isSymbolicLink()) return;
  // a directory already handed over was handed over whole; its contents are the build's own
  if (info.isDirectory() && info.uid === user.uid && info.gid === user.gid) return;
  if (!info.isDirectory()) {
    if (info.nlink === 1) await lchown(dir, user.uid, user.gid);
    return;
  }
  await lchown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir)) await handOverTree(path.join(dir, entry), user, dev);
}

/**
 * The build user must be able to reach the directory in the container and write to it. A mount's
 * parents are made by the engine (open to all) unless the image has them: of those, only /root is
 * closed to other users.
 */
async function checkReachable(dir: string, what: string, user: BuildUser): Promise<void> {
  const who = `${user.uid}:${user.gid}`;
  if (isInside(dir, '/root')) {
    throw new EnvironmentError(
      `${what} ${dir} is under /root, which BitBake (running as ${who}; it refuses root) cannot enter: keep the project, build_dir and the caches (YOCTOFORGE_CACHE_DIR, cache.dir) outside /root, e.g. caches in /var/cache/yoctoforge`,
    );
  }
  const info = await stat(dir);
  if (!permits(info, user, 3)) {
    throw new EnvironmentError(
      `${what} ${dir} belongs to ${info.uid}:${info.gid} and BitBake runs as ${who} (it refuses root): \`chown -R ${who} ${dir}\` if it is meant for this build, or choose a directory of its own`,
    );
  }
}

export interface SpaceNeed {
  dir: string;
  what: string;
  bytes: number;
}

/** Fails at once, with figures, when a filesystem the build writes to has less room than it needs. */
export async function checkFreeSpace(needs: SpaceNeed[]): Promise<void> {
  const problems: string[] = [];
  for (const need of needs) {
    const s = await statfs(need.dir);
    const free = s.bavail * s.bsize;
    if (free < need.bytes) {
      problems.push(`${need.what} (${need.dir}): ${formatSize(free)} free, needs about ${formatSize(need.bytes)}`);
    }
  }
  if (problems.length > 0) {
    throw new EnvironmentError(`not enough disk space: ${problems[0]}`, problems.slice(1));
  }
}

/**
 * One build of a target at a time: a second one fails at once instead of waiting for BitBake's
 * own lock hours later. A pid file left by a dead process is taken over.
 */
export async function acquireBuildPidfile(buildDir: string, target: string): Promise<() => Promise<void>> {
  await checkNotSystemDir(buildDir, 'build directory');
  await mkdir(buildDir, { recursive: true });
  const pidfile = await acquirePidfile(
    path.join(buildDir, '.yoctoforge-build.lock'),
    (pid) => `target ${target} is already being built (yoctoforge pid ${pid}); wait for it or stop it first`,
  );
  return pidfile.release;
}
