import path from 'node:path';
import { renderTargetConf } from '../conf/render.js';
import { checkLayers } from '../layers/check.js';
import { loadProject } from '../manifest/load.js';
import { loadOverrides, type OverrideFlags } from '../manifest/overrides.js';
import { resolveTarget } from '../manifest/target.js';
import { logLine } from '../util/output.js';

export async function runConfig(options: { projectDir: string; target?: string; overrides?: OverrideFlags }): Promise<void> {
  const project = await loadProject(options.projectDir);
  const overrides = await loadOverrides(project, options.overrides);
  const target = resolveTarget(project, options.target, overrides.forTarget);
  const layers = await checkLayers(project, target);
  const rendered = await renderTargetConf(project, target, layers);
  const rel = (p: string): string => path.relative(process.cwd(), p) || p;
  logLine(`${rendered.changed ? 'wrote' : 'unchanged'} ${rel(rendered.files.localConf)}`);
  logLine(`${rendered.changed ? 'wrote' : 'unchanged'} ${rel(rendered.files.bblayersConf)}`);
}
