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
}

export const DEFAULT_DISTRO = 'poky';

export function targetNames(project: Project): string[] {
  return Object.keys(project.manifest.targets);
}

export function resolveTarget(project: Project, name?: string): Target {
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
  const defaults = project.manifest.defaults ?? {};
  // defaults' variables are merged key by key, so a target can add one without repeating all
  const merged: TargetSettings = { ...defaults, ...own, variables: { ...(defaults.variables ?? {}), ...(own.variables ?? {}) } };
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
  };
  checkAccounts(target, where);
  return target;
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
