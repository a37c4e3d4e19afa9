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
import { InterruptedError } from '../errors.js';
import { assembleReport, checkPackagesInGraph, outcomeLines, type BitbakeRun } from '../report/build-report.js';
import { bitbakeProgressDisplay } from '../ui/bitbake-progress.js';
import { runSteps, type Step } from '../ui/tasks.js';
import { logLine, warnLine } from '../util/output.js';
import { formatSize } from '../util/units.js';
import { buildEnvironmentStep, checkLayersStep, loadBuildContext, prepare, renderConfStep, runSpecFor, syncStep, type PreparedContext } from './prepare.js';

export interface BuildOptions {
  projectDir: string;
  target?: string;
  engine?: string;
  baseImage?: string;
  dryRun?: boolean;
  locked?: boolean;
}

const GiB = 1024 ** 3;
/** What a core-image-base build takes in TMPDIR and the caches, cold (BitBake halts below its own floor anyway). */
function spaceNeeded(dryRun: boolean): { build: number; cache: number } {
  const override = Number(process.env.YOCTOFORGE_MIN_FREE_GIB);
  if (Number.isFinite(override) && override >= 0) return { build: override * GiB, cache: override * GiB };
  return dryRun ? { build: 2 * GiB, cache: 1 * GiB } : { build: 50 * GiB, cache: 20 * GiB };
}

/** Sync, check, render, build environment; then disk space and BitBake; then report.json. */
export async function runBuild(options: BuildOptions): Promise<void> {
  const loaded = await loadBuildContext(options);
  if (loaded.user.note) warnLine(loaded.user.note);
  const release = await acquireBuildPidfile(loaded.buildDir, loaded.target.name);
  const dryRun = Boolean(options.dryRun);
  let run: BitbakeRun | undefined;
  let result: BuildReport['result'] = 'failed';
  try {
    const ctx = await prepare(loaded, [syncStep(options.locked), checkLayersStep, renderConfStep, buildEnvironmentStep]);
    run = { projectDir: ctx.project.dir, buildDir: ctx.buildDir, target: ctx.target, engine: ctx.engine, lock: ctx.lock, dryRun, startedAt: new Date(), logFile: '', progress: new KnottyParser().progress };
    const current = run;
    let exitCode: number | undefined;
    const bitbakeStep: Step<PreparedContext> = {
      title: dryRun ? `BitBake task graph of ${ctx.target.image}` : `BitBake ${ctx.target.image}`,
      run: async (report) => {
        exitCode = await runBitbake(ctx, current, report);
        return exitCode !== 0 ? `failed (exit ${exitCode})` : bitbakeSummary(current);
      },
    };
    await runSteps([diskSpaceStep(dryRun), bitbakeStep], ctx);
    if (exitCode !== 0) throw bitbakeFailure(run.progress, exitCode, ctx.target.image, path.relative(process.cwd(), run.logFile) || run.logFile);
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
    ? inBuildEnv(ctx.layers.initScript, ctx.buildDir, `bitbake -g ${image} || exit $?\n${providersScript(ctx.target.packages)}`)
    : inBuildEnv(ctx.layers.initScript, ctx.buildDir, bitbakeCommand([image]));
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
  return run.dryRun ? `${p.recipesParsed ? `${p.recipesParsed} recipes parsed, ` : ''}task graph resolved` : `${p.tasksSummary?.attempted ?? 0} tasks`;
}

async function finish(run: BitbakeRun, result: BuildReport['result']): Promise<BuildReport> {
  const report = await assembleReport(run, result);
  await writeStepSummary(report).catch((e: Error) => warnLine(`could not write the GitHub step summary: ${e.message}`));
  return report;
}
