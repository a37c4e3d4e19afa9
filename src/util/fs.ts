import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';

/** Writes a file so that readers see either the old or the new content, never half of it. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    // a full or read-only disk must not leave `.NAME.XXXX.tmp` files behind
    await rm(temp, { force: true });
    throw error;
  }
}

/** Writes only when the content differs; returns whether it wrote (unchanged files keep their mtime). */
export async function writeFileIfChanged(file: string, content: string): Promise<boolean> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) return false;
  await writeFileAtomic(file, content);
  return true;
}

export async function pathExists(p: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(p).then(
    () => true,
    () => false,
  );
}

/**
 * What lies under dir, as relative paths with forward slashes, sorted by byte order (the same on
 * every machine): regular files only, or with their directories, each before what it holds.
 */
export async function treeEntries(dir: string, options: { directories?: boolean } = {}, prefix = ''): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const out: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (options.directories) out.push(rel);
      out.push(...(await treeEntries(path.join(dir, entry.name), options, rel)));
    } else if (entry.isFile()) {
      out.push(rel);
    }
  }
  return out;
}

/**
 * Deletes `dir` only when it lies strictly inside `root` once the symlinks leading to it are
 * resolved (a symlink at `dir` itself is removed, not followed), so a recursive delete can never
 * reach outside what we own. When read-only directories stop it (BitBake's Go module cache),
 * they are made writable and the delete is tried again.
 */
export async function removeInside(root: string, dir: string): Promise<boolean> {
  const { realpath, lstat } = await import('node:fs/promises');
  const realRoot = await realpath(root).catch(() => undefined);
  const realParent = await realpath(path.dirname(dir)).catch(() => undefined);
  if (!realRoot || !realParent) return false;
  const target = path.join(realParent, path.basename(dir));
  const inside = path.relative(realRoot, target);
  if (!inside || inside.startsWith('..') || path.isAbsolute(inside)) throw new Error(`refusing to delete ${dir}: not inside ${root}`);
  const info = await lstat(target).catch(() => undefined);
  if (!info) return false;
  try {
    await rm(target, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!info.isDirectory() || (code !== 'EACCES' && code !== 'EPERM')) throw error;
    await makeTreeWritable(target);
    await rm(target, { recursive: true, force: true });
  }
  return true;
}

async function makeTreeWritable(dir: string): Promise<void> {
  const { chmod, lstat, readdir } = await import('node:fs/promises');
  const st = await lstat(dir);
  if ((st.mode & 0o700) !== 0o700) await chmod(dir, st.mode | 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeTreeWritable(path.join(dir, entry.name));
  }
}

/** A file's SHA-256, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Whether `child` is `parent` or lies under it, by their paths as written. */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Refuses an output path that is one of the command's inputs (the same path, or a link or hard
 * link to the same file): no command writes over what it reads.
 */
export function refuseOverwritingInput(output: string, inputs: string[], option: string): void {
  const out = statSync(output, { throwIfNoEntry: false });
  for (const input of inputs) {
    const same =
      path.resolve(input) === path.resolve(output) ||
      (out !== undefined &&
        (() => {
          const s = statSync(input, { throwIfNoEntry: false });
          return s !== undefined && s.dev === out.dev && s.ino === out.ino;
        })());
    if (same)
      throw new InputError(`${option} ${output} is an input of this command (${input}); it would be overwritten: name another file`);
  }
}

/** Whether a path is a directory (following links); false when it does not exist. */
export async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Whether a path is a regular file (following links); false when it does not exist. */
export async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}
