import { Document, isMap, isPair, isScalar, type Pair } from 'yaml';
import { loadProject } from '../manifest/load.js';
import { loadOverrides, type OverrideFlags } from '../manifest/overrides.js';
import { targetSettingsShape, type TargetSettings } from '../manifest/schema.js';
import { resolveTarget } from '../manifest/target.js';
import { resolvePatches } from '../layers/patches.js';

export interface ShowOptions {
  projectDir: string;
  target?: string;
  format: 'table' | 'json' | 'yaml';
  overrides?: OverrideFlags;
}

/** What a setting no source sets comes from. */
const BUILT_IN = 'yoctoforge default';

/** The effective target after the manifest's defaults, override files, environment and flags, with each value's origin (like `kas dump`). */
export async function runShow(options: ShowOptions): Promise<void> {
  const project = await loadProject(options.projectDir);
  const overrides = await loadOverrides(project, options.overrides);
  const target = resolveTarget(project, options.target, overrides.forTarget);
  const origins: Record<string, string> = { ...target.origins };
  // the settings in the schema's order, with the defaults resolveTarget applies spelled out
  const settings: Record<string, unknown> = {};
  for (const key of Object.keys(targetSettingsShape) as Array<keyof TargetSettings>) {
    const value = key === 'distro' ? target.distro : target.settings[key];
    if (value === undefined || (key === 'variables' && Object.keys(value).length === 0)) continue;
    settings[key] = value;
    if (key !== 'variables') origins[key] ??= BUILT_IN;
  }
  // where each repo comes from: a url (and the patches applied after checkout) or a folder of the project
  const repos: Record<string, { url?: string; path?: string; patches?: string[] }> = {};
  for (const [name, spec] of Object.entries(project.manifest.repos)) {
    const patches = (await resolvePatches(project.dir, spec.patches ?? [])).map((p) => p.path);
    repos[name] = spec.url === undefined ? { path: spec.path } : { url: spec.url, ...(patches.length > 0 ? { patches } : {}) };
  }
  if (options.format === 'json') {
    process.stdout.write(`${JSON.stringify({ target: target.name, overrideFiles: overrides.files, settings, origins, repos }, null, 2)}\n`);
    return;
  }
  if (options.format === 'yaml') {
    process.stdout.write(yamlWithOrigins(target.name, settings, origins, overrides.files));
    return;
  }
  const rows: Array<[string, string, string]> = [];
  for (const [key, value] of Object.entries(settings)) {
    if (key === 'variables') {
      for (const [name, text] of Object.entries(value as Record<string, string>))
        rows.push([`variables.${name}`, text, origins[`variables.${name}`]!]);
    } else {
      rows.push([
        key,
        Array.isArray(value) && value.every((v) => typeof v === 'string')
          ? value.join(', ')
          : typeof value === 'string'
            ? value
            : JSON.stringify(value),
        origins[key]!,
      ]);
    }
  }
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map(([k, v, o]) => `${k.padEnd(widths[0]!)}  ${v.padEnd(widths[1]!)}  ${o}`.trimEnd());
  if (overrides.files.length > 0) lines.unshift(`override files: ${overrides.files.join(', ')}`);
  lines.push('', 'repos');
  for (const [name, repo] of Object.entries(repos)) {
    const patches = repo.patches ? `, patches: ${repo.patches.join(', ')}` : '';
    lines.push(`  ${name}  ${repo.path === undefined ? repo.url! : `local (${repo.path})`}${patches}`);
  }
  process.stdout.write(`target ${target.name}\n${lines.join('\n')}\n`);
}

/** The settings as a `targets.NAME` block of layers.yaml, each key preceded by a comment naming its origin. */
function yamlWithOrigins(name: string, settings: Record<string, unknown>, origins: Record<string, string>, files: string[]): string {
  const doc = new Document({ targets: { [name]: settings } });
  doc.commentBefore = ` effective settings of target ${name}${files.length > 0 ? ` (override files: ${files.join(', ')})` : ''}; each value's origin above it`;
  const block = doc.getIn(['targets', name], true);
  if (isMap(block)) {
    for (const pair of block.items) {
      const key = keyOf(pair);
      if (key === 'variables' && isMap(pair.value)) {
        for (const variable of pair.value.items) setOrigin(variable, origins[`variables.${keyOf(variable)}`]);
      } else {
        setOrigin(pair, origins[key]);
      }
    }
  }
  return doc.toString({ lineWidth: 0 });
}

function keyOf(pair: Pair<unknown, unknown>): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

function setOrigin(pair: unknown, origin: string | undefined): void {
  if (isPair(pair) && isScalar(pair.key) && origin) pair.key.commentBefore = ` from ${origin}`;
}
