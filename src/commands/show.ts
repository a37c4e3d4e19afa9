import { stringify } from 'yaml';
import { InputError } from '../errors.js';
import { loadProject } from '../manifest/load.js';
import { DEFAULT_DISTRO, resolveTarget } from '../manifest/target.js';

export interface ShowOptions {
  projectDir: string;
  target?: string;
  format: 'text' | 'json' | 'yaml';
}

interface ShownValue {
  value: unknown;
  /** the manifest key it came from, or "built-in default" */
  from: string;
}

/** The effective settings of a target after defaults are merged, each with where it came from (kas dump, with sources). */
export async function runShow(options: ShowOptions): Promise<void> {
  const project = await loadProject(options.projectDir);
  const target = resolveTarget(project, options.target);
  const own = project.manifest.targets[target.name] ?? {};
  const defaults = project.manifest.defaults ?? {};
  const settings: Record<string, ShownValue> = {};
  for (const [key, value] of Object.entries(target.settings)) {
    if (value === undefined) continue;
    if (key === 'variables') {
      for (const [name, v] of Object.entries(value as Record<string, string>)) {
        settings[`variables.${name}`] = {
          value: v,
          from: own.variables && name in own.variables ? `targets.${target.name}.variables.${name}` : `defaults.variables.${name}`,
        };
      }
      continue;
    }
    settings[key] = { value, from: key in own ? `targets.${target.name}.${key}` : `defaults.${key}` };
  }
  if (settings.distro === undefined) settings.distro = { value: DEFAULT_DISTRO, from: 'built-in default' };
  const shown = { target: target.name, manifest: project.manifestFile, settings };
  if (options.format === 'json') {
    process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  } else if (options.format === 'yaml') {
    process.stdout.write(stringify(shown, { lineWidth: 0 }));
  } else {
    const lines = [`target ${target.name} (${project.manifestFile})`];
    const width = Math.max(...Object.keys(settings).map((k) => k.length));
    for (const [key, { value, from }] of Object.entries(settings)) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      lines.push(`  ${key.padEnd(width)}  ${text.includes('\n') ? JSON.stringify(text) : text}  (${from})`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

export function showFormat(opts: { json?: boolean; yaml?: boolean }): ShowOptions['format'] {
  if (opts.json && opts.yaml) throw new InputError('--json and --yaml: choose one');
  return opts.json ? 'json' : opts.yaml ? 'yaml' : 'text';
}
