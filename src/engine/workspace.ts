import { chown, mkdir, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError } from '../errors.js';
import { acquirePidfile } from '../util/pidfile.js';
import { formatSize } from '../util/units.js';
import type { BuildUser } from './engine.js';

/** Creates the directories BitBake writes to and, when we run as root for another build user, gives them to it. */
export async function prepareWritableDirs(dirs: string[], user: BuildUser): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  for (const dir of dirs) {
    await mkdir(dir, { recursive: true });
    if (asRoot && user.uid !== 0) await chownTree(dir, user);
  }
}

/** chown -R, skipping what already belongs to the user (a warm sstate cache holds many files). */
async function chownTree(dir: string, user: BuildUser): Promise<void> {
  const { lstat } = await import('node:fs/promises');
  const info = await lstat(dir);
  if (info.uid === user.uid && info.gid === user.gid && info.isDirectory()) {
    // a directory already handed over was handed over whole; its contents are the build's own
    return;
  }
  await chown(dir, user.uid, user.gid);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, user);
    else await chown(p, user.uid, user.gid).catch(() => undefined);
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
  await mkdir(buildDir, { recursive: true });
  const pidfile = await acquirePidfile(path.join(buildDir, '.yoctoforge-build.lock'), (pid) => `target ${target} is already being built (yoctoforge pid ${pid}); wait for it or stop it first`);
  return pidfile.release;
}
