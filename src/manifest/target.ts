import path from 'node:path';
import { InputError } from '../errors.js';
import type { Project } from './load.js';
import type { GroupSpec, TargetSettings, UserSpec } from './schema.js';

/** A build target with the manifest's defaults applied: what the conf renderer and build use. */
export interface Target {
  name: string;
  image: string;
  machine: string;
  distro: string;
  initManager?: TargetSettings['init_manager'];
  distroFeatures: string[];
  imageFeatures: string[];
  packages: string[];
  groups: GroupSpec[];
  users: UserSpec[];
  licenseFlagsAccepted: string[];
  imageFstypes: string[];
  /** REPO or REPO/SUBLAYER entries; undefined = every layer of every repo */
  layers?: string[];
  variables: Record<string, string>;
  localConf?: string;
  bblayersConf?: string;
  confLayout: 'yoctoforge' | 'kas';
  /** the merged settings as the manifest spells them (variables merged key by key): what conf/lines.ts reads */
  settings: TargetSettings;
  /** where each set value came from, by setting key (`variables.NAME` per variable): a SettingsSource's origin */
  origins: Record<string, string>;
  /** the values that do not come from the manifest, with their origin (the conf header and report.json list them) */
  overridden: OverriddenSetting[];
}

export interface OverriddenSetting {
  /** a setting key, or `variables.NAME` */
  setting: string;
  value: unknown;
  origin: string;
}

/** One source of target settings (a section of a file, an environment variable, a flag). */
export interface SettingsSource {
  /** shown in the conf header, report.json and `show`: e.g. "layers.local.yaml: targets.T", "--machine" */
  origin: string;
  settings: TargetSettings;
}

/** Sources beyond the manifest's own, for one target (src/manifest/overrides.ts makes them). */
export interface TargetOverrides {
  /** merged over the manifest's defaults, in order */
  defaults: SettingsSource[];
  /** merged over the manifest's target, in order, after its own settings */
  target: SettingsSource[];
}

export const DEFAULT_DISTRO = 'poky';

export function targetNames(project: Project): string[] {
  return Object.keys(project.manifest.targets);
}

/**
 * The target with its settings merged, later winning: the manifest's defaults, the overrides'
 * defaults, the manifest's target, the overrides' target sources (files, environment, flags).
 */
export function resolveTarget(project: Project, name?: string, overrides?: (chosen: string) => TargetOverrides): Target {
  const names = targetNames(project);
  let chosen = name;
  if (chosen === undefined) {
    if (names.length !== 1) {
      throw new InputError(`${project.manifestFile} has ${names.length} targets (${names.join(', ')}): name one`);
    }
    chosen = names[0]!;
  }
  const own = project.manifest.targets[chosen];
  if (!own) {
    throw new InputError(`no target "${chosen}" in ${project.manifestFile} (targets: ${names.join(', ')})`);
  }
  const manifestName = path.basename(project.manifestFile);
  const extra = overrides?.(chosen) ?? { defaults: [], target: [] };
  const sources: SettingsSource[] = [
    { origin: `${manifestName}: defaults`, settings: project.manifest.defaults ?? {} },
    ...extra.defaults,
    { origin: `${manifestName}: targets.${chosen}`, settings: own },
    ...extra.target,
  ];
  const manifestOrigins = new Set([sources[0]!.origin, `${manifestName}: targets.${chosen}`]);
  const { merged, origins } = mergeSources(sources);
  const where = `${project.manifestFile}: targets.${chosen}`;
  if (!merged.image) throw new InputError(`${where}.image: expected the image recipe to build (e.g. core-image-base), found nothing`);
  if (!merged.machine) throw new InputError(`${where}.machine: expected a MACHINE (e.g. raspberrypi4-64), found nothing`);
  const target: Target = {
    name: chosen,
    image: merged.image,
    machine: merged.machine,
    distro: merged.distro ?? DEFAULT_DISTRO,
    initManager: merged.init_manager,
    distroFeatures: merged.distro_features ?? [],
    imageFeatures: merged.image_features ?? [],
    packages: merged.packages ?? [],
    groups: merged.groups ?? [],
    users: merged.users ?? [],
    licenseFlagsAccepted: merged.license_flags_accepted ?? [],
    imageFstypes: merged.image_fstypes ?? [],
    layers: merged.layers,
    variables: merged.variables!,
    localConf: merged.local_conf,
    bblayersConf: merged.bblayers_conf,
    confLayout: merged.conf_layout ?? 'yoctoforge',
    settings: merged,
    origins,
    overridden: Object.entries(origins)
      .filter(([, origin]) => !manifestOrigins.has(origin))
      .map(([setting, origin]) => ({
        setting,
        value: setting.startsWith('variables.')
          ? merged.variables![setting.slice('variables.'.length)]
          : merged[setting as keyof TargetSettings],
        origin,
      })),
  };
  checkAccounts(target, where);
  return target;
}

/** Later sources replace a setting whole (lists too, as kas merges files), except variables: merged name by name. */
function mergeSources(sources: SettingsSource[]): { merged: TargetSettings; origins: Record<string, string> } {
  const merged: Record<string, unknown> = {};
  const variables: Record<string, string> = {};
  const origins: Record<string, string> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source.settings)) {
      if (value === undefined) continue;
      if (key === 'variables') {
        for (const [name, text] of Object.entries(value as Record<string, string>)) {
          variables[name] = text;
          origins[`variables.${name}`] = source.origin;
        }
        continue;
      }
      merged[key] = value;
      origins[key] = source.origin;
    }
  }
  return { merged: { ...(merged as TargetSettings), variables }, origins };
}

function checkAccounts(target: Target, where: string): void {
  const groups = new Set(target.groups.map((g) => g.name));
  const users = new Set(target.users.map((u) => u.name));
  const builtinGroups = new Set([
    'root',
    'sudo',
    'wheel',
    'users',
    'video',
    'audio',
    'dialout',
    'input',
    'plugdev',
    'netdev',
    'disk',
    'adm',
    'tty',
    'kmem',
    'render',
  ]);
  for (const user of target.users) {
    for (const group of user.groups ?? []) {
      if (!groups.has(group) && !builtinGroups.has(group)) {
        throw new InputError(
          `${where}.users: user "${user.name}" is put in group "${group}", which is neither declared under groups nor a standard group`,
        );
      }
    }
  }
  for (const group of target.groups) {
    for (const member of group.members ?? []) {
      if (member !== 'root' && !users.has(member)) {
        throw new InputError(
          `${where}.groups: group "${group.name}" lists member "${member}", who is neither root nor declared under users`,
        );
      }
    }
  }
}
