import os from 'node:os';
import path from 'node:path';
import type { Project } from './load.js';

/** Where a restored bundle's downloads live in the project; the conf points PREMIRRORS at it. */
export const RESTORED_DOWNLOADS_DIR = 'bundle-downloads';

export interface ProjectPaths {
  layersDir: string;
  /**
   * Where a repo's checkout is: layers_dir/NAME for a repo with a url, the folder in the project
   * for a local one (`path:`). Every reader of a checkout asks here rather than joining names.
   */
  repoDir(name: string): string;
  /** the project's RESTORED_DOWNLOADS_DIR */
  restoredDownloadsDir: string;
  buildRoot: string;
  buildDir(target: string): string;
  /** root of the caches shared across targets and projects */
  cacheRoot: string;
  dlDir: string;
  sstateDir: string;
  /** PERSISTENT_DIR: holds the hash-equivalence database shared beside the sstate cache */
  persistentDir: string;
}

/**
 * Where things live. Precedence for the caches: environment (YOCTOFORGE_CACHE_DIR,
 * YOCTOFORGE_DL_DIR, YOCTOFORGE_SSTATE_DIR), then the manifest's `cache`, then the user's
 * cache directory, so every project of a user shares one download and sstate cache.
 */
export function projectPaths(project: Project, env: NodeJS.ProcessEnv = process.env): ProjectPaths {
  const m = project.manifest;
  const inProject = (p: string): string => path.resolve(project.dir, p);
  // root hands the build to an unprivileged user, who cannot enter /root: its caches live in /var/cache
  const userCache = env.XDG_CACHE_HOME
    ? path.resolve(env.XDG_CACHE_HOME)
    : process.getuid?.() === 0
      ? '/var/cache'
      : path.join(os.homedir(), '.cache');
  const cacheRoot = env.YOCTOFORGE_CACHE_DIR
    ? path.resolve(env.YOCTOFORGE_CACHE_DIR)
    : m.cache?.dir
      ? inProject(m.cache.dir)
      : path.join(userCache, 'yoctoforge');
  const buildRoot = inProject(m.build_dir ?? 'build');
  const layersDir = inProject(m.layers_dir ?? 'layers');
  return {
    layersDir,
    repoDir: (name) => {
      const local = m.repos[name]?.path;
      return local === undefined ? path.join(layersDir, name) : inProject(local);
    },
    restoredDownloadsDir: inProject(RESTORED_DOWNLOADS_DIR),
    buildRoot,
    buildDir: (target) => path.join(buildRoot, target),
    cacheRoot,
    dlDir: env.YOCTOFORGE_DL_DIR
      ? path.resolve(env.YOCTOFORGE_DL_DIR)
      : m.cache?.downloads
        ? inProject(m.cache.downloads)
        : path.join(cacheRoot, 'downloads'),
    sstateDir: env.YOCTOFORGE_SSTATE_DIR
      ? path.resolve(env.YOCTOFORGE_SSTATE_DIR)
      : m.cache?.sstate
        ? inProject(m.cache.sstate)
        : path.join(cacheRoot, 'sstate-cache'),
    persistentDir: path.join(cacheRoot, 'persistent'),
  };
}
