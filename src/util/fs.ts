import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Writes a file so that readers see either the old or the new content, never half of it. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
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
