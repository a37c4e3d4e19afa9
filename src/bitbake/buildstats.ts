import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export interface TaskTiming {
  recipe: string;
  task: string;
  /** seconds since the first task of the build started */
  start: number;
  seconds: number;
  failed?: boolean;
}

/**
 * BitBake's buildstats (tmp/buildstats/BUILDNAME/PF/do_task, written by the buildstats class
 * that poky enables): "Started: <epoch>", "Ended: <epoch>", "Elapsed time: N seconds". Reads the
 * newest build directory that began no earlier than `since`; the `limit` slowest tasks, slowest first.
 */
export async function readBuildstats(tmpDir: string, since: Date, limit = 20): Promise<TaskTiming[]> {
  const base = path.join(tmpDir, 'buildstats');
  const builds = await readdir(base).catch(() => [] as string[]);
  let newest: { dir: string; mtime: number } | undefined;
  for (const name of builds) {
    const dir = path.join(base, name);
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory() || info.mtimeMs < since.getTime() - 60_000) continue;
    if (!newest || info.mtimeMs > newest.mtime) newest = { dir, mtime: info.mtimeMs };
  }
  if (!newest) return [];
  const timings: TaskTiming[] = [];
  for (const recipe of await readdir(newest.dir)) {
    const recipeDir = path.join(newest.dir, recipe);
    if (!(await stat(recipeDir)).isDirectory()) continue;
    for (const task of await readdir(recipeDir)) {
      if (!task.startsWith('do_')) continue;
      const text = await readFile(path.join(recipeDir, task), 'utf8').catch(() => '');
      const started = Number(/^Started:\s*([\d.]+)/m.exec(text)?.[1]);
      const ended = Number(/^Ended:\s*([\d.]+)/m.exec(text)?.[1]);
      const elapsed = Number(/^Elapsed time:\s*([\d.]+)/m.exec(text)?.[1] ?? ended - started);
      if (!Number.isFinite(started) || !Number.isFinite(elapsed)) continue;
      timings.push({ recipe, task, start: started, seconds: elapsed, ...(/^Status:\s*FAILED/m.test(text) ? { failed: true } : {}) });
    }
  }
  const first = Math.min(...timings.map((t) => t.start));
  return timings
    .map((t) => ({ ...t, start: Math.round((t.start - first) * 100) / 100 }))
    .sort((a, b) => b.seconds - a.seconds || a.recipe.localeCompare(b.recipe) || a.task.localeCompare(b.task))
    .slice(0, limit);
}
