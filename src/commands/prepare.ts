import path from 'node:path';
import { renderTargetConf } from '../conf/render.js';
import { buildUser, chooseEngine, type BuildUser, type EngineName } from '../engine/engine.js';
import { chooseBaseImage, ensureBuildEnvImage } from '../engine/image.js';
import type { RunSpec } from '../engine/container.js';
import { prepareWritableDirs } from '../engine/workspace.js';
import { checkLayers, type LayerCheckResult } from '../layers/check.js';
import { syncLayers } from '../layers/sync.js';
import { loadProject, type Project } from '../manifest/load.js';
import type { Lock } from '../manifest/lock.js';
import { projectPaths, type ProjectPaths } from '../manifest/paths.js';
import { resolveTarget, type Target } from '../manifest/target.js';
import type { Step } from '../ui/tasks.js';
import { isInside } from '../util/fs.js';
import { outputMode } from '../util/output.js';

/** Everything a BitBake run needs, filled in step by step. */
export interface BuildContext {
  project: Project;
  target: Target;
  paths: ProjectPaths;
  buildDir: string;
  engine: EngineName;
  user: BuildUser;
  baseImage: string;
  lock?: Lock;
  layers?: LayerCheckResult;
  image?: string;
}

export interface PrepareOptions {
  projectDir: string;
  target?: string;
  engine?: string;
  baseImage?: string;
  locked?: boolean;
}

export async function loadBuildContext(options: PrepareOptions): Promise<BuildContext> {
  const project = await loadProject(options.projectDir);
  const target = resolveTarget(project, options.target);
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

/** The steps before BitBake: sync (respecting the lock), layer checks, conf, build environment. */
export function preparationSteps(options: PrepareOptions): Step<BuildContext>[] {
  return [
    {
      title: 'Sync layers',
      run: async (report, ctx) => {
        const result = await syncLayers(ctx.project, { locked: options.locked, interactive: outputMode().interactive, onProgress: (repo, m) => report(`${repo}: ${m}`) });
        ctx.lock = result.lock;
        const moved = result.repos.filter((r) => r.action !== 'up-to-date').length;
        return moved === 0 ? `${result.repos.length} repos at the lock` : `${moved} of ${result.repos.length} repos updated`;
      },
    },
    {
      title: 'Check layers',
      run: async (_report, ctx) => {
        ctx.layers = await checkLayers(ctx.project, ctx.target);
        return `${ctx.layers.layers.length} layers, series ${ctx.layers.coreSeries.join(' ')}`;
      },
    },
    {
      title: 'Render conf',
      run: async (_report, ctx) => {
        const rendered = await renderTargetConf(ctx.project, ctx.target, ctx.layers!);
        await prepareWritableDirs(
          [
            { dir: ctx.buildDir, what: 'build directory', own: isInside(ctx.buildDir, ctx.project.dir) },
            { dir: ctx.paths.dlDir, what: 'downloads cache' },
            { dir: ctx.paths.sstateDir, what: 'sstate cache' },
            { dir: ctx.paths.persistentDir, what: 'hash-equivalence cache' },
          ],
          ctx.user,
          ctx.engine,
        );
        return `${path.relative(ctx.project.dir, rendered.confDir)} ${rendered.changed ? 'written' : 'unchanged'}`;
      },
    },
    {
      title: 'Build environment',
      skip: (ctx) => (ctx.engine === 'none' ? 'engine none: BitBake runs on this host' : false),
      run: async (report, ctx) => {
        if (ctx.engine === 'none') return;
        const result = await ensureBuildEnvImage(ctx.engine, { baseImage: ctx.baseImage, user: ctx.user }, report);
        ctx.image = result.tag;
        return `${result.tag} ${result.built ? 'built' : 'up to date'} (${ctx.engine})`;
      },
    },
  ];
}

/** How BitBake (or a shell) is run for this context. */
export function runSpecFor(ctx: BuildContext, script: string, opts: { tty?: boolean; env?: Record<string, string> } = {}): RunSpec {
  const hostEnv = ctx.engine === 'none' ? { ...(process.env as Record<string, string>) } : {};
  return {
    engine: ctx.engine,
    image: ctx.image,
    user: ctx.user,
    name: `yoctoforge-${ctx.target.name}-${process.pid}`,
    mounts: [ctx.project.dir, ctx.paths.layersDir, ctx.paths.buildRoot, ctx.paths.dlDir, ctx.paths.sstateDir, ctx.paths.persistentDir],
    workdir: ctx.buildDir,
    env: { ...hostEnv, ...(opts.env ?? {}) },
    script,
    tty: opts.tty ?? false,
    rootless: process.getuid?.() !== 0,
  };
}
