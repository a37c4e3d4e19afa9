import { existsSync } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { readReport } from '../bitbake/report.js';
import { InputError } from '../errors.js';
import { loadProject } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { resolveTarget } from '../manifest/target.js';

/**
 * `.wic`, `.wic.bz2`, `.rootfs.img.xz`, `.sdimg.zst`... the disk images a build deploys (with
 * the conversion types of IMAGE_FSTYPES that flash reads) and flash writes
 */
export const IMAGE_NAME = /\.(wic|img|sdimg)(\.(bz2|gz|xz|zst|lz4|lzo|zip))?$/;
const COMPRESSION_SUFFIX = /\.(bz2|gz|xz|zst|lz4|lzo|zip)$/;

export interface ImageChoice {
  image: string;
  /** where the image came from, for the summary line */
  origin: string;
}

/**
 * bmaptool's convention: `X.wic.bz2.bmap` or `X.wic.bmap` beside the image. A symlink (BitBake's
 * stable names) is looked at under both its own name and its target's.
 */
export async function findBmapBeside(image: string): Promise<string | undefined> {
  const names = new Set([image, await realpath(image).catch(() => image)]);
  for (const name of names) {
    for (const candidate of [`${name}.bmap`, `${name.replace(COMPRESSION_SUFFIX, '')}.bmap`]) {
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

interface Candidate {
  file: string;
  mtimeMs: number;
}

async function candidate(file: string): Promise<Candidate | undefined> {
  const info = await stat(file).catch(() => undefined);
  return info?.isFile() ? { file, mtimeMs: info.mtimeMs } : undefined;
}

/** The images a build's report.json lists (the files of that build, even after a newer build). */
async function imagesFromReport(projectDir: string, buildDir: string): Promise<Candidate[] | undefined> {
  // a missing or unreadable report: the deploy directory is the fallback
  const report = await readReport(path.join(buildDir, 'report.json')).catch(() => undefined);
  if (!report) return undefined;
  if (report.mode !== 'build' || report.result !== 'success') return undefined;
  const found: Candidate[] = [];
  for (const a of report.artifacts ?? []) {
    if (!IMAGE_NAME.test(a.path)) continue;
    const c = await candidate(path.resolve(projectDir, a.path));
    if (c) found.push(c);
  }
  return found.length > 0 ? found : undefined;
}

/**
 * Without a report: the image's stable names in the deploy directory (BitBake points them at
 * the newest build's files), else any image file there.
 */
async function imagesFromDeployDir(buildDir: string, prefix: string): Promise<Candidate[]> {
  const imagesRoot = path.join(buildDir, 'tmp', 'deploy', 'images');
  const stable = new Map<string, Candidate>();
  const any = new Map<string, Candidate>();
  for (const machine of await readdir(imagesRoot).catch(() => [] as string[])) {
    const dir = path.join(imagesRoot, machine);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!IMAGE_NAME.test(name)) continue;
      const link = await lstat(path.join(dir, name)).catch(() => undefined);
      const real = await realpath(path.join(dir, name)).catch(() => undefined);
      const c = real ? await candidate(real) : undefined;
      if (!c) continue;
      any.set(c.file, c);
      if (link?.isSymbolicLink() && name.startsWith(prefix)) stable.set(c.file, c);
    }
  }
  return [...(stable.size > 0 ? stable : any).values()];
}

/**
 * --image wins; otherwise the newest image of the target (--target, or the manifest's only
 * one), preferring one that has a bmap beside it, from report.json or the deploy directory.
 */
export async function chooseImage(opts: { projectDir: string; image?: string; target?: string }): Promise<ImageChoice> {
  if (opts.image) {
    const file = path.resolve(opts.image);
    const info = await stat(file).catch(() => undefined);
    if (!info) throw new InputError(`the image ${opts.image} does not exist`);
    if (!info.isFile()) throw new InputError(`the image ${opts.image} is not a regular file`);
    return { image: file, origin: '--image' };
  }
  if (!existsSync(path.join(opts.projectDir, 'layers.yaml'))) {
    throw new InputError(`no layers.yaml in ${opts.projectDir}: pass --image FILE, or run flash in a yoctoforge project`);
  }
  const project = await loadProject(opts.projectDir);
  const target = resolveTarget(project, opts.target);
  const buildDir = projectPaths(project).buildDir(target.name);
  const fromReport = await imagesFromReport(project.dir, buildDir);
  const candidates = fromReport ?? (await imagesFromDeployDir(buildDir, `${target.image}-${target.machine}.`));
  if (candidates.length === 0) {
    throw new InputError(
      `no image of target ${target.name} in ${path.relative(process.cwd(), buildDir) || buildDir}: run \`yoctoforge build ${target.name}\` first, or pass --image FILE`,
    );
  }
  const withBmap = await Promise.all(candidates.map(async (c) => ({ ...c, hasBmap: Boolean(await findBmapBeside(c.file)) })));
  withBmap.sort((a, b) => Number(b.hasBmap) - Number(a.hasBmap) || b.mtimeMs - a.mtimeMs || a.file.localeCompare(b.file));
  return { image: withBmap[0]!.file, origin: `${fromReport ? 'report.json' : 'deploy directory'} of target ${target.name}` };
}
