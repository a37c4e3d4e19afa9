import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { EnvironmentError } from '../errors.js';
import type { BuildUser, EngineName } from './engine.js';
import { engineCommand } from './engine.js';

/** docker/ of the yoctoforge package: the build environment's definition. */
export const BUILD_ENV_DIR = fileURLToPath(new URL('../../docker/', import.meta.url));
export const DEFAULT_BASE_IMAGE = 'debian:12';
const IMAGE_REPOSITORY = 'yoctoforge-buildenv';
/** The release whose host packages (docker/host-packages/SERIES.txt) an image gets when the project's has no list. */
export const DEFAULT_BUILD_ENV_SERIES = 'scarthgap';

/** The host-package list for a release: its own, else the default release's. */
export async function buildEnvSeries(series: string, dir = BUILD_ENV_DIR): Promise<string> {
  const lists = await readdir(path.join(dir, 'host-packages')).catch(() => [] as string[]);
  return lists.includes(`${series}.txt`) ? series : DEFAULT_BUILD_ENV_SERIES;
}

/** --base-image, then the manifest, then YOCTOFORGE_BASE_IMAGE, then Debian 12. */
export function chooseBaseImage(requested: string | undefined, fromManifest: string | undefined): string {
  return requested ?? fromManifest ?? process.env.YOCTOFORGE_BASE_IMAGE ?? DEFAULT_BASE_IMAGE;
}

/**
 * The image tag is a digest of everything the image is made from (the files of docker/, the base
 * image name and the build user's ids), so it is rebuilt exactly when one of them changes.
 */
export async function buildEnvTag(
  baseImage: string,
  user: BuildUser,
  dir = BUILD_ENV_DIR,
  series = DEFAULT_BUILD_ENV_SERIES,
): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await listFiles(dir)).sort()) {
    hash.update(`${file}\0`);
    hash.update(await readFile(path.join(dir, file)));
    hash.update('\0');
  }
  hash.update(`base=${baseImage}\0uid=${user.uid}\0gid=${user.gid}\0series=${series}\0`);
  return `${IMAGE_REPOSITORY}:${hash.digest('hex').slice(0, 16)}`;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

export interface EnsureImageResult {
  tag: string;
  built: boolean;
}

/** Builds the build-environment image unless an image with its content tag exists. */
export async function ensureBuildEnvImage(
  engine: Exclude<EngineName, 'none'>,
  options: { baseImage: string; user: BuildUser; series: string },
  onLine: (line: string) => void = () => {},
): Promise<EnsureImageResult> {
  const series = await buildEnvSeries(options.series);
  const tag = await buildEnvTag(options.baseImage, options.user, BUILD_ENV_DIR, series);
  const inspect = await engineCommand(engine, ['image', 'inspect', '--format', '{{.Id}}', tag]);
  if (inspect.exitCode === 0) return { tag, built: false };
  const args = [
    'build',
    '--tag',
    tag,
    '--build-arg',
    `BASE_IMAGE=${options.baseImage}`,
    '--build-arg',
    `BUILD_UID=${options.user.uid}`,
    '--build-arg',
    `BUILD_GID=${options.user.gid}`,
    '--build-arg',
    `YOCTO_SERIES=${series}`,
  ];
  args.push(BUILD_ENV_DIR);
  // The engine's default builder: BuildKit where buildx is installed, the classic one otherwise.
  const child = execa(engine, args, { reject: false, all: true, stdin: 'ignore' });
  const tail: string[] = [];
  let partial = '';
  child.all?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 15) tail.shift();
      if (line.trim()) onLine(line.trim());
    }
  });
  const result = await child;
  if (result.exitCode !== 0) {
    const pullFailure = tail.some((l) =>
      /pull access denied|failed to resolve source metadata|dial tcp|no such host|manifest unknown|not found: manifest/i.test(l),
    );
    const hint = pullFailure
      ? ` (the base image ${options.baseImage} cannot be pulled here: give a local one with --base-image, build_env.base_image or YOCTOFORGE_BASE_IMAGE)`
      : '';
    throw new EnvironmentError(`building the build environment ${tag} failed${hint}`, tail.filter((l) => l.trim()).slice(-10));
  }
  return { tag, built: true };
}
