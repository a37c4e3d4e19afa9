import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { parsePublishTarget } from '../cache/publish.js';
import { CI_PROVIDERS, isCiProvider, renderWorkflow, WORKFLOW_FILES, type CiProvider } from '../ci/workflows.js';
import { loadProject } from '../manifest/load.js';
import { targetNames } from '../manifest/target.js';
import { MANIFEST_FILE } from '../manifest/schema.js';
import { pathExists, writeFileAtomic } from '../util/fs.js';
import { logLine } from '../util/output.js';

export interface CiInitOptions {
  projectDir: string;
  /** github (default) or gitlab */
  provider?: string;
  /** targets to build; default: every target in layers.yaml */
  target?: string[];
  force?: boolean;
}

export interface CiInitResult {
  provider: CiProvider;
  file: string;
  targets: string[];
}

/** `yoctoforge ci init`: writes the CI pipeline of the project for GitHub Actions or GitLab CI. */
export async function runCiInit(options: CiInitOptions): Promise<CiInitResult> {
  const provider = options.provider ?? 'github';
  if (!isCiProvider(provider)) {
    throw new InputError(`--provider ${provider}: expected ${CI_PROVIDERS.join(' or ')}`);
  }
  const dir = path.resolve(options.projectDir);
  const project = await loadProject(dir);
  const targets = selectTargets(targetNames(project), options.target ?? []);
  const shared = project.manifest.cache?.shared;
  const file = path.join(dir, WORKFLOW_FILES[provider]);
  if ((await pathExists(file)) && !options.force) {
    throw new InputError(`${file} already exists (use --force to overwrite it)`);
  }
  const text = renderWorkflow(provider, targets, {
    publish: Boolean(shared?.publish),
    hashserve: Boolean(shared?.hashserve),
    s3: shared?.publish ? parsePublishTarget(shared.publish, dir).kind === 's3' : false,
  });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text);
  logLine(`wrote ${file} (targets: ${targets.join(', ')})`);
  return { provider, file, targets };
}

/** The `--target` names, checked against layers.yaml; none given: every target, in manifest order. */
export function selectTargets(available: readonly string[], requested: readonly string[]): string[] {
  if (requested.length === 0) return [...available];
  const unknown = requested.filter((t) => !available.includes(t));
  if (unknown.length > 0) {
    const list = unknown.map((t) => JSON.stringify(t)).join(', ');
    throw new InputError(`no target ${list} in ${MANIFEST_FILE} (targets: ${available.join(', ')})`);
  }
  return [...new Set(requested)];
}
