import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import { CI_PROVIDERS, isCiProvider, renderWorkflow, TARGET_NAME, WORKFLOW_FILES, type CiProvider } from '../ci/workflows.js';
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
  const targets = selectTargets(await manifestTargets(dir), options.target ?? []);
  const file = path.join(dir, WORKFLOW_FILES[provider]);
  if ((await pathExists(file)) && !options.force) {
    throw new InputError(`${file} already exists (use --force to overwrite it)`);
  }
  const text = renderWorkflow(provider, targets);
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

/**
 * The keys of the top-level `targets:` mapping. Only that much of layers.yaml is read here, so a
 * pipeline can be written for a manifest the full validation would still complain about.
 */
export async function manifestTargets(projectDir: string): Promise<string[]> {
  const file = path.join(projectDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`no ${MANIFEST_FILE} in ${projectDir} (run \`yoctoforge init\` to create one)`);
    }
    throw new InputError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new InputError(`${file}: not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`);
  const targets = isMap(doc.contents) ? doc.contents.get('targets', true) : undefined;
  if (!isMap(targets) || targets.items.length === 0) throw new InputError(`${file}: no targets (a top-level \`targets:\` mapping)`);
  const names = targets.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : String(pair.key)));
  const bad = names.find((n) => !TARGET_NAME.test(n));
  if (bad !== undefined) throw new InputError(`${file}: target name ${JSON.stringify(bad)}: expected letters, digits, . _ - (not starting with . _ -)`);
  return names;
}
