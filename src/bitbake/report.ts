import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { OverriddenSetting } from '../manifest/target.js';
import { INPUT_LIMITS, readInputFile } from '../util/input.js';
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

export function summariseProgress(
  progress: BuildProgress,
): Pick<BuildReport, 'tasks' | 'sstate' | 'failures' | 'warnings' | 'recipesParsed'> {
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

const text = z.string();
const count = z.number().finite();
const sstateSchema = z.looseObject({
  wanted: count,
  local: count,
  mirrors: count,
  missed: count,
  current: count,
  matchPercent: count,
  completePercent: count,
});
/** report.json as read back: every field a reader uses has the type it expects (a file may come from elsewhere). */
const reportSchema = z.looseObject({
  version: z.literal(1),
  target: text,
  image: text,
  machine: text,
  distro: text,
  mode: z.enum(['build', 'dry-run']),
  result: z.enum(['success', 'failed', 'interrupted']),
  startedAt: text,
  finishedAt: text,
  durationSeconds: count,
  engine: text,
  layers: z.array(z.looseObject({ repo: text, url: text, commit: text })),
  tasks: z.looseObject({ attempted: count, succeeded: count, failed: count, total: count }).optional(),
  sstate: sstateSchema.optional(),
  recipesParsed: count.optional(),
  failures: z.array(z.looseObject({ recipe: text, task: text, logFile: text.optional(), lastLines: z.array(text).default([]) })),
  warnings: count.default(0),
  artifacts: z.array(z.looseObject({ path: text, type: text, size: count })),
  imageSize: count.optional(),
  packages: z.array(z.looseObject({ name: text, arch: text, version: text })).optional(),
  slowestTasks: z
    .array(z.looseObject({ recipe: text, task: text, start: count, seconds: count, failed: z.boolean().optional() }))
    .optional(),
  graph: z
    .looseObject({ recipes: count, packages: z.record(text, z.looseObject({ providers: z.array(text), inGraph: z.boolean() })) })
    .optional(),
  log: text,
}) satisfies z.ZodType<BuildReport>;

/** Reads a build/TARGET/report.json; a missing or foreign file is an InputError saying which. */
export async function readReport(file: string): Promise<BuildReport> {
  const content = await readInputFile(file, { what: 'build report', maxBytes: INPUT_LIMITS.report, optional: true });
  if (content === undefined) throw new InputError(`no build report at ${file}: run \`yoctoforge build\` first`);
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch (error) {
    throw new InputError(`${file} is not a yoctoforge build report (${(error as Error).message})`);
  }
  const result = reportSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InputError(
      `${file} is not a yoctoforge build report: ${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`,
    );
  }
  return result.data;
}
