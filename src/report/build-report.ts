import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { collectArtifacts, diskImageArtifact, linkArtifacts, type Artifact } from '../bitbake/artifacts.js';
import { readBuildstats } from '../bitbake/buildstats.js';
import { parseImageManifest } from '../bitbake/image-manifest.js';
import type { BuildProgress } from '../bitbake/knotty.js';
import { summariseProgress, writeReport, type BuildReport } from '../bitbake/report.js';
import { OperationError } from '../errors.js';
import type { Lock } from '../lock/lock.js';
import type { Target } from '../manifest/target.js';
import { formatSize } from '../util/units.js';

/** One BitBake run, as the report sees it. */
export interface BitbakeRun {
  projectDir: string;
  buildDir: string;
  target: Target;
  engine: string;
  lock?: Lock;
  dryRun: boolean;
  startedAt: Date;
  logFile: string;
  progress: BuildProgress;
  /** dry run: the recipes providing each requested package, from tinfoil */
  providers?: Record<string, string[]>;
  /** the arguments BitBake ran with (`bitbake ARGS`) */
  bitbakeArgs: string[];
  /** the target's image was built (no -c TASK, no other recipes): artifacts and image facts apply */
  buildsImage: boolean;
}

/** Collects the artifacts of a successful build and writes build/TARGET/report.json. */
export async function assembleReport(run: BitbakeRun, result: BuildReport['result']): Promise<BuildReport> {
  const { target } = run;
  const finishedAt = new Date();
  const deployDir = path.join(run.buildDir, 'tmp', 'deploy', 'images', target.machine);
  let artifacts: Artifact[] = [];
  if (!run.dryRun && run.buildsImage && result === 'success') {
    artifacts = await collectArtifacts({
      projectDir: run.projectDir,
      deployDir,
      image: target.image,
      machine: target.machine,
      fstypes: target.imageFstypes,
    });
    await linkArtifacts(run.projectDir, path.join(run.buildDir, 'artifacts'), artifacts);
  }
  const report: BuildReport = {
    version: 1,
    target: target.name,
    image: target.image,
    machine: target.machine,
    distro: target.distro,
    mode: run.dryRun ? 'dry-run' : 'build',
    result,
    startedAt: run.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - run.startedAt.getTime()) / 100) / 10,
    engine: run.engine,
    bitbake: run.dryRun ? `bitbake -g ${target.image}` : `bitbake ${run.bitbakeArgs.join(' ')}`,
    ...(target.overridden.length > 0 ? { overrides: target.overridden } : {}),
    layers: Object.entries(run.lock?.repos ?? {}).map(([repo, r]) => ({ repo, url: r.url, commit: r.commit })),
    ...summariseProgress(run.progress),
    artifacts,
    log: path.relative(run.projectDir, run.logFile),
  };
  if (run.dryRun && result === 'success') report.graph = await graphSummary(run);
  if (!run.dryRun && run.buildsImage) Object.assign(report, await imageFacts(run, artifacts));
  await writeReport(run.buildDir, report);
  return report;
}

/** Image size, installed packages and the slowest tasks: what `yoctoforge report` compares. */
async function imageFacts(run: BitbakeRun, artifacts: Artifact[]): Promise<Pick<BuildReport, 'imageSize' | 'packages' | 'slowestTasks'>> {
  const diskImage = diskImageArtifact(artifacts);
  const manifest = artifacts.find((a) => a.type === 'manifest');
  const manifestText = manifest ? await readFile(path.join(run.projectDir, manifest.path), 'utf8').catch(() => undefined) : undefined;
  const slowest = await readBuildstats(path.join(run.buildDir, 'tmp'), run.startedAt);
  return {
    ...(diskImage ? { imageSize: diskImage.size } : {}),
    ...(manifestText !== undefined ? { packages: parseImageManifest(manifestText) } : {}),
    ...(slowest.length > 0 ? { slowestTasks: slowest } : {}),
  };
}

async function graphSummary(run: BitbakeRun): Promise<NonNullable<BuildReport['graph']>> {
  const list = await readFile(path.join(run.buildDir, 'pn-buildlist'), 'utf8').catch(() => '');
  const recipes = new Set(
    list
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const packages: Record<string, { providers: string[]; inGraph: boolean }> = {};
  for (const pkg of run.target.packages) {
    const providers = run.providers?.[pkg] ?? [];
    packages[pkg] = { providers, inGraph: providers.some((r) => recipes.has(r)) };
  }
  return { recipes: recipes.size, packages };
}

/** What a finished run prints: the task graph of a dry run, or the build time and its artifacts. */
export function outcomeLines(report: BuildReport): string[] {
  if (report.mode === 'dry-run') {
    const g = report.graph!;
    return [
      `${report.image} for ${report.machine}: ${g.recipes} recipes in the task graph`,
      ...Object.entries(g.packages).map(
        ([pkg, info]) =>
          `  ${info.inGraph ? 'ok     ' : 'MISSING'} ${pkg}${info.providers.length ? ` (from ${info.providers.join(', ')})` : ' (no recipe provides it)'}`,
      ),
    ];
  }
  const s = report.sstate;
  return [
    `built ${report.image} for ${report.machine} in ${report.durationSeconds} s${s ? `; sstate reused ${s.local + s.mirrors} of ${s.wanted}` : ''}`,
    ...report.artifacts.map((a) => `  ${a.path}  ${formatSize(a.size)}`),
  ];
}

/** A dry run fails when a package the manifest asks for is not in the image's task graph. */
export function checkPackagesInGraph(report: BuildReport): void {
  const missing = Object.entries(report.graph?.packages ?? {}).filter(([, info]) => !info.inGraph);
  if (missing.length > 0) {
    throw new OperationError(
      `${missing.length} requested package(s) not in the task graph of ${report.image}: ${missing.map(([p]) => p).join(', ')}`,
      missing.map(([p, info]) =>
        info.providers.length
          ? `${p}: provided by ${info.providers.join(', ')}, which the graph does not contain`
          : `${p}: no recipe in the enabled layers provides it (a missing layer?)`,
      ),
    );
  }
}
