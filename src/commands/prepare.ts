import path from 'node:path';
import { renderTargetConf } from '../conf/render.js';
import { buildUser, chooseEngine, type BuildUser, type EngineName } from '../engine/engine.js';
import { chooseBaseImage, DEFAULT_BUILD_ENV_SERIES, ensureBuildEnvImage } from '../engine/image.js';
import { buildEnvironment, type RunSpec } from '../engine/container.js';
import { prepareWritableDirs } from '../engine/workspace.js';
import { checkLayers, type LayerCheckResult } from '../layers/check.js';
import { syncLayers } from '../layers/sync.js';
import type { Lock } from '../lock/lock.js';
import { loadProject, type Project } from '../manifest/load.js';
import { loadOverrides, type OverrideFlags } from '../manifest/overrides.js';
import { projectPaths, type ProjectPaths } from '../manifest/paths.js';
import { cacheSettings } from '../manifest/shared-cache.js';
import { resolveTarget, type Target } from '../manifest/target.js';
import { runSteps, type Step } from '../ui/tasks.js';
import { isInside } from '../util/fs.js';
import { outputMode } from '../util/output.js';

/** What the manifest and the flags say about one build, before anything runs. */
export interface BuildContext {
  project: Project;
  target: Target;
  paths: ProjectPaths;
  buildDir: string;
  engine: EngineName;
  user: BuildUser;
  baseImage: string;
}

/** A context the preparation steps completed: BitBake (or a shell) can run in it. */
export interface PreparedContext extends BuildContext {
  /** the lock the layers were synced to; undefined when the layers were taken as they are */
  lock?: Lock;
  layers: LayerCheckResult;
  /** the build-environment container image; undefined with engine none */
  envImage?: string;
}

/** What the preparation steps have found so far. */
interface Preparation {
  lock?: Lock;
  layers?: LayerCheckResult;
  envImage?: string;
}

export type PreparationStep = Step<BuildContext & Preparation>;

export interface PrepareOptions {
  projectDir: string;
  target?: string;
  engine?: string;
  baseImage?: string;
  locked?: boolean;
  overrides?: OverrideFlags;
}

export async function loadBuildContext(options: PrepareOptions): Promise<BuildContext> {
  const project = await loadProject(options.projectDir);
  const overrides = await loadOverrides(project, options.overrides);
  const target = resolveTarget(project, options.target, overrides.forTarget);
  const paths = projectPaths(project);
  const engine = await chooseEngine(options.engine, project.manifest.build_env?.engine);
  return {
    project,
    target,
    paths,
    buildDir: paths.buildDir(target.name),
    engine,
    user: buildUser(project.dir),
    baseImage: chooseBaseImage(options.baseImage, project.manifest.build_env?.base_image),
  };
}

/** Sync the layers, respecting the lock (and requiring it to match with `locked`). */
export function syncStep(locked: boolean | undefined): PreparationStep {
  return {
    title: 'Sync layers',
    run: async (report, ctx) => {
      const result = await syncLayers(ctx.project, {
        locked,
        interactive: outputMode().interactive,
        onProgress: (repo, m) => report(`${repo}: ${m}`),
      });
      ctx.lock = result.lock;
      const moved = result.repos.filter((r) => r.action !== 'up-to-date').length;
      return moved === 0 ? `${result.repos.length} repos at the lock` : `${moved} of ${result.repos.length} repos updated`;
    },
  };
}

export const checkLayersStep: PreparationStep = {
  title: 'Check layers',
  run: async (_report, ctx) => {
    ctx.layers = await checkLayers(ctx.project, ctx.target);
    return `${ctx.layers.layers.length} layers, series ${ctx.layers.coreSeries.join(' ')}`;
  },
};

export const renderConfStep: PreparationStep = {
  title: 'Render conf',
  run: async (_report, ctx) => {
    const rendered = await renderTargetConf(ctx.project, ctx.target, checkedLayers(ctx));
    await prepareWritableDirs(
      [
        { dir: ctx.buildDir, what: 'build directory', own: isInside(ctx.buildDir, ctx.project.dir) },
        { dir: ctx.paths.dlDir, what: 'downloads cache' },
        { dir: ctx.paths.sstateDir, what: 'sstate cache' },
        { dir: ctx.paths.persistentDir, what: 'hash-equivalence cache' },
      ],
      ctx.user,
    );
    return `${path.relative(ctx.project.dir, rendered.confDir)} ${rendered.changed ? 'written' : 'unchanged'}`;
  },
};

export const buildEnvironmentStep: PreparationStep = {
  title: 'Build environment',
  skip: (ctx) => (ctx.engine === 'none' ? 'engine none: BitBake runs on this host' : false),
  run: async (report, ctx) => {
    if (ctx.engine === 'none') return;
    // The host packages are the release's whose core layer the checkout holds.
    const series = ctx.layers?.coreSeries[0] ?? ctx.project.manifest.series ?? DEFAULT_BUILD_ENV_SERIES;
    const result = await ensureBuildEnvImage(ctx.engine, { baseImage: ctx.baseImage, user: ctx.user, series }, report);
    ctx.envImage = result.tag;
    return `${result.tag} ${result.built ? 'built' : 'up to date'} (${ctx.engine})`;
  },
};

/** Runs the given preparation steps in order; the result is complete once the layers were checked. */
export async function prepare(ctx: BuildContext, steps: PreparationStep[]): Promise<PreparedContext> {
  const draft: BuildContext & Preparation = { ...ctx };
  await runSteps(steps, draft);
  return { ...draft, layers: checkedLayers(draft) };
}

function checkedLayers(draft: Preparation): LayerCheckResult {
  // a composition without checkLayersStep before this point is a programming error, not a user's
  if (!draft.layers) throw new Error('preparation: the layers were not checked (checkLayersStep missing or out of order)');
  return draft.layers;
}

/** How BitBake (or a shell) is run for this context. */
export function runSpecFor(ctx: PreparedContext, script: string, opts: { tty?: boolean; env?: Record<string, string> } = {}): RunSpec {
  // On the host BitBake inherits the caller's environment; a container gets only buildEnvironment's.
  const passed = buildEnvironment(ctx.project.manifest.env);
  const hostEnv = ctx.engine === 'none' ? { ...(process.env as Record<string, string>), ...passed } : passed;
  const env = { ...hostEnv, ...(opts.env ?? {}) };
  // the hash server's login (read-write role): by name into the container, and through BitBake's environment filter
  const passEnvironment = cacheSettings(ctx.project.manifest).passEnvironment;
  if (passEnvironment.length > 0)
    env.BB_ENV_PASSTHROUGH_ADDITIONS = [env.BB_ENV_PASSTHROUGH_ADDITIONS, ...passEnvironment].filter(Boolean).join(' ');
  return {
    engine: ctx.engine,
    envImage: ctx.envImage,
    user: ctx.user,
    name: `yoctoforge-${ctx.target.name}-${process.pid}`,
    mounts: [ctx.project.dir, ctx.paths.layersDir, ctx.paths.buildRoot, ctx.paths.dlDir, ctx.paths.sstateDir, ctx.paths.persistentDir],
    workdir: ctx.buildDir,
    env,
    passEnvironment,
    script,
    tty: opts.tty ?? false,
    rootless: process.getuid?.() !== 0,
  };
}
