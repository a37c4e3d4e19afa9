import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { extract } from 'tar';
import { EnvironmentError, InputError, OperationError } from '../errors.js';
import { markCreated } from '../layers/checkout.js';
import { gitAt, gitFailure } from '../layers/git.js';
import { parseManifest } from '../manifest/load.js';
import { parseLock } from '../lock/lock.js';
import { RESTORED_DOWNLOADS_DIR } from '../manifest/paths.js';
import { LOCK_FILE, MANIFEST_FILE } from '../manifest/schema.js';
import { sha256File, treeEntries, writeFileAtomic } from '../util/fs.js';
import { INPUT_LIMITS, readInputFile } from '../util/input.js';
import { formatSize } from '../util/units.js';
import { checkBundleOrigin, type OriginCheck } from './origin.js';
import { BUNDLE_FORMAT, BUNDLE_ROOT, bundleInfoSchema, CHECKSUMS, PROJECT_FILES_DIR, type BundleInfo } from './format.js';

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
    throw new InputError(
      `${file} holds ${type === 'SymbolicLink' || type === 'Link' ? 'a link' : `a ${type} entry`} (${entryPath}): a yoctoforge bundle has only files and directories; refusing it`,
    );
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
  const infoText = await readInputFile(path.join(root, 'bundle.json'), {
    what: 'bundle.json of',
    maxBytes: INPUT_LIMITS.small,
    optional: true,
  });
  if (infoText === undefined) throw new InputError(`${file} is not a yoctoforge bundle (no ${BUNDLE_ROOT}/bundle.json)`);
  const info = parseBundleInfo(infoText, file);
  const sums = await readInputFile(path.join(root, CHECKSUMS), { what: 'checksum list', maxBytes: INPUT_LIMITS.checksums, optional: true });
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

function parseBundleInfo(text: string, file: string): BundleInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InputError(`${file}: bundle.json is not valid JSON`);
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (typeof format === 'number' && Number.isInteger(format) && format > BUNDLE_FORMAT) {
    throw new InputError(
      `${file} was made by a newer yoctoforge (bundle format ${format}; this one reads up to ${BUNDLE_FORMAT}): upgrade yoctoforge`,
    );
  }
  const result = bundleInfoSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.map(String).join('.') || '(top level)';
    const what =
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`
        : issue.code === 'invalid_type' && issue.message.includes('received undefined')
          ? 'missing'
          : issue.message;
    throw new InputError(`${file}: bundle.json is not a yoctoforge bundle description: ${where}: ${what}`);
  }
  return result.data;
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
 * `inside` joined with `rel`, provided it stays inside: no `..` out of it, no absolute path, and
 * no symbolic link on the way (a link could lead anywhere on the machine).
 */
async function confined(inside: string, rel: string, what: string): Promise<string> {
  const target = path.resolve(inside, rel);
  const relative = path.relative(inside, target);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new InputError(
      `the bundle's ${what} (${rel}) lies outside ${inside}; a bundle restores only into the folder it is restored into`,
    );
  }
  let at = inside;
  for (const part of relative.split(path.sep).filter(Boolean)) {
    at = path.join(at, part);
    const info = await lstat(at).catch(() => undefined);
    if (!info) break;
    if (info.isSymbolicLink())
      throw new InputError(`${at} is a symbolic link; a bundle restores only into real folders of ${inside} (the bundle's ${what})`);
  }
  return target;
}

const OBJECT_FILE = /^(?:[0-9a-f]{2}\/[0-9a-f]{38}|pack\/pack-[0-9a-f]{40}\.(?:pack|idx|rev))$/;

/**
 * A bundled bare mirror becomes a fresh repository that holds its objects and nothing else: no
 * hooks, no config, no alternates, no refs from the bundle (a config with core.fsmonitor or a
 * hooks/post-checkout would run as the restoring user, now and at every later sync).
 */
async function adoptMirrorObjects(mirror: string, gitDir: string, name: string): Promise<void> {
  const objects = path.join(mirror, 'objects');
  for (const rel of await treeEntries(objects).catch(() => [] as string[])) {
    if (!OBJECT_FILE.test(rel)) continue;
    const into = path.join(gitDir, 'objects', rel);
    await mkdir(path.dirname(into), { recursive: true });
    await rename(path.join(objects, rel), into);
  }
  const shallow = await readInputFile(path.join(mirror, 'shallow'), {
    what: `shallow list of ${name}`,
    maxBytes: INPUT_LIMITS.small,
    optional: true,
  });
  if (shallow !== undefined) {
    const commits = shallow.split('\n').filter(Boolean);
    if (!commits.every((c) => /^[0-9a-f]{40}$/.test(c)))
      throw new InputError(`the bundle's repos/${name}.git/shallow is not a list of commit ids`);
    await writeFile(path.join(gitDir, 'shallow'), `${commits.join('\n')}\n`);
  }
}

/** A `git bundle` file, not a repository directory that git would read hooks or config from. */
async function checkGitBundleFile(source: string, name: string): Promise<void> {
  const info = await lstat(source).catch(() => undefined);
  if (!info?.isFile()) throw new InputError(`the bundle's repos/${name}.bundle is not a git bundle file`);
  const handle = await open(source, 'r');
  try {
    const head = Buffer.alloc(20);
    await handle.read(head, 0, 20, 0);
    if (!/^# v[23] git bundle\n/.test(head.toString('latin1')))
      throw new InputError(`the bundle's repos/${name}.bundle is not a git bundle file`);
  } finally {
    await handle.close();
  }
}

export interface RestoreOptions extends OriginCheck {
  force?: boolean;
  onProgress?: (m: string) => void;
}

/**
 * Restores manifest, lock, layers (and downloads) from a bundle into projectDir without the
 * network. The archive's origin is checked (when the user names a checksum or signature), then
 * everything in it, before anything is written; everything lands inside projectDir, whatever the
 * bundle's manifest and lock say; existing files that differ are overwritten only with `force`.
 */
export async function restoreBundle(file: string, projectDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const say = options.onProgress ?? ((): void => undefined);
  await checkBundleOrigin(file, options);
  await mkdir(projectDir, { recursive: true });
  projectDir = await realpath(projectDir);
  // Unpacked archive plus working trees about as large as the packed history: twice the archive.
  const need = (await unpackedSizeEstimate(file).catch(() => 0)) * 2;
  const fsInfo = await statfs(projectDir);
  const free = fsInfo.bavail * fsInfo.bsize;
  if (free < need) {
    throw new EnvironmentError(
      `not enough disk space in ${projectDir}: restoring needs about ${formatSize(need)}, ${formatSize(free)} are free`,
    );
  }

  const staging = path.join(projectDir, `.yoctoforge-restore-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  try {
    say(`unpacking and checking ${path.basename(file)}`);
    const listing = await unpackBundle(file, staging);
    const root = path.join(staging, BUNDLE_ROOT);
    const manifestText = await readInputFile(path.join(root, 'layers.yaml'), { what: 'manifest of', maxBytes: INPUT_LIMITS.manifest });
    const lockText = await readInputFile(path.join(root, 'layers.lock.yaml'), { what: 'lock file of', maxBytes: INPUT_LIMITS.manifest });
    const lock = parseLock(lockText, `${file}:layers.lock.yaml`);
    const manifest = parseManifest(manifestText, `${file}:layers.yaml`);
    const layersDir = await confined(projectDir, manifest.layers_dir ?? 'layers', 'layers_dir');
    const names = Object.keys(lock.repos).sort();
    const unlocked = Object.keys(manifest.repos).filter((n) => manifest.repos[n]!.url !== undefined && !lock.repos[n]);
    if (unlocked.length > 0)
      throw new InputError(`${file}: its layers.lock.yaml does not lock ${unlocked.join(', ')}; the bundle is inconsistent`);
    for (const name of names) {
      const entry = listing.info.repos[name];
      if (!entry || entry.commit !== lock.repos[name]!.commit)
        throw new InputError(`${file}: the bundle's ${name} does not carry the locked commit ${lock.repos[name]!.commit.slice(0, 12)}`);
    }

    // Refuse before changing anything.
    const conflicts: string[] = [];
    for (const [name, text] of [
      [MANIFEST_FILE, manifestText],
      [LOCK_FILE, lockText],
    ] as const) {
      const target = await confined(projectDir, name, name);
      if (existsSync(target) && (await readInputFile(target, { what: name, maxBytes: INPUT_LIMITS.manifest })) !== text)
        conflicts.push(`${name} differs from the bundle's`);
    }
    const heads = new Map<string, string | undefined>();
    for (const name of names) {
      const locked = lock.repos[name]!;
      const dir = await confined(layersDir, name, `repository ${name}`);
      const head = await headOf(dir);
      heads.set(name, head);
      if (existsSync(dir) && head !== locked.commit)
        conflicts.push(
          `${path.relative(projectDir, dir)} exists${head ? ` at ${head.slice(0, 12)}, not at the bundle's ${locked.commit.slice(0, 12)}` : ' and is not a git checkout'}`,
        );
    }
    // the project's own files (local layers, patches): restored at their paths, never deleting any
    const projectSrc = path.join(root, PROJECT_FILES_DIR);
    const projectFiles = existsSync(projectSrc) ? await treeEntries(projectSrc) : [];
    for (const rel of projectFiles) {
      const target = await confined(projectDir, rel, `project file ${rel}`);
      const theirs = await lstat(target).catch(() => undefined);
      if (!theirs) continue;
      const ours = listing.files.get(`${PROJECT_FILES_DIR}/${rel}`);
      if (!theirs.isFile() || !ours || theirs.size !== ours.size || (await sha256File(target)) !== ours.sha256)
        conflicts.push(`${rel} differs from the bundle's`);
    }
    const downloadsSrc = path.join(root, 'downloads');
    const downloadsDir = await confined(projectDir, RESTORED_DOWNLOADS_DIR, 'downloads');
    const downloadNames = existsSync(downloadsSrc) ? (await readdir(downloadsSrc)).filter((n) => n !== CHECKSUMS).sort() : [];
    for (const name of downloadNames) {
      // a download the user changed (or replaced) since the last restore is theirs now
      const target = path.join(downloadsDir, name);
      const theirs = await lstat(target).catch(() => undefined);
      if (!theirs) continue;
      const ours = listing.files.get(`downloads/${name}`);
      if (!theirs.isFile() || !ours || theirs.size !== ours.size || (await sha256File(target)) !== ours.sha256)
        conflicts.push(`${path.relative(projectDir, target)} differs from the bundle's`);
    }
    if (conflicts.length > 0 && !options.force) {
      throw new InputError(
        `restoring would overwrite ${conflicts[0]}; nothing was changed (--force overwrites)`,
        conflicts.slice(1).map((c) => `also: ${c}`),
      );
    }

    const repos: RestoreResult['repos'] = [];
    await mkdir(layersDir, { recursive: true });
    for (const name of names) {
      const locked = lock.repos[name]!;
      const entry = listing.info.repos[name]!;
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
          await checkGitBundleFile(source, name);
          await parent.raw(['clone', '--quiet', '--no-checkout', '--', source, partial]);
          await (await gitAt(partial, false)).raw(['remote', 'remove', 'origin']);
        } else {
          await parent.raw(['init', '--quiet', '--', partial]);
          await adoptMirrorObjects(source, path.join(partial, '.git'), name);
        }
        const git = await gitAt(partial, false);
        await git.raw(['checkout', '--quiet', '--detach', locked.commit]);
        await git.raw(['remote', 'add', 'origin', locked.url]);
        await markCreated(git);
        const head = (await git.raw(['rev-parse', 'HEAD'])).trim();
        if (head !== locked.commit) throw new Error(`checked out ${head}, not ${locked.commit}`);
      } catch (error) {
        await rm(partial, { recursive: true, force: true });
        if (error instanceof InputError) throw error;
        throw new OperationError(`cannot restore ${name} from the bundle: ${gitFailure(error)}`);
      }
      await rm(dir, { recursive: true, force: true });
      await rename(partial, dir);
      repos.push({ name, commit: locked.commit, action: 'restored' });
    }

    for (const rel of projectFiles) {
      const target = path.join(projectDir, rel);
      await mkdir(path.dirname(target), { recursive: true });
      await rm(target, { force: true });
      await rename(path.join(projectSrc, rel), target);
    }
    if (downloadNames.length > 0) {
      await mkdir(downloadsDir, { recursive: true });
      for (const name of downloadNames) {
        const from = path.join(downloadsSrc, name);
        if (!(await lstat(from)).isFile()) continue;
        await rm(path.join(downloadsDir, name), { recursive: true, force: true });
        await rename(from, path.join(downloadsDir, name));
      }
    }
    // the manifest and lock last: a project with them is a restored project
    await writeFileAtomic(path.join(projectDir, MANIFEST_FILE), manifestText);
    await writeFileAtomic(path.join(projectDir, LOCK_FILE), lockText);
    return { repos, downloads: downloadNames.length, manifestWritten: true };
  } finally {
    // a failed unpack may still be closing files it was writing: retry on ENOTEMPTY
    await rm(staging, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
}
