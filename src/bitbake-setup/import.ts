import { InputError } from '../errors.js';
import { parseManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/schema.js';
import { stringify } from 'yaml';
import { BUILTIN_FRAGMENTS, flattenConfigurations, type BitbakeConfiguration, type BitbakeSetupConfig } from './format.js';

export interface BitbakeSetupImportOptions {
  /** the file name, for messages */
  file: string;
  /** bitbake-setup's own command-line choices: a configuration name, then fragment options (machine/..., distro/...) */
  choices: string[];
  targetName: string;
  /** the image recipe the target builds (bitbake-setup configurations name none) */
  image: string;
  outFile: string;
}

export interface BitbakeSetupImport {
  manifest: Manifest;
  text: string;
  notCarried: string[];
}

/**
 * A bitbake-setup configuration (such as bitbake's default-registry poky-wrynose.conf.json) as
 * layers.yaml: sources become repos (a source none of whose folders is in bb-layers becomes a repo
 * without layers, `layers: []`), the chosen configuration's bb-layers the repos' layers, the
 * machine/ and distro/ fragments the target's machine and distro, other fragments OE_FRAGMENTS.
 * Choices are made as `bitbake-setup init --non-interactive FILE CONFIG FRAGMENT...` makes them.
 */
export function importBitbakeSetup(json: string, options: BitbakeSetupImportOptions): BitbakeSetupImport {
  let data: BitbakeSetupConfig;
  try {
    data = JSON.parse(json) as BitbakeSetupConfig;
  } catch (error) {
    throw new InputError(`${options.file}: not JSON (${(error as Error).message})`);
  }
  if (!data || typeof data !== 'object' || !data.sources || !data['bitbake-setup']?.configurations) {
    throw new InputError(
      `${options.file}: not a bitbake-setup configuration (expected "sources" and "bitbake-setup": {"configurations": [...]})`,
    );
  }
  const notCarried: string[] = [];
  const configs = flattenConfigurations(data['bitbake-setup'].configurations);
  const [configName, ...fragmentChoices] = options.choices;
  let config: BitbakeConfiguration | undefined;
  if (configName) {
    config = configs.find((c) => c.name === configName);
    if (!config)
      throw new InputError(`${options.file}: no configuration "${configName}" (it has ${configs.map((c) => c.name).join(', ')})`);
  } else if (configs.length === 1) {
    config = configs[0];
  } else {
    throw new InputError(`${options.file}: choose a configuration, as bitbake-setup would ask: ${configs.map((c) => c.name).join(', ')}`);
  }
  const fragments = [...(config!['oe-fragments'] ?? [])];
  for (const [group, spec] of Object.entries(config!['oe-fragments-one-of'] ?? {})) {
    const names = spec.options.map((o) => (typeof o === 'string' ? o : o.name));
    const chosen = names.filter((n) => fragmentChoices.includes(n));
    if (chosen.length !== 1)
      throw new InputError(
        `${options.file}: choose one ${group} (${spec.description ?? group}) as bitbake-setup would ask: ${names.join(', ')}`,
      );
    fragments.push(chosen[0]!);
  }
  let machine: string | undefined;
  let distro: string | undefined;
  const otherFragments: string[] = [];
  for (const f of fragments) {
    if (f.startsWith(BUILTIN_FRAGMENTS.machine)) machine = f.slice(BUILTIN_FRAGMENTS.machine.length);
    else if (f.startsWith(BUILTIN_FRAGMENTS.distro)) distro = f.slice(BUILTIN_FRAGMENTS.distro.length);
    else otherFragments.push(f);
  }
  if (!machine) throw new InputError(`${options.file}: the configuration chooses no machine/ fragment; yoctoforge targets need a MACHINE`);

  const layersBySource = new Map<string, string[]>();
  for (const entry of config!['bb-layers'] ?? []) {
    const slash = entry.indexOf('/');
    const source = slash < 0 ? entry : entry.slice(0, slash);
    const sub = slash < 0 ? '.' : entry.slice(slash + 1);
    if (!data.sources[source]) throw new InputError(`${options.file}: bb-layers entry "${entry}" names no source`);
    layersBySource.set(source, [...(layersBySource.get(source) ?? []), sub]);
  }
  if (config!['bb-layers-file-relative'])
    notCarried.push('bb-layers-file-relative: layers beside the configuration file (add them as repos)');
  const repos: Record<string, Record<string, unknown>> = {};
  let series: string | undefined;
  for (const [name, source] of Object.entries(data.sources)) {
    if ('local' in source) {
      notCarried.push(
        `sources.${name}: a local folder (${source.local.path}); yoctoforge clones git repositories (add it with a file:// URL)`,
      );
      continue;
    }
    const remote = source['git-remote'];
    const url = remote.uri ?? Object.values(remote.remotes ?? {})[0]?.uri;
    if (!url) throw new InputError(`${options.file}: sources.${name} has no git-remote uri`);
    if (source.path && source.path !== name)
      notCarried.push(`sources.${name}.path ${source.path}: yoctoforge checks repos out under their own names`);
    const repo: Record<string, unknown> = { url };
    if (remote.branch) repo.branch = remote.branch;
    if (/^[0-9a-f]{40}$/.test(remote.rev)) repo.commit = remote.rev;
    else if (remote.rev !== remote.branch) repo.tag = remote.rev;
    const layers = layersBySource.get(name) ?? [];
    if (!(layers.length === 1 && layers[0] === '.')) repo.layers = layers;
    if (layers.includes('meta') && typeof remote.branch === 'string') series = remote.branch;
    repos[name] = repo;
  }
  // The series is the core's branch; repos on it follow `series:` instead of repeating it.
  if (series) for (const repo of Object.values(repos)) if (repo.branch === series) delete repo.branch;
  const target: Record<string, unknown> = { image: options.image, machine };
  if (distro) target.distro = distro;
  if (otherFragments.length > 0) target.local_conf = `OE_FRAGMENTS += "${otherFragments.join(' ')}"\n`;
  for (const key of ['bb-env-passthrough-additions', 'oe-template', 'setup-dir-name']) {
    if (config![key] !== undefined) notCarried.push(`${key}: a bitbake-setup setting with no yoctoforge equivalent`);
  }
  const manifestData = { version: 1, ...(series ? { series } : {}), repos, targets: { [options.targetName]: target } };
  const text = [
    `# Imported by \`yoctoforge import bitbake-setup\` from ${options.file}, configuration ${config!.name ?? '(unnamed)'}${fragments.length ? ` with ${fragments.join(' ')}` : ''}.`,
    `# ${data.description ?? ''}`.trimEnd(),
    stringify(manifestData, { lineWidth: 0 }),
  ].join('\n');
  return { manifest: parseManifest(text, options.outFile), text, notCarried };
}
