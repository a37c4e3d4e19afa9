import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { extract, list } from 'tar';
import { EnvironmentError, InputError, OperationError } from '../errors.js';
import { gitAt, gitFailure } from '../layers/git.js';
import { parseManifest } from '../manifest/load.js';
import { parseLock } from '../manifest/lock.js';
import { LOCK_FILE, MANIFEST_FILE } from '../manifest/schema.js';
import { writeFileAtomic } from '../util/fs.js';
import { BUNDLE_FORMAT, BUNDLE_ROOT, CHECKSUMS, RESTORED_DOWNLOADS_DIR, type BundleInfo } from './format.js';

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
 * Reads the whole archive once: every entry's type and path checked, every file hashed and
 * compared with the archive's own SHA256SUMS. Nothing is written.
 */
export async function inspectBundle(file: string): Promise<BundleListing> {
  if (!existsSync(file)) throw new InputError(`no bundle at ${file}`);
  const files = new Map<string, { size: number; sha256: string }>();
  const texts = new Map<string, string>();
  let problem: Error | undefined;
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        try {
          checkEntry(file, entry.path, entry.type);
        } catch (error) {
          problem ??= error as Error;
          entry.resume();
          return;
        }
        if (entry.type === 'Directory') return;
        const hash = createHash('sha256');
        const keep = entry.path.endsWith(`/${CHECKSUMS}`) || entry.path.endsWith('/bundle.json') || entry.path.endsWith('.yaml');
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          if (keep) chunks.push(chunk);
        });
        entry.on('end', () => {
          const rel = entry.path.slice(BUNDLE_ROOT.length + 1);
          files.set(rel, { size: entry.size ?? 0, sha256: hash.digest('hex') });
          if (keep) texts.set(rel, Buffer.concat(chunks).toString('utf8'));
        });
      },
    });
  } catch (error) {
    if (problem) throw problem;
    throw new InputError(`${file} is truncated or not a yoctoforge bundle (${(error as Error).message.split('\n')[0]})`);
  }
  if (problem) throw problem;
  const infoText = texts.get('bundle.json');
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
  const sums = texts.get(CHECKSUMS);
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
  say(`checking ${path.basename(file)}`);
  const listing = await inspectBundle(file);
  await mkdir(projectDir, { recursive: true });

  // Working trees take about as much again as the packed history: ask for twice the archive.
  const fsInfo = await statfs(projectDir);
  const free = fsInfo.bavail * fsInfo.bsize;
  const need = listing.bytes * 2;
  if (free < need) {
    throw new EnvironmentError(`not enough disk space in ${projectDir}: restoring needs about ${(need / 1e6).toFixed(0)} MB, ${(free / 1e6).toFixed(0)} MB are free`);
  }

  const staging = path.join(projectDir, `.yoctoforge-restore-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    await extract({ file, cwd: staging, strict: true, filter: (p, e) => (checkEntry(file, p, 'type' in e ? e.type : 'File'), true) });
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
        await parent.raw(['init', '--quiet', partial]);
        const git = await gitAt(partial, false);
        // every ref the bundle or mirror carries, under a temporary namespace; HEAD then holds the commit
        await git.raw(['fetch', '--quiet', '--no-tags', ...(entry.kind === 'mirror' ? ['--depth', '1'] : []), source, '+refs/*:refs/yoctoforge-restore/*']);
        await git.raw(['checkout', '--quiet', '--detach', locked.commit]);
        for (const ref of (await git.raw(['for-each-ref', '--format=%(refname)', 'refs/yoctoforge-restore/'])).split('\n').filter(Boolean)) {
          await git.raw(['update-ref', '-d', ref]);
        }
        await git.raw(['remote', 'add', 'origin', locked.url]);
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
    await rm(staging, { recursive: true, force: true });
  }
}
