import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * What BitBake puts in SSTATE_DIR for others to reuse: `XX/YY/sstate:PN:...:HASH_TASK.tar.zst`
 * (older releases `.tgz`), its `.siginfo` (the signature data `bitbake-diffsigs` compares) and,
 * with signed sstate, its `.sig`. Everything else — BitBake's `mktemp` files while an object is
 * written, lock files — is local and never published.
 */
const OBJECT_NAME = /^sstate:.+\.(tar\.zst|tgz)$/;
const COMPANION_NAME = /^sstate:.+\.(tar\.zst|tgz)\.(siginfo|sig)$/;

export function isSstateFile(name: string): boolean {
  return OBJECT_NAME.test(name) || COMPANION_NAME.test(name);
}

/** The object a file belongs to: the file itself, or the object a .siginfo/.sig describes. */
export function objectOf(relPath: string): string {
  return relPath.replace(/\.(siginfo|sig)$/, '');
}

export interface SstateFile {
  /** relative to SSTATE_DIR, forward slashes */
  rel: string;
  size: number;
  /** the newer of access and modification time: BitBake touches an object each time it reuses it */
  lastUsedMs: number;
}

/**
 * The publishable files under an sstate directory (none when it does not exist). Synchronous on
 * purpose: a cache holds tens of thousands of files, and a stat through the thread pool costs
 * more than the stat itself.
 */
export async function listSstateFiles(root: string): Promise<SstateFile[]> {
  const out: SstateFile[] = [];
  const walk = (dir: string, prefix: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // our own staging area in a directory mirror is never content
        if (!entry.name.startsWith('.')) walk(`${dir}/${entry.name}`, rel);
      } else if (entry.isFile() && isSstateFile(entry.name)) {
        const info = lstatSync(`${dir}/${entry.name}`);
        out.push({ rel, size: info.size, lastUsedMs: Math.max(info.atimeMs, info.mtimeMs) });
      }
    }
  };
  // names are joined by hand below: path.join's normalising cost more than the lstat itself
  walk(path.resolve(root), '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/**
 * What a publish puts in place, object by object: each object's .siginfo and .sig before the
 * object itself, so a mirror never shows an object without the files that explain it (BitBake
 * looks an object up by its own name only). One pass over the listing: no sort of all files by
 * a computed key (a cache holds tens of thousands).
 */
export function publishGroups(files: readonly SstateFile[]): SstateFile[][] {
  const groups = new Map<string, { companions: SstateFile[]; objects: SstateFile[] }>();
  for (const f of files) {
    const key = objectOf(f.rel);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { companions: [], objects: [] }));
    (key === f.rel ? group.objects : group.companions).push(f);
  }
  return [...groups.values()].map((g) => (g.companions.length ? [...g.companions, ...g.objects] : g.objects));
}

/** Total bytes and count of objects (not companions) in a listing. */
export function tally(files: readonly SstateFile[]): { files: number; objects: number; bytes: number } {
  return {
    files: files.length,
    objects: files.filter((f) => OBJECT_NAME.test(path.posix.basename(f.rel))).length,
    bytes: files.reduce((sum, f) => sum + f.size, 0),
  };
}
