import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { collectArtifacts, linkArtifacts, type Artifact } from '../bitbake/artifacts.js';
import { readBuildstats } from '../bitbake/buildstats.js';
import { parseImageManifest } from '../bitbake/image-manifest.js';
import { writeStepSummary } from '../ci/step-summary.js';
import { formatFailure, KnottyParser, type BitbakeEvent } from '../bitbake/knotty.js';
import { summariseProgress, writeReport, type BuildReport } from '../bitbake/report.js';
import { bitbakeCommand, inBuildEnv, PROVIDERS_MARKER, providersScript } from '../bitbake/runner.js';
import { runInEnvironment } from '../engine/container.js';
import { acquireBuildPidfile, checkFreeSpace, gib } from '../engine/workspace.js';
import { InterruptedError, OperationError, UserError } from '../errors.js';
import { runSteps, type Step } from '../ui/tasks.js';
import { logLine, outputMode, warnLine } from '../util/output.js';
import { loadBuildContext, preparationSteps, runSpecFor, type BuildContext } from './prepare.js';

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

interface RunState {
  parser: KnottyParser;
  logFile: string;
  exitCode?: number;
  providers?: Record<string, string[]>;
  startedAt: Date;
}

export async function runBuild(options: BuildOptions): Promise<void> {
  const ctx = await loadBuildContext(options);
  if (ctx.user.note) warnLine(ctx.user.note);
  const release = await acquireBuildPidfile(ctx.buildDir, ctx.target.name);
  const state: RunState = { parser: new KnottyParser(), logFile: '', startedAt: new Date() };
  let result: BuildReport['result'] = 'failed';
  try {
    const dryRun = Boolean(options.dryRun);
    const steps: Step<BuildContext>[] = [
      ...preparationSteps(options),
      {
        title: 'Disk space',
        run: async (_r, c) => {
          const need = spaceNeeded(dryRun);
          await checkFreeSpace([
            { dir: c.buildDir, what: 'build directory', bytes: need.build },
            { dir: c.paths.sstateDir, what: 'sstate cache', bytes: need.cache },
            { dir: c.paths.dlDir, what: 'downloads', bytes: need.cache },
          ]);
          return `at least ${gib(need.build)} free for the build`;
        },
      },
      {
        title: dryRun ? `BitBake task graph of ${ctx.target.image}` : `BitBake ${ctx.target.image}`,
        run: (report, c) => runBitbake(c, state, dryRun, report),
      },
    ];
    await runSteps(steps, ctx);
    if (state.exitCode !== 0) throw failureError(ctx, state);
    const report = await finish(ctx, state, dryRun, 'success');
    result = 'success';
    printOutcome(ctx, report, dryRun);
    if (dryRun) checkPackagesInGraph(report);
  } catch (error) {
    if (result !== 'success' && state.logFile) {
      const outcome = error instanceof InterruptedError ? 'interrupted' : 'failed';
      await finish(ctx, state, Boolean(options.dryRun), outcome).catch(() => undefined);
    }
    throw error;
  } finally {
    await release();
  }
}

async function runBitbake(ctx: BuildContext, state: RunState, dryRun: boolean, report: (m: string) => void): Promise<string> {
  const logsDir = path.join(ctx.buildDir, 'logs');
  await mkdir(logsDir, { recursive: true });
  state.logFile = path.join(logsDir, `${state.startedAt.toISOString().replace(/[:.]/g, '-')}${dryRun ? '-dry-run' : ''}.log`);
  const log = createWriteStream(state.logFile);
  const image = ctx.target.image;
  const script = dryRun
    ? inBuildEnv(ctx.layers!.initScript, ctx.buildDir, `bitbake -g ${image} || exit $?\n${providersScript(ctx.target.packages)}`)
    : inBuildEnv(ctx.layers!.initScript, ctx.buildDir, bitbakeCommand([image]));
  // A dry run is hermetic: parsing and graph resolution must not fetch anything.
  const env: Record<string, string> = dryRun ? { BB_NO_NETWORK: '1', BB_ENV_PASSTHROUGH_ADDITIONS: 'BB_NO_NETWORK' } : {};
  const display = progressDisplay(report);
  let providerLine = '';
  try {
    state.exitCode = await runInEnvironment(runSpecFor(ctx, script, { env }), {
      onOutput: (chunk) => {
        log.write(chunk);
        for (const event of state.parser.push(chunk)) display(event, state.parser);
        const text = chunk.toString();
        const at = text.indexOf(PROVIDERS_MARKER);
        if (at >= 0) providerLine = text.slice(at + PROVIDERS_MARKER.length).split('\n')[0] ?? '';
      },
    });
  } finally {
    for (const event of state.parser.end()) display(event, state.parser);
    await new Promise((resolve) => log.end(resolve));
  }
  if (providerLine) {
    try {
      state.providers = JSON.parse(providerLine) as Record<string, string[]>;
    } catch {
      state.providers = undefined;
    }
  }
  const p = state.parser.progress;
  if (state.exitCode !== 0) return `failed (exit ${state.exitCode})`;
  return dryRun ? `${p.recipesParsed ? `${p.recipesParsed} recipes parsed, ` : ''}task graph resolved` : `${p.tasksSummary?.attempted ?? 0} tasks`;
}

/** Progress: a one-line status on a TTY (throttled), timestamped plain lines otherwise. */
function progressDisplay(report: (m: string) => void): (event: BitbakeEvent, parser: KnottyParser) => void {
  const interactive = outputMode().interactive;
  let lastUpdate = 0;
  let lastParseDecile = -1;
  return (event, parser) => {
    const p = parser.progress;
    if (interactive) {
      const now = Date.now();
      if (now - lastUpdate < 100 && event.kind !== 'sstate-summary') return;
      lastUpdate = now;
      if (p.phase === 'parsing') report(`Parsing recipes ${p.parsePercent}%`);
      else if (p.phase === 'running') report(`task ${p.taskIndex} of ${p.taskTotal}${p.running.length ? `: ${p.running.slice(0, 3).join(', ')}${p.running.length > 3 ? ` +${p.running.length - 3}` : ''}` : ''}`);
      if (event.kind === 'sstate-summary') report(`sstate: ${event.summary.local + event.summary.mirrors} of ${event.summary.wanted} reused (${event.summary.matchPercent}% match)`);
      return;
    }
    switch (event.kind) {
      case 'parse-progress': {
        const decile = Math.floor(event.percent / 10);
        if (decile !== lastParseDecile) {
          lastParseDecile = decile;
          logLine(`parsing recipes ${event.percent}%`);
        }
        break;
      }
      case 'parse-done':
        logLine(`parsed ${event.recipes} recipes, ${event.errors} errors`);
        break;
      case 'task-started':
        logLine(`${event.setscene ? 'setscene ' : ''}task ${event.index} of ${event.total}: ${event.recipe}:${event.task}`);
        break;
      case 'sstate-summary':
        logLine(`sstate: wanted ${event.summary.wanted}, local ${event.summary.local}, mirrors ${event.summary.mirrors}, missed ${event.summary.missed} (${event.summary.matchPercent}% match)`);
        break;
      case 'tasks-summary':
        logLine(event.text);
        break;
      case 'task-failed':
        logLine(`FAILED ${event.failure.recipe}:${event.failure.task}${event.failure.logFile ? ` (log ${event.failure.logFile})` : ''}`);
        break;
      case 'warning':
        warnLine(event.message);
        break;
      case 'error':
      case 'parse-error':
        logLine(`ERROR: ${event.message}`);
        break;
      default:
        break;
    }
  };
}

function failureError(ctx: BuildContext, state: RunState): UserError {
  const p = state.parser.progress;
  const log = `full log: ${path.relative(process.cwd(), state.logFile) || state.logFile}`;
  if (p.failures.length > 0) {
    const first = p.failures[0]!;
    const more = p.failures.length > 1 ? ` (and ${p.failures.length - 1} more)` : '';
    return new OperationError(`BitBake failed: ${first.recipe}:${first.task}${more}`, [...p.failures.flatMap(formatFailure), log]);
  }
  const parseError = p.errors.find((e) => e.startsWith('ParseError'));
  if (parseError) return new OperationError(`BitBake could not parse the metadata: ${parseError}`, [log]);
  const refusal = p.errors.find((e) => /Do not use Bitbake as root|sanity check|Please use a umask/i.test(e));
  if (refusal) return new OperationError(`BitBake refused to run: ${refusal}`, [log]);
  const last = p.errors.slice(-5);
  return new OperationError(`BitBake exited with code ${state.exitCode} for ${ctx.target.image}`, [...last, log]);
}

async function finish(ctx: BuildContext, state: RunState, dryRun: boolean, result: BuildReport['result']): Promise<BuildReport> {
  const finishedAt = new Date();
  const deployDir = path.join(ctx.buildDir, 'tmp', 'deploy', 'images', ctx.target.machine);
  let artifacts: Artifact[] = [];
  if (!dryRun && result === 'success') {
    artifacts = await collectArtifacts({ projectDir: ctx.project.dir, deployDir, image: ctx.target.image, machine: ctx.target.machine, fstypes: ctx.target.imageFstypes });
    await linkArtifacts(ctx.project.dir, path.join(ctx.buildDir, 'artifacts'), artifacts);
  }
  const report: BuildReport = {
    version: 1,
    target: ctx.target.name,
    image: ctx.target.image,
    machine: ctx.target.machine,
    distro: ctx.target.distro,
    mode: dryRun ? 'dry-run' : 'build',
    result,
    startedAt: state.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - state.startedAt.getTime()) / 100) / 10,
    engine: ctx.engine,
    layers: Object.entries(ctx.lock?.repos ?? {}).map(([repo, r]) => ({ repo, url: r.url, commit: r.commit })),
    ...summariseProgress(state.parser.progress),
    artifacts,
    log: path.relative(ctx.project.dir, state.logFile),
  };
  if (dryRun && result === 'success') report.graph = await graphSummary(ctx, state);
  if (!dryRun) Object.assign(report, await imageFacts(ctx, state, artifacts));
  await writeReport(ctx.buildDir, report);
  await writeStepSummary(report).catch((e: Error) => warnLine(`could not write the GitHub step summary: ${e.message}`));
  return report;
}

/** Image size, installed packages and the slowest tasks: what `yoctoforge report` compares. */
async function imageFacts(ctx: BuildContext, state: RunState, artifacts: Artifact[]): Promise<Pick<BuildReport, 'imageSize' | 'packages' | 'slowestTasks'>> {
  // the disk image flash would write: uncompressed when built, else the compressed one
  const images = artifacts.filter((a) => /^(wic|img|sdimg)(\.(bz2|gz|xz|zst))?$/.test(a.type));
  const image = images.find((a) => !a.type.includes('.')) ?? images[0];
  const manifest = artifacts.find((a) => a.type === 'manifest');
  const manifestText = manifest ? await readFile(path.join(ctx.project.dir, manifest.path), 'utf8').catch(() => undefined) : undefined;
  const slowest = await readBuildstats(path.join(ctx.buildDir, 'tmp'), state.startedAt);
  return {
    ...(image ? { imageSize: image.size } : {}),
    ...(manifestText !== undefined ? { packages: parseImageManifest(manifestText) } : {}),
    ...(slowest.length > 0 ? { slowestTasks: slowest } : {}),
  };
}

async function graphSummary(ctx: BuildContext, state: RunState): Promise<NonNullable<BuildReport['graph']>> {
  const list = await readFile(path.join(ctx.buildDir, 'pn-buildlist'), 'utf8').catch(() => '');
  const recipes = new Set(list.split('\n').map((l) => l.trim()).filter(Boolean));
  const packages: Record<string, { providers: string[]; inGraph: boolean }> = {};
  for (const pkg of ctx.target.packages) {
    const providers = state.providers?.[pkg] ?? [];
    packages[pkg] = { providers, inGraph: providers.some((r) => recipes.has(r)) };
  }
  return { recipes: recipes.size, packages };
}

function printOutcome(ctx: BuildContext, report: BuildReport, dryRun: boolean): void {
  if (dryRun) {
    const g = report.graph!;
    logLine(`${ctx.target.image} for ${ctx.target.machine}: ${g.recipes} recipes in the task graph`);
    for (const [pkg, info] of Object.entries(g.packages)) {
      logLine(`  ${info.inGraph ? 'ok     ' : 'MISSING'} ${pkg}${info.providers.length ? ` (from ${info.providers.join(', ')})` : ' (no recipe provides it)'}`);
    }
    return;
  }
  const s = report.sstate;
  logLine(`built ${ctx.target.image} for ${ctx.target.machine} in ${report.durationSeconds} s${s ? `; sstate reused ${s.local + s.mirrors} of ${s.wanted}` : ''}`);
  for (const a of report.artifacts) logLine(`  ${a.path}  ${(a.size / 1048576).toFixed(1)} MiB`);
  logLine(`report: ${path.relative(process.cwd(), path.join(ctx.buildDir, 'report.json'))}`);
}

function checkPackagesInGraph(report: BuildReport): void {
  const missing = Object.entries(report.graph?.packages ?? {}).filter(([, info]) => !info.inGraph);
  if (missing.length > 0) {
    throw new OperationError(
      `${missing.length} requested package(s) not in the task graph of ${report.image}: ${missing.map(([p]) => p).join(', ')}`,
      missing.map(([p, info]) => (info.providers.length ? `${p}: provided by ${info.providers.join(', ')}, which the graph does not contain` : `${p}: no recipe in the enabled layers provides it (a missing layer?)`)),
    );
  }
}
