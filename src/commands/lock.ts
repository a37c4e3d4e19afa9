import { existsSync } from 'node:fs';
import path from 'node:path';
import { diffLocks, formatLockDiff, loadLockFrom } from '../layers/lock-diff.js';
import { loadProject } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { LOCK_FILE, MANIFEST_FILE } from '../manifest/schema.js';

export interface LockDiffOptions {
  projectDir: string;
  /** a lock file or a git revision of the project (default HEAD: the committed lock) */
  older?: string;
  /** default: the lock file in the project */
  newer?: string;
  json?: boolean;
  /** exit 1 when something moved, like `git diff --exit-code` (for "open a merge request only if...") */
  exitCode?: boolean;
}

export async function runLockDiff(options: LockDiffOptions): Promise<void> {
  const older = await loadLockFrom(options.older ?? 'HEAD', options.projectDir);
  const newer = await loadLockFrom(options.newer ?? LOCK_FILE, options.projectDir);
  // without a manifest, the default layers_dir
  const repoDir = existsSync(path.join(options.projectDir, MANIFEST_FILE))
    ? projectPaths(await loadProject(options.projectDir)).repoDir
    : (repo: string): string => path.join(options.projectDir, 'layers', repo);
  const moves = await diffLocks(older.lock, newer.lock, repoDir);
  if (options.json) process.stdout.write(`${JSON.stringify({ older: older.label, newer: newer.label, repos: moves }, null, 2)}\n`);
  else process.stdout.write(`${formatLockDiff(moves, { older: older.label, newer: newer.label }).join('\n')}\n`);
  if (options.exitCode && moves.some((m) => m.change !== 'unchanged')) process.exitCode = 1;
}
