import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LayerCheckResult } from '../layers/check.js';
import type { Project } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import type { Target } from '../manifest/target.js';
import { renderConfText } from './render.js';

/** Whether build/TARGET/conf holds what `config` would write now: rendered in memory, nothing written. */
export interface ConfState {
  state: 'current' | 'stale' | 'missing';
  /** the files that differ from (or are missing against) a fresh rendering, relative to the project */
  differing: string[];
}

export async function renderedConfState(project: Project, target: Target, layers: LayerCheckResult): Promise<ConfState> {
  const fresh = await renderConfText(project, target, layers);
  const confDir = path.join(projectPaths(project).buildDir(target.name), 'conf');
  const files: Array<[string, string]> = [
    [path.join(confDir, 'local.conf'), fresh.localConf],
    [path.join(confDir, 'bblayers.conf'), fresh.bblayersConf],
  ];
  const differing: string[] = [];
  let missing = 0;
  for (const [file, text] of files) {
    const onDisk = await readFile(file, 'utf8').catch(() => undefined);
    if (onDisk === undefined) missing++;
    if (onDisk !== text) differing.push(path.relative(project.dir, file));
  }
  const state = missing === files.length ? 'missing' : differing.length > 0 ? 'stale' : 'current';
  return { state, differing };
}
