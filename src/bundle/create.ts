import { chmod, copyFile, cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { create as createTar } from 'tar';
import { renderConfText } from '../conf/render.js';
import { BUILD_ENV_DIR } from '../engine/image.js';
import { InputError } from '../errors.js';
import { checkLayers } from '../layers/check.js';
import { gitAt, gitFailure } from '../layers/git.js';
import { lockFilePath, lockStaleness, readLock, type Lock } from '../lock/lock.js';
import type { Project } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import type { Target } from '../manifest/target.js';
import { isInside, sha256File, treeEntries } from '../util/fs.js';
import { resolvePatches } from '../layers/patches.js';
import { VERSION } from '../version.js';
import { BUNDLE_FORMAT, BUNDLE_ROOT, CHECKSUMS, PROJECT_FILES_DIR, type BundleInfo } from './format.js';

export interface BundlePart {
  name: string;
  bytes: number;
}

export interface BundleOptions {
  output: string;
  shallow?: boolean;
  downloads?: boolean;
  onProgress?: (message: string) => void;
}

/** A fixed time for every entry: the same inputs give the same archive bytes. */
const EPOCH = new Date('2000-01-01T00:00:00Z');

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const f of await treeEntries(dir)) total += (await stat(path.join(dir, f))).size;
  return total;
}

/** The lock must exist, match the manifest, and every checkout must sit clean at its locked commit. */
async function checkCheckouts(project: Project, lock: Lock | undefined): Promise<Lock> {
  if (!lock) throw new InputError(`${project.dir} has no layers.lock.yaml: run \`yoctoforge sync\` before bundling`);
  // the check `sync --locked` makes: a restored bundle must pass it
  const stale = lockStaleness(project, lock);
  if (stale.length > 0) throw new InputError(`layers.lock.yaml does not match layers.yaml: run \`yoctoforge sync\` before bundling`, stale);
  const { repoDir } = projectPaths(project);
  for (const name of Object.keys(lock.repos)) {
    const locked = lock.repos[name]!;
    const dir = repoDir(name);
    // a patched repo sits at the commit its patches made on top of the locked one
    const wanted = locked.patched ?? locked.commit;
    const git = await gitAt(dir, false).catch(() => undefined);
    const head = git ? (await git.raw(['rev-parse', 'HEAD']).catch(() => '')).trim() : '';
    if (!head) throw new InputError(`${dir} is not a synced checkout: run \`yoctoforge sync\` before bundling`);
    if (head !== wanted)
      throw new InputError(
        `${name} is at ${head.slice(0, 12)}, not at its locked ${wanted.slice(0, 12)}: run \`yoctoforge sync\` (or \`sync --update\` to lock what you have)`,
      );
    const dirty = (await git!.raw(['status', '--porcelain', '--untracked-files=no'])).trim();
    if (dirty)
      throw new InputError(
        `${name} has uncommitted changes (${dirty.split('\n').length} files): a bundle holds only committed, locked work; commit or stash them`,
      );
  }
  return lock;
}

async function bundleRepo(checkout: string, into: string, name: string, commit: string, shallow: boolean): Promise<'bundle' | 'mirror'> {
  const git = await gitAt(checkout, false);
  try {
    // A shallow checkout (sync --shallow) has no history a bundle could carry: its objects and
    // shallow boundary go in as a bare mirror, copied as they are (no repacking).
    const isShallow = (await git.raw(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
    if (isShallow || shallow) {
      // A shallow checkout (sync --shallow) has no history a bundle could carry, and --shallow
      // wants none: a bare mirror of the locked commit's objects (with what history a shallow
      // checkout has), cut at a shallow boundary.
      const mirror = path.join(into, `${name}.git`);
      await mkdir(path.join(mirror, 'refs', 'heads'), { recursive: true });
      await mkdir(path.join(mirror, 'objects', 'pack'), { recursive: true });
      const gitDir = path.resolve(checkout, (await git.raw(['rev-parse', '--git-dir'])).trim());
      const boundary = shallow ? [commit] : (await readFile(path.join(gitDir, 'shallow'), 'utf8')).split('\n').filter(Boolean).sort();
      await deterministicPack(checkout, commit, shallow, path.join(mirror, 'objects', 'pack', 'pack'));
      await writeFile(path.join(mirror, 'shallow'), `${boundary.join('\n')}\n`);
      await writeFile(path.join(mirror, 'refs', 'heads', 'locked'), `${commit}\n`);
      await writeFile(path.join(mirror, 'HEAD'), 'ref: refs/heads/locked\n');
      await writeFile(path.join(mirror, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
      return 'mirror';
    }
    // HEAD is the locked commit (checked above): the bundle carries it and its whole history
    await git.raw(['-c', 'pack.threads=1', 'bundle', 'create', '--quiet', path.join(into, `${name}.bundle`), 'HEAD']);
    return 'bundle';
  } catch (error) {
    throw new InputError(`cannot bundle ${name}: ${gitFailure(error)}`);
  }
}

/**
 * One pack of the objects a mirror carries, the same bytes whatever packs the checkout happens to
 * hold: deltas are computed afresh (never reused from the checkout, whose packs differ with how
 * and when it was fetched), on one thread, with every packing setting pinned against the
 * user's git config.
 */
async function deterministicPack(checkout: string, commit: string, onlyCommit: boolean, base: string): Promise<void> {
  const settings = [
    'pack.threads=1',
    'pack.window=10',
    'pack.depth=50',
    'pack.compression=6',
    'core.compression=6',
    'pack.indexVersion=2',
    'pack.writeReverseIndex=false',
  ];
  const config = settings.flatMap((s) => ['-c', s]);
  const objects = await execa('git', [...config, 'rev-list', '--objects', ...(onlyCommit ? ['--no-walk'] : []), commit], {
    cwd: checkout,
    stdin: 'ignore',
    maxBuffer: 1024 ** 3,
  });
  await execa('git', [...config, 'pack-objects', '--quiet', '--no-reuse-delta', '--no-reuse-object', base], {
    cwd: checkout,
    input: `${objects.stdout}\n`,
    maxBuffer: 1024 ** 3,
  });
}

/**
 * The project's own files a build needs besides the manifest and lock: the layers of local repos
 * (without .git, layers_dir, build_dir or restored downloads, which a local repo at "." would
 * hold) and the patch files. Returns their paths relative to the project.
 */
async function copyProjectFiles(project: Project, into: string): Promise<string[]> {
  const paths = projectPaths(project);
  const skipped = [paths.layersDir, paths.buildRoot, paths.restoredDownloadsDir];
  const files = new Set<string>();
  for (const [name, spec] of Object.entries(project.manifest.repos)) {
    for (const patch of await resolvePatches(project.dir, spec.patches ?? [])) files.add(patch.path);
    if (spec.path === undefined) continue;
    for (const sub of spec.layers ?? ['.']) {
      const dir = path.join(paths.repoDir(name), sub);
      for (const rel of await treeEntries(dir)) {
        const abs = path.join(dir, rel);
        if (rel.split('/').includes('.git') || skipped.some((s) => isInside(abs, s))) continue;
        files.add(path.relative(project.dir, abs).split(path.sep).join('/'));
      }
    }
  }
  const sorted = [...files].sort();
  for (const rel of sorted) {
    await mkdir(path.dirname(path.join(into, rel)), { recursive: true });
    await copyFile(path.join(project.dir, rel), path.join(into, rel));
  }
  return sorted;
}

/** Mirror tarballs and source archives at the top of DL_DIR (not the fetcher's own git2/ clones, locks or stamps). */
async function copyDownloads(dlDir: string, into: string): Promise<number> {
  await mkdir(into, { recursive: true });
  const names = (await readdir(dlDir).catch(() => [] as string[])).filter((n) => !/\.(done|lock)$/.test(n)).sort();
  const sums: string[] = [];
  for (const name of names) {
    const src = path.join(dlDir, name);
    // BitBake links files fetched from a local mirror into DL_DIR: the bundle carries their content
    if (!(await stat(src).catch(() => undefined))?.isFile()) continue;
    await copyFile(src, path.join(into, name));
    sums.push(`${await sha256File(src)}  ${name}`);
  }
  await writeFile(path.join(into, CHECKSUMS), sums.length ? `${sums.join('\n')}\n` : '');
  return sums.length;
}

/** Same modes and times everywhere: umask and checkout times must not change the archive's bytes. */
async function normalise(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const info = await lstat(p);
    if (info.isDirectory()) {
      await normalise(p);
      await chmod(p, 0o755);
    } else {
      await chmod(p, info.mode & 0o111 ? 0o755 : 0o644);
    }
    await utimes(p, EPOCH, EPOCH);
  }
}

export async function createBundle(
  project: Project,
  target: Target,
  options: BundleOptions,
): Promise<{ file: string; parts: BundlePart[]; bytes: number }> {
  const say = options.onProgress ?? ((): void => undefined);
  const lock = await checkCheckouts(project, await readLock(project));
  const layers = await checkLayers(project, target);
  const paths = projectPaths(project);
  const staging = await mkdtemp(path.join(os.tmpdir(), 'yoctoforge-bundle-'));
  const root = path.join(staging, BUNDLE_ROOT);
  try {
    await mkdir(path.join(root, 'repos'), { recursive: true });
    await copyFile(project.manifestFile, path.join(root, 'layers.yaml'));
    await copyFile(lockFilePath(project), path.join(root, 'layers.lock.yaml'));
    const info: BundleInfo = {
      format: BUNDLE_FORMAT,
      tool: `yoctoforge ${VERSION}`,
      target: target.name,
      repos: {},
      downloads: Boolean(options.downloads),
    };
    const parts: BundlePart[] = [];
    for (const name of Object.keys(lock.repos).sort()) {
      say(`bundling ${name}`);
      const locked = lock.repos[name]!;
      const kind = await bundleRepo(paths.repoDir(name), path.join(root, 'repos'), name, locked.commit, Boolean(options.shallow));
      info.repos[name] = { commit: locked.commit, url: locked.url, kind };
      const entry = path.join(root, 'repos', kind === 'bundle' ? `${name}.bundle` : `${name}.git`);
      parts.push({ name: `repos/${path.basename(entry)}`, bytes: kind === 'bundle' ? (await stat(entry)).size : await sizeOf(entry) });
    }
    const carried = await copyProjectFiles(project, path.join(root, PROJECT_FILES_DIR));
    if (carried.length > 0)
      parts.push({ name: `${PROJECT_FILES_DIR} (${carried.length} files)`, bytes: await sizeOf(path.join(root, PROJECT_FILES_DIR)) });
    // the conf as this target renders it, for reference and for `diff` after a restore
    const conf = await renderConfText(project, target, layers);
    await mkdir(path.join(root, 'conf'));
    await writeFile(path.join(root, 'conf', 'local.conf'), conf.localConf);
    await writeFile(path.join(root, 'conf', 'bblayers.conf'), conf.bblayersConf);
    parts.push({ name: 'conf', bytes: Buffer.byteLength(conf.localConf) + Buffer.byteLength(conf.bblayersConf) });
    await cp(BUILD_ENV_DIR, path.join(root, 'docker'), { recursive: true });
    parts.push({ name: 'docker', bytes: await sizeOf(path.join(root, 'docker')) });
    if (options.downloads) {
      say(`copying downloads from ${paths.dlDir}`);
      const count = await copyDownloads(paths.dlDir, path.join(root, 'downloads'));
      parts.push({ name: `downloads (${count} files)`, bytes: await sizeOf(path.join(root, 'downloads')) });
    }
    await writeFile(path.join(root, 'bundle.json'), `${JSON.stringify(info, null, 2)}\n`);
    const files = await treeEntries(root);
    const sums = await Promise.all(files.map(async (f) => `${await sha256File(path.join(root, f))}  ${f}`));
    await writeFile(path.join(root, CHECKSUMS), `${sums.join('\n')}\n`);
    await normalise(staging);

    say(`writing ${options.output}`);
    const entries = [BUNDLE_ROOT, ...(await treeEntries(root, { directories: true })).map((e) => `${BUNDLE_ROOT}/${e}`)];
    const partial = `${options.output}.partial-${process.pid}`;
    await mkdir(path.dirname(options.output), { recursive: true });
    try {
      // level 1: git packs are compressed already; more effort buys almost nothing
      await createTar({ file: partial, cwd: staging, gzip: { level: 1 }, portable: true, mtime: EPOCH, noDirRecurse: true }, entries);
      await rename(partial, options.output);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { file: options.output, parts, bytes: (await stat(options.output)).size };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
