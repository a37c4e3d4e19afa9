import { readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { listSstateFiles, objectOf, type SstateFile } from './objects.js';

export interface PruneResult {
  /** objects (with their companions) older than the limit */
  objects: number;
  files: number;
  bytes: number;
  kept: number;
  dryRun: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Removes sstate objects of the local cache that no build used for `days` days. BitBake touches
 * an object (and its .siginfo) whenever it restores or checks it, so the newest access or
 * modification time of an object and its companions is when it was last useful; they go together.
 */
export async function pruneSstate(sstateDir: string, days: number, options: { dryRun?: boolean; now?: number } = {}): Promise<PruneResult> {
  const cutoff = (options.now ?? Date.now()) - days * DAY_MS;
  const groups = new Map<string, SstateFile[]>();
  for (const f of await listSstateFiles(sstateDir)) {
    const key = objectOf(f.rel);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const result: PruneResult = { objects: 0, files: 0, bytes: 0, kept: 0, dryRun: Boolean(options.dryRun) };
  const emptied = new Set<string>();
  for (const files of groups.values()) {
    if (Math.max(...files.map((f) => f.lastUsedMs)) >= cutoff) {
      result.kept++;
      continue;
    }
    result.objects++;
    for (const f of files) {
      result.files++;
      result.bytes += f.size;
      if (!options.dryRun) {
        await rm(path.join(sstateDir, f.rel), { force: true });
        emptied.add(path.dirname(path.join(sstateDir, f.rel)));
      }
    }
  }
  // the XX/YY folders left empty, deepest first
  for (const dir of [...emptied].sort((a, b) => b.length - a.length)) {
    for (let d = dir; d.startsWith(sstateDir) && d !== sstateDir; d = path.dirname(d)) {
      if ((await readdir(d).catch(() => ['?'])).length > 0) break;
      await rmdir(d).catch(() => undefined);
    }
  }
  return result;
}
