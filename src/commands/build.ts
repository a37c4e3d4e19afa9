import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { bitbakeFailure } from '../bitbake/failure.js';
import { KnottyParser } from '../bitbake/knotty.js';
import type { BuildReport } from '../bitbake/report.js';
import { bitbakeCommand, inBuildEnv, PROVIDERS_MARKER, providersScript } from '../bitbake/runner.js';
import { writeStepSummary } from '../ci/step-summary.js';
import { runInEnvironment } from '../engine/container.js';
import { acquireBuildPidfile, checkFreeSpace } from '../engine/workspace.js';
import { ExitCode, InputError, InterruptedError, UserError } from '../errors.js';
import type { OverrideFlags } from '../manifest/overrides.js';
import { assembleReport, checkPackagesInGraph, outcomeLines, type BitbakeRun } from '../report/build-report.js';
import { bitbakeProgressDisplay } from '../ui/bitbake-progress.js';
import { runSteps, type Step } from '../ui/tasks.js';
import { loadProject } from '../manifest/load.js';
import { targetNames } from '../manifest/target.js';
import { logLine, warnLine } from '../util/output.js';
import { formatDuration, formatSize } from '../util/units.js';
import {
  buildEnvironmentStep,
  checkLayersStep,
  loadBuildContext,
  prepare,
  renderConfStep,
  runSpecFor,
  syncStep,
  type PreparedContext,
} from './prepare.js';

export interface BuildOptions {
  projectDir: string;
  target?: string;
  /**
   * The command line's words: leading target names (several are built one after the other, with
   * one summary), then recipes to build instead of the image.
   */
  words?: string[];
  engine?: string;
  baseImage?: string;
  dryRun?: boolean;
  locked?: boolean;
  overrides?: OverrideFlags;
  /** bitbake -c TASK */
  task?: string;
  /** recipes to build (or run the task of) instead of the target's image */
  recipes?: string[];
  /** passed to BitBake as they are, after the rest */
  bitbakeArgs?: string[];
}

/** Runs each target's build in turn; with several, one summary at the end and the first failure's exit. */
export async function runBuild(options: BuildOptions): Promise<void> {
  const { targets, recipes } = await splitWords(options);
  options = { ...options, recipes: [...(options.recipes ?? []), ...recipes] };
  if (options.task !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(options.task))
    throw new InputError(`-c ${options.task}: expected a BitBake task name such as compile or do_compile`);
  if (options.dryRun && (options.task || options.recipes?.length || options.bitbakeArgs?.length)) {
    throw new InputError('--dry-run resolves the image task graph; it does not take -c, recipes or BitBake arguments');
  }
  if (targets.length === 1) {
    await buildTarget({ ...options, target: targets[0] });
    return;
  }
  const outcomes: Array<{ target: string; line: string; error?: unknown }> = [];
  for (const target of targets) {
    const started = Date.now();
    try {
      await buildTarget({ ...options, target });
      outcomes.push({ target: target!, line: `success in ${formatDuration((Date.now() - started) / 1000)}` });
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      outcomes.push({ target: target!, line: `failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, error });
      warnLine(`${target}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  const width = Math.max(...outcomes.map((o) => o.target.length));
  logLine('summary:');
  for (const o of outcomes) logLine(`  ${o.target.padEnd(width)}  ${o.line}`);
  const failed = outcomes.filter((o) => o.error);
  if (failed.length > 0) {
    const first = failed[0]!.error;
    const code = first instanceof UserError ? first.exitCode : ExitCode.failed;
    throw new UserError(`${failed.length} of ${outcomes.length} targets failed: ${failed.map((o) => o.target).join(', ')}`, code);
  }
}

async function splitWords(options: BuildOptions): Promise<{ targets: Array<string | undefined>; recipes: string[] }> {
  const words = options.words ?? [];
  if (words.length === 0) return { targets: [options.target], recipes: [] };
  const names = new Set(targetNames(await loadProject(options.projectDir)));
  const firstRecipe = words.findIndex((w) => !names.has(w));
  const targets = firstRecipe < 0 ? words : words.slice(0, firstRecipe);
  const recipes = firstRecipe < 0 ? [] : words.slice(firstRecipe);
  const bad = recipes.find((r) => !/^[A-Za-z0-9][A-Za-z0-9.+_/-]*$/.test(r));
  if (bad !== undefined) throw new InputError(`${bad}: neither a target of layers.yaml (${[...names].join(', ')}) nor a recipe name`);
  return { targets: targets.length > 0 ? targets : [options.target], recipes };
}

/** What BitBake is asked to do: the image, or -c TASK and/or recipes, then the extra arguments. */
export function bitbakeArguments(image: string, options: Pick<BuildOptions, 'task' | 'recipes' | 'bitbakeArgs'>): string[] {
  const recipes = options.recipes && options.recipes.length > 0 ? options.recipes : [image];
  return [...(options.task ? ['-c', options.task] : []), ...recipes, ...(options.bitbakeArgs ?? [])];
}

const GiB = 1024 ** 3;
/** What a core-image-base build takes in TMPDIR and the caches, cold (BitBake halts below its own floor anyway). */
function spaceNeeded(dryRun: boolean): { build: number; cache: number } {
  const override = Number(process.env.YOCTOFORGE_MIN_FREE_GIB);
  if (Number.isFinite(override) && override >= 0) return { build: override * GiB, cache: override * GiB };
  return dryRun ? { build: 2 * GiB, cache: 1 * GiB } : { build: 50 * GiB, cache: 20 * GiB };
}

/** Sync, check, render, build environment; then disk space and BitBake; then report.json. */
async function buildTarget(options: BuildOptions): Promise<void> {
  const loaded = await loadBuildContext(options);
  if (loaded.user.note) warnLine(loaded.user.note);
  const release = await acquireBuildPidfile(loaded.buildDir, loaded.target.name);
  const dryRun = Boolean(options.dryRun);
  let run: BitbakeRun | undefined;
  let result: BuildReport['result'] = 'failed';
  try {
    const ctx = await prepare(loaded, [syncStep(options.locked), checkLayersStep, renderConfStep, buildEnvironmentStep]);
    const bitbakeArgs = bitbakeArguments(ctx.target.image, options);
    const buildsImage = !options.task && !options.recipes?.length;
    run = {
      projectDir: ctx.project.dir,
      buildDir: ctx.buildDir,
      target: ctx.target,
      engine: ctx.engine,
      lock: ctx.lock,
      dryRun,
      startedAt: new Date(),
      logFile: '',
      progress: new KnottyParser().progress,
      bitbakeArgs,
      buildsImage,
    };
    const current = run;
    let exitCode: number | undefined;
    const bitbakeStep: Step<PreparedContext> = {
      title: dryRun ? `BitBake task graph of ${ctx.target.image}` : `BitBake ${bitbakeArgs.join(' ')}`,
      run: async (report) => {
        exitCode = await runBitbake(ctx, current, report);
        return exitCode !== 0 ? `failed (exit ${exitCode})` : bitbakeSummary(current);
      },
    };
    await runSteps([diskSpaceStep(dryRun), bitbakeStep], ctx);
    if (exitCode !== 0)
      throw bitbakeFailure(run.progress, exitCode, ctx.target.image, path.relative(process.cwd(), run.logFile) || run.logFile);
    const report = await finish(run, 'success');
    result = 'success';
    for (const line of outcomeLines(report)) logLine(line);
    if (!dryRun) logLine(`report: ${path.relative(process.cwd(), path.join(ctx.buildDir, 'report.json'))}`);
    if (dryRun) checkPackagesInGraph(report);
  } catch (error) {
    if (result !== 'success' && run?.logFile) {
      const outcome = error instanceof InterruptedError ? 'interrupted' : 'failed';
      await finish(run, outcome).catch(() => undefined);
    }
    throw error;
  } finally {
    await release();
  }
}

function diskSpaceStep(dryRun: boolean): Step<PreparedContext> {
  return {
    title: 'Disk space',
    run: async (_r, c) => {
      const need = spaceNeeded(dryRun);
      await checkFreeSpace([
        { dir: c.buildDir, what: 'build directory', bytes: need.build },
        { dir: c.paths.sstateDir, what: 'sstate cache', bytes: need.cache },
        { dir: c.paths.dlDir, what: 'downloads', bytes: need.cache },
      ]);
      return `at least ${formatSize(need.build)} free for the build`;
    },
  };
}

/** Runs BitBake (or, for a dry run, its task graph and the providers query), logging and parsing its output. */
async function runBitbake(ctx: PreparedContext, run: BitbakeRun, report: (m: string) => void): Promise<number> {
  const logsDir = path.join(ctx.buildDir, 'logs');
  await mkdir(logsDir, { recursive: true });
  run.logFile = path.join(logsDir, `${run.startedAt.toISOString().replace(/[:.]/g, '-')}${run.dryRun ? '-dry-run' : ''}.log`);
  const log = createWriteStream(run.logFile);
  const image = ctx.target.image;
  const script = run.dryRun
    ? inBuildEnv(ctx.layers, ctx.buildDir, `bitbake -g ${image} || exit $?\n${providersScript(ctx.target.packages)}`)
    : inBuildEnv(ctx.layers, ctx.buildDir, bitbakeCommand(run.bitbakeArgs));
  // A dry run is hermetic: parsing and graph resolution must not fetch anything.
  const env: Record<string, string> = run.dryRun ? { BB_NO_NETWORK: '1', BB_ENV_PASSTHROUGH_ADDITIONS: 'BB_NO_NETWORK' } : {};
  const parser = new KnottyParser();
  run.progress = parser.progress;
  const display = bitbakeProgressDisplay(report);
  let providerLine = '';
  let exitCode: number;
  try {
    exitCode = await runInEnvironment(runSpecFor(ctx, script, { env }), {
      onOutput: (chunk) => {
        log.write(chunk);
        for (const event of parser.push(chunk)) display(event, parser);
        const text = chunk.toString();
        const at = text.indexOf(PROVIDERS_MARKER);
        if (at >= 0) providerLine = text.slice(at + PROVIDERS_MARKER.length).split('\n')[0] ?? '';
      },
    });
  } finally {
    for (const event of parser.end()) display(event, parser);
    await new Promise((resolve) => log.end(resolve));
  }
  if (providerLine) {
    try {
      run.providers = JSON.parse(providerLine) as Record<string, string[]>;
    } catch {
      run.providers = undefined;
    }
  }
  return exitCode;
}

function bitbakeSummary(run: BitbakeRun): string {
  const p = run.progress;
  return run.dryRun
    ? `${p.recipesParsed ? `${p.recipesParsed} recipes parsed, ` : ''}task graph resolved`
    : `${p.tasksSummary?.attempted ?? 0} tasks`;
}

async function finish(run: BitbakeRun, result: BuildReport['result']): Promise<BuildReport> {
  const report = await assembleReport(run, result);
  await writeStepSummary(report).catch((e: Error) => warnLine(`could not write the GitHub step summary: ${e.message}`));
  return report;
}
