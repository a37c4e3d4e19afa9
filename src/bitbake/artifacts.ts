import { mkdir, readdir, readlink, realpath, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';

export interface Artifact {
  /** relative to the project directory */
  path: string;
  /** e.g. wic.bz2, wic.bmap, manifest */
  type: string;
  size: number;
}

/**
 * The image's files in tmp/deploy/images/MACHINE: BitBake writes timestamped files and
 * `<image>-<machine>.rootfs.<type>` links to the newest; we take the links' targets for the
 * requested IMAGE_FSTYPES (all image types when none was requested) and the package manifest.
 */
export async function collectArtifacts(opts: {
  projectDir: string;
  deployDir: string;
  image: string;
  machine: string;
  fstypes: string[];
}): Promise<Artifact[]> {
  const prefix = `${opts.image}-${opts.machine}`;
  const entries = await readdir(opts.deployDir).catch(() => [] as string[]);
  const found: Artifact[] = [];
  for (const name of entries.sort()) {
    const type = artifactType(name, prefix);
    if (!type) continue;
    if (opts.fstypes.length > 0 && !opts.fstypes.includes(type) && type !== 'manifest') continue;
    // the timestamped file the link points to: the report keeps naming this build's file after the next build moves the link
    const full = await realpath(path.join(opts.deployDir, name)).catch(() => undefined);
    const info = full ? await stat(full).catch(() => undefined) : undefined;
    if (!full || !info?.isFile()) continue;
    found.push({ path: path.relative(opts.projectDir, full), type, size: info.size });
  }
  return found;
}

/** The disk image `flash` would write: the uncompressed one when built, else the first compressed one. */
export function diskImageArtifact(artifacts: Artifact[]): Artifact | undefined {
  const diskImages = artifacts.filter((a) => /^(wic|img|sdimg)(\.(bz2|gz|xz|zst))?$/.test(a.type));
  return diskImages.find((a) => !a.type.includes('.')) ?? diskImages[0];
}

/** `core-image-base-raspberrypi4-64.rootfs.wic.bz2` → `wic.bz2` (only the stable link names, not the timestamped files). */
function artifactType(name: string, prefix: string): string | undefined {
  for (const infix of ['.rootfs.', '.']) {
    if (name.startsWith(`${prefix}${infix}`)) {
      const rest = name.slice(prefix.length + infix.length);
      if (/^\d{14}/.test(rest)) return undefined;
      return rest || undefined;
    }
  }
  return undefined;
}

/** build/TARGET/artifacts/<file> → the deployed file (relative links, replaced each build). */
export async function linkArtifacts(projectDir: string, artifactsDir: string, artifacts: Artifact[]): Promise<void> {
  await mkdir(artifactsDir, { recursive: true });
  for (const old of await readdir(artifactsDir)) {
    const p = path.join(artifactsDir, old);
    if (await readlink(p).catch(() => undefined)) await rm(p, { force: true });
  }
  for (const a of artifacts) {
    const target = path.join(projectDir, a.path);
    await symlink(path.relative(artifactsDir, target), path.join(artifactsDir, path.basename(target)));
  }
}
