import { isDir, isFile } from '../util/fs.js';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../manifest/schema.js';

export interface BitbakeLocation {
  /** BitBake's top folder (holds bin/bitbake and lib/bb); undefined when it was not found */
  dir?: string;
  /** REPO or REPO/PATH, as the manifest's `bitbake:` would say it */
  ref?: string;
  /** lib/bb/__init__.py's __version__ */
  version?: string;
  problem?: string;
}

/**
 * Where BitBake is, from what the manifest says (`bitbake: REPO[/PATH]`) or else from content:
 * the one synced repository that holds bin/bitbake and lib/bb at its root (the bitbake
 * repository of the layout without poky) or one folder down (poky's bitbake/). Never from a
 * name: a repository called "bitbake" that holds something else is not BitBake.
 */
export async function locateBitbake(manifest: Manifest, repoDir: (repo: string) => string): Promise<BitbakeLocation> {
  if (manifest.bitbake) {
    const [repo, ...inside] = manifest.bitbake.split('/');
    const dir = path.join(repoDir(repo!), ...inside);
    if (!(await isDir(repoDir(repo!))))
      return { ref: manifest.bitbake, problem: `bitbake: ${manifest.bitbake}: repository not synced (run \`yoctoforge sync\`)` };
    if (!(await holdsBitbake(dir)))
      return {
        ref: manifest.bitbake,
        problem: `bitbake: ${manifest.bitbake} holds no bin/bitbake and lib/bb (check the bitbake: entry of the manifest)`,
      };
    return { dir, ref: manifest.bitbake, version: await bitbakeVersion(dir) };
  }
  const found: string[] = [];
  for (const repo of Object.keys(manifest.repos)) {
    const root = repoDir(repo);
    if (await holdsBitbake(root)) {
      found.push(repo);
      continue;
    }
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && (await holdsBitbake(path.join(root, e.name)))) found.push(`${repo}/${e.name}`);
    }
  }
  if (found.length === 1) {
    const [repo, ...inside] = found[0]!.split('/');
    const dir = path.join(repoDir(repo!), ...inside);
    return { dir, ref: found[0], version: await bitbakeVersion(dir) };
  }
  if (found.length > 1)
    return {
      problem: `several repositories hold BitBake (${found.join(', ')}): say which one with \`bitbake: REPO[/PATH]\` in the manifest`,
    };
  return {
    problem:
      'no repository holds BitBake (bin/bitbake and lib/bb): add it to repos (the layout without poky takes https://git.openembedded.org/bitbake, with layers: []) and name it with `bitbake:`',
  };
}

async function holdsBitbake(dir: string): Promise<boolean> {
  return (await isFile(path.join(dir, 'bin', 'bitbake'))) && (await isDir(path.join(dir, 'lib', 'bb')));
}

/** `__version__ = "2.18.0"` in lib/bb/__init__.py, as BitBake reports itself. */
async function bitbakeVersion(dir: string): Promise<string | undefined> {
  const text = await readFile(path.join(dir, 'lib', 'bb', '__init__.py'), 'utf8').catch(() => '');
  return /^__version__\s*=\s*["']([^"']+)["']/m.exec(text)?.[1];
}

/** BB_MIN_VERSION of the core layer's conf/sanity.conf: the oldest BitBake it parses with. */
export async function minimumBitbakeVersion(coreLayerDir: string): Promise<string | undefined> {
  const text = await readFile(path.join(coreLayerDir, 'conf', 'sanity.conf'), 'utf8').catch(() => '');
  return /^BB_MIN_VERSION\s*\??=\s*"([^"]+)"/m.exec(text)?.[1];
}

/** Dotted version comparison as bb.utils.vercmp_string_op does for plain numbers: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}
