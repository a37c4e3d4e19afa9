import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { OverriddenSetting } from '../manifest/target.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Artifact } from './artifacts.js';
import type { TaskTiming } from './buildstats.js';
import type { InstalledPackage } from './image-manifest.js';
import type { BuildProgress, FailedTask, SstateSummary } from './knotty.js';

/** build/TARGET/report.json: what a CI job, `yoctoforge flash` and `yoctoforge report` read. */
export interface BuildReport {
  version: 1;
  target: string;
  image: string;
  machine: string;
  distro: string;
  mode: 'build' | 'dry-run';
  result: 'success' | 'failed' | 'interrupted';
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  engine: string;
  /** what was run, e.g. `bitbake -c cleansstate busybox` (absent in reports of older versions) */
  bitbake?: string;
  /** target settings that did not come from layers.yaml (override file, environment, flags), with their origin */
  overrides?: OverriddenSetting[];
  layers: Array<{ repo: string; url: string; commit: string }>;
  tasks?: { attempted: number; succeeded: number; failed: number; total: number };
  sstate?: SstateSummary;
  recipesParsed?: number;
  failures: FailedTask[];
  warnings: number;
  artifacts: Artifact[];
  /** size in bytes of the image file flash writes (the first wic/img artifact) */
  imageSize?: number;
  /** from the image's .manifest */
  packages?: InstalledPackage[];
  /** the slowest tasks of this build, from BitBake's buildstats */
  slowestTasks?: TaskTiming[];
  /** dry run: recipes in the image's task graph and whether each requested package is in it */
  graph?: { recipes: number; packages: Record<string, { providers: string[]; inGraph: boolean }> };
  log: string;
}

export function summariseProgress(progress: BuildProgress): Pick<BuildReport, 'tasks' | 'sstate' | 'failures' | 'warnings' | 'recipesParsed'> {
  return {
    tasks: progress.tasksSummary ? { ...progress.tasksSummary, total: progress.taskTotal } : undefined,
    sstate: progress.sstate,
    failures: progress.failures,
    warnings: progress.warnings,
    recipesParsed: progress.recipesParsed,
  };
}

export async function writeReport(buildDir: string, report: BuildReport): Promise<string> {
  const file = path.join(buildDir, 'report.json');
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

/** Reads a build/TARGET/report.json; a missing or foreign file is an InputError saying which. */
export async function readReport(file: string): Promise<BuildReport> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new InputError(`no build report at ${file}: run \`yoctoforge build\` first`);
  });
  try {
    const report = JSON.parse(text) as BuildReport;
    if (report.version !== 1 || typeof report.target !== 'string' || !Array.isArray(report.artifacts)) throw new Error('not a yoctoforge report');
    return report;
  } catch (error) {
    throw new InputError(`${file} is not a yoctoforge build report (${(error as Error).message})`);
  }
}
