import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { extract } from 'tar';
import { EnvironmentError, InputError, OperationError } from '../errors.js';
import { gitAt, gitFailure } from '../layers/git.js';
import { parseManifest } from '../manifest/load.js';
import { parseLock } from '../lock/lock.js';
import { RESTORED_DOWNLOADS_DIR } from '../manifest/paths.js';
import { LOCK_FILE, MANIFEST_FILE } from '../manifest/schema.js';
import { treeEntries, writeFileAtomic } from '../util/fs.js';
import { formatSize } from '../util/units.js';
import { BUNDLE_FORMAT, BUNDLE_ROOT, CHECKSUMS, type BundleInfo } from './format.js';

export interface BundleListing {
  info: BundleInfo;
  /** archive path (under BUNDLE_ROOT) → size and checksum */
  files: Map<string, { size: number; sha256: string }>;
  bytes: number;
}

/** Rejects what must never be unpacked: links, devices, absolute paths, `..`, anything outside the root. */
function checkEntry(file: string, entryPath: string, type: string): void {
  const clean = entryPath.replace(/\/+$/, '');
  if (type !== 'File' && type !== 'Directory' && type !== 'OldFile') {
    throw new InputError(`${file} holds ${type === 'SymbolicLink' || type === 'Link' ? 'a link' : `a ${type} entry`} (${entryPath}): a yoctoforge bundle has only files and directories; refusing it`);
  }
  if (path.posix.isAbsolute(clean) || clean.split('/').includes('..') || !(clean === BUNDLE_ROOT || clean.startsWith(`${BUNDLE_ROOT}/`))) {
    throw new InputError(`${file} holds an entry that would land outside the project (${entryPath}); refusing it`);
  }
}

/**
 * Unpacks the archive into `staging`: every entry's type and path checked before it is written
 * (a bad one is skipped and fails the whole restore), then every file hashed and compared with
 * the archive's own SHA256SUMS. The caller moves nothing out of staging
 * unless this succeeds.
 */
export async function unpackBundle(file: string, staging: string): Promise<BundleListing> {
  if (!existsSync(file)) throw new InputError(`no bundle at ${file}`);
  const files = new Map<string, { size: number; sha256: string }>();
  let problem: Error | undefined;
  try {
    await extract({
      file,
      cwd: staging,
      strict: true,
      filter: (entryPath, entry) => {
        try {
          checkEntry(file, entryPath, 'type' in entry ? entry.type : 'File');
          return true;
        } catch (error) {
          problem ??= error as Error;
          return false;
        }
      },
    });
  } catch (error) {
    if (problem) throw problem;
    throw new InputError(`${file} is truncated or not a yoctoforge bundle (${(error as Error).message.split('\n')[0]})`);
  }
  if (problem) throw problem;
  const root = path.join(staging, BUNDLE_ROOT);
  // hashed from disk, after the unpack: the page cache still holds what was just written
  for (const rel of await treeEntries(root)) {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path.join(root, rel))) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    files.set(rel, { size, sha256: hash.digest('hex') });
  }
  const infoText = await readFile(path.join(root, 'bundle.json'), 'utf8').catch(() => undefined);
  if (!infoText) throw new InputError(`${file} is not a yoctoforge bundle (no ${BUNDLE_ROOT}/bundle.json)`);
  let info: BundleInfo;
  try {
    info = JSON.parse(infoText) as BundleInfo;
  } catch {
    throw new InputError(`${file}: bundle.json is not valid JSON`);
  }
  if (!Number.isInteger(info.format) || info.format > BUNDLE_FORMAT) {
    throw new InputError(`${file} was made by a newer yoctoforge (bundle format ${info.format}; this one reads up to ${BUNDLE_FORMAT}): upgrade yoctoforge`);
  }
  const sums = await readFile(path.join(root, CHECKSUMS), 'utf8').catch(() => undefined);
  if (sums === undefined) throw new InputError(`${file} has no ${CHECKSUMS}: it is incomplete or not a yoctoforge bundle`);
  const expected = new Map(
    sums
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.slice(66), line.slice(0, 64)] as const),
  );
  for (const [rel, sum] of expected) {
    const got = files.get(rel);
    if (!got) throw new InputError(`${file} is incomplete: ${rel} is missing`);
    if (got.sha256 !== sum) throw new InputError(`${file} has been modified: ${rel} does not match its checksum`);
  }
  for (const rel of files.keys()) {
    if (rel !== CHECKSUMS && !expected.has(rel)) throw new InputError(`${file} has been modified: ${rel} is not in its ${CHECKSUMS}`);
  }
  let bytes = 0;
  for (const f of files.values()) bytes += f.size;
  return { info, files, bytes };
}

/** What the archive unpacks to, from the gzip trailer (modulo 4 GiB; never less than the file). */
async function unpackedSizeEstimate(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const tail = Buffer.alloc(4);
    await handle.read(tail, 0, 4, Math.max(0, size - 4));
    return Math.max(tail.readUInt32LE(0), size);
  } finally {
    await handle.close();
  }
}

export interface RestoreResult {
  repos: Array<{ name: string; commit: string; action: 'restored' | 'kept' }>;
  downloads: number;
  manifestWritten: boolean;
}

async function headOf(dir: string): Promise<string | undefined> {
  if (!existsSync(path.join(dir, '.git'))) return undefined;
  const git = await gitAt(dir, false);
  return (await git.raw(['rev-parse', 'HEAD']).catch(() => '')).trim() || undefined;
}

/**
 * Restores manifest, lock, layers (and downloads) from a bundle into projectDir without the
 * network. Everything is checked before anything is written; existing files that differ are
 * overwritten only with `force`.
 */
export async function restoreBundle(file: string, projectDir: string, options: { force?: boolean; onProgress?: (m: string) => void } = {}): Promise<RestoreResult> {
  const say = options.onProgress ?? ((): void => undefined);
  await mkdir(projectDir, { recursive: true });
  // Unpacked archive plus working trees about as large as the packed history: twice the archive.
  const need = (await unpackedSizeEstimate(file).catch(() => 0)) * 2;
  const fsInfo = await statfs(projectDir);
  const free = fsInfo.bavail * fsInfo.bsize;
  if (free < need) {
    throw new EnvironmentError(`not enough disk space in ${projectDir}: restoring needs about ${formatSize(need)}, ${formatSize(free)} are free`);
  }

  const staging = path.join(projectDir, `.yoctoforge-restore-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    say(`unpacking and checking ${path.basename(file)}`);
    const listing = await unpackBundle(file, staging);
    const root = path.join(staging, BUNDLE_ROOT);
    const manifestText = await readFile(path.join(root, 'layers.yaml'), 'utf8');
    const lockText = await readFile(path.join(root, 'layers.lock.yaml'), 'utf8');
    const lock = parseLock(lockText, `${file}:layers.lock.yaml`);
    const manifest = parseManifest(manifestText, `${file}:layers.yaml`);
    const layersDir = path.resolve(projectDir, manifest.layers_dir ?? 'layers');

    // Refuse before changing anything.
    const conflicts: string[] = [];
    for (const [name, text] of [
      [MANIFEST_FILE, manifestText],
      [LOCK_FILE, lockText],
    ] as const) {
      const target = path.join(projectDir, name);
      if (existsSync(target) && (await readFile(target, 'utf8')) !== text) conflicts.push(`${name} differs from the bundle's`);
    }
    const heads = new Map<string, string | undefined>();
    for (const [name, locked] of Object.entries(lock.repos)) {
      const dir = path.join(layersDir, name);
      const head = await headOf(dir);
      heads.set(name, head);
      if (existsSync(dir) && head !== locked.commit) conflicts.push(`${path.relative(projectDir, dir)} exists${head ? ` at ${head.slice(0, 12)}, not at the bundle's ${locked.commit.slice(0, 12)}` : ' and is not a git checkout'}`);
    }
    if (conflicts.length > 0 && !options.force) {
      throw new InputError(`restoring would overwrite ${conflicts[0]}; nothing was changed (--force overwrites)`, conflicts.slice(1).map((c) => `also: ${c}`));
    }

    const repos: RestoreResult['repos'] = [];
    await mkdir(layersDir, { recursive: true });
    for (const name of Object.keys(lock.repos).sort()) {
      const locked = lock.repos[name]!;
      const entry = listing.info.repos[name];
      if (!entry || entry.commit !== locked.commit) throw new InputError(`${file}: the bundle's ${name} does not carry the locked commit ${locked.commit.slice(0, 12)}`);
      const dir = path.join(layersDir, name);
      if (heads.get(name) === locked.commit) {
        repos.push({ name, commit: locked.commit, action: 'kept' });
        continue;
      }
      say(`restoring ${name}`);
      const source = path.join(root, 'repos', entry.kind === 'bundle' ? `${name}.bundle` : `${name}.git`);
      const partial = path.join(layersDir, `.${name}.partial-${process.pid}`);
      await rm(partial, { recursive: true, force: true });
      try {
        const parent = await gitAt(layersDir, false);
        if (entry.kind === 'bundle') {
          await parent.raw(['clone', '--quiet', '--no-checkout', source, partial]);
        } else {
          // the mirror's objects and shallow boundary become the checkout's own: nothing repacked
          await mkdir(partial);
          await rename(source, path.join(partial, '.git'));
        }
        const git = await gitAt(partial, false);
        if (entry.kind === 'mirror') await git.raw(['config', 'core.bare', 'false']);
        await git.raw(['checkout', '--quiet', '--detach', locked.commit]);
        if (entry.kind === 'bundle') await git.raw(['remote', 'set-url', 'origin', locked.url]);
        else await git.raw(['remote', 'add', 'origin', locked.url]);
        if (entry.kind === 'mirror') await git.raw(['update-ref', '-d', 'refs/heads/locked']);
        const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
        if (head !== locked.commit) throw new Error(`checked out ${head}, not ${locked.commit}`);
      } catch (error) {
        await rm(partial, { recursive: true, force: true });
        throw new OperationError(`cannot restore ${name} from the bundle: ${gitFailure(error)}`);
      }
      await rm(dir, { recursive: true, force: true });
      await rename(partial, dir);
      repos.push({ name, commit: locked.commit, action: 'restored' });
    }

    let downloads = 0;
    const downloadsSrc = path.join(root, 'downloads');
    if (existsSync(downloadsSrc)) {
      const into = path.join(projectDir, RESTORED_DOWNLOADS_DIR);
      await mkdir(into, { recursive: true });
      for (const name of await readdir(downloadsSrc)) {
        if (name === CHECKSUMS) continue;
        await rename(path.join(downloadsSrc, name), path.join(into, name));
        downloads++;
      }
    }
    // the manifest and lock last: a project with them is a restored project
    await writeFileAtomic(path.join(projectDir, MANIFEST_FILE), manifestText);
    await writeFileAtomic(path.join(projectDir, LOCK_FILE), lockText);
    return { repos, downloads, manifestWritten: true };
  } finally {
    // a failed unpack may still be closing files it was writing: retry on ENOTEMPTY
    await rm(staging, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
}
