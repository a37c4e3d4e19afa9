import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { tempDir } from './git-fixtures.js';

/** The public URLs of the four scarthgap repositories, which YOCTOFORGE_REAL_LAYERS holds copies of. */
export const SCARTHGAP_URLS: Record<string, string> = {
  poky: 'https://git.yoctoproject.org/poky',
  'meta-openembedded': 'https://github.com/openembedded/meta-openembedded',
  'meta-raspberrypi': 'https://github.com/agherzan/meta-raspberrypi',
  'meta-virtualization': 'https://git.yoctoproject.org/meta-virtualization',
};

export interface RealLayersProject {
  env: NodeJS.ProcessEnv;
  /** an empty project folder */
  project: string;
}

/**
 * A project folder whose git reaches the local copies in `dir` (NAME or NAME.git for every
 * repository of `urls`) through insteadOf rewrites of their public URLs, with its own caches.
 * The folder goes away after the file's tests unless YOCTOFORGE_KEEP is set (for a follow-up by hand).
 */
export function realLayersProject(dir: string, variable: string, urls: Record<string, string>): RealLayersProject {
  const work = tempDir('real');
  afterAll(() => {
    if (!process.env.YOCTOFORGE_KEEP) rmSync(work, { recursive: true, force: true });
  });
  const localCopy = (name: string): string => {
    const found = [path.join(dir, name), path.join(dir, `${name}.git`)].find((c) => existsSync(c));
    if (!found) throw new Error(`${variable} has no ${name} or ${name}.git`);
    return found;
  };
  const gitconfig = path.join(work, 'gitconfig');
  writeFileSync(
    gitconfig,
    Object.entries(urls)
      .map(([name, url]) => `[url "${localCopy(name)}"]\n\tinsteadOf = ${url}\n`)
      .join(''),
  );
  const project = path.join(work, 'project');
  mkdirSync(project);
  return {
    env: { ...process.env, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: '1', YOCTOFORGE_CACHE_DIR: path.join(work, 'cache') },
    project,
  };
}
