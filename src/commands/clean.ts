import { existsSync } from 'node:fs';
import path from 'node:path';
import { bitbakeCommand, inBuildEnv } from '../bitbake/runner.js';
import { runInEnvironment } from '../engine/container.js';
import { acquireBuildPidfile } from '../engine/workspace.js';
import { InputError, OperationError } from '../errors.js';
import { loadProject } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { resolveTarget } from '../manifest/target.js';
import { removeInside } from '../util/fs.js';
import { logLine, warnLine } from '../util/output.js';
import { buildEnvironmentStep, checkLayersStep, loadBuildContext, prepare, renderConfStep, runSpecFor } from './prepare.js';

export interface CleanOptions {
  projectDir: string;
  target?: string;
  /** recipes whose sstate objects and work directories BitBake removes (bitbake -c cleansstate) */
  sstate?: string[];
  /** the whole build directory of the target, conf and logs included */
  all: boolean;
  engine?: string;
  baseImage?: string;
}

/**
 * What `clean TARGET` removes from build/TARGET: BitBake's TMPDIR, its parse cache and the
 * artifact links into TMPDIR. conf/, logs/ and report.json stay; the shared downloads and sstate
 * cache are never touched (other targets and projects use them).
 */
export const CLEANED_BY_DEFAULT = ['tmp', 'cache', 'artifacts'] as const;

export async function runClean(options: CleanOptions): Promise<void> {
  if (options.sstate && options.sstate.length > 0) {
    await cleanSstate(options, options.sstate);
    return;
  }
  // No engine is needed to delete files: only the manifest, to know the target and its directory.
  const project = await loadProject(options.projectDir);
  const target = resolveTarget(project, options.target);
  const paths = projectPaths(project);
  const buildDir = paths.buildDir(target.name);
  const rel = (p: string): string => path.relative(project.dir, p);
  if (!existsSync(buildDir)) {
    logLine(`${rel(buildDir)}: nothing to remove`);
    return;
  }
  const release = await acquireBuildPidfile(buildDir, target.name);
  const removed: string[] = [];
  try {
    for (const name of options.all ? [] : CLEANED_BY_DEFAULT) {
      const dir = path.join(buildDir, name);
      if (await removeInside(buildDir, dir)) removed.push(rel(dir));
    }
  } finally {
    await release();
  }
  if (options.all) {
    await removeInside(paths.buildRoot, buildDir);
    logLine(`removed ${rel(buildDir)}`);
  } else {
    logLine(
      removed.length > 0
        ? `removed ${removed.join(', ')} (conf, logs and report kept; --all removes them too)`
        : `${rel(buildDir)}: nothing to remove`,
    );
  }
}

async function cleanSstate(options: CleanOptions, recipes: string[]): Promise<void> {
  // Recipe names or virtual providers (virtual/kernel); nothing an option or a shell would read.
  const bad = recipes.filter((r) => !/^[A-Za-z0-9][A-Za-z0-9.+_/-]*$/.test(r));
  if (bad.length > 0) throw new InputError(`--sstate ${bad[0]}: expected a recipe name such as busybox or virtual/kernel`);
  const loaded = await loadBuildContext(options);
  if (loaded.user.note) warnLine(loaded.user.note);
  const release = await acquireBuildPidfile(loaded.buildDir, loaded.target.name);
  try {
    // The layers as they are, like shell: cleaning must not move a checkout.
    const ctx = await prepare(loaded, [checkLayersStep, renderConfStep, buildEnvironmentStep]);
    const script = inBuildEnv(ctx.layers, ctx.buildDir, bitbakeCommand(['-c', 'cleansstate', ...recipes]));
    logLine(`bitbake -c cleansstate ${recipes.join(' ')}`);
    const code = await runInEnvironment(runSpecFor(ctx, script), { onOutput: (chunk) => process.stdout.write(chunk) });
    if (code !== 0) throw new OperationError(`bitbake -c cleansstate ${recipes.join(' ')} failed (exit ${code})`);
  } finally {
    await release();
  }
}
