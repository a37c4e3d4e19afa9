import path from 'node:path';
import { InputError } from '../errors.js';
import { distroName, machineName, recipeName } from '../manifest/conf-values.js';
import { commitId, MANIFEST_VERSION, type Manifest, type RepoSpec, type TargetSettings } from '../manifest/schema.js';
import { isMap, KAS_DISABLED_LAYER_VALUES, KAS_LATEST_FORMAT, type KasMap } from './common.js';
import { mapBblayersConf, mapLocalConf } from './conf-header.js';

/* A merged kas configuration mapped onto manifest keys, with what does not carry over. */

export interface KasImportOptions {
  /** name of the target in layers.yaml (default: "kas") */
  targetName?: string;
  /** directory of the top kas file: base of repos without url */
  baseDir?: string;
}

export interface KasImport {
  manifest: Manifest;
  /** kas settings that layers.yaml does not carry, one line each */
  notCarried: string[];
}

const KNOWN_TOP_KEYS = new Set(['header', 'build_system', 'defaults', 'overrides', 'machine', 'distro', 'target', 'repos', 'local_conf_header', 'bblayers_conf_header']);

/** Translates a merged kas configuration into a yoctoforge manifest. Pure. */
export function kasToManifest(config: KasMap, options: KasImportOptions = {}): KasImport {
  const notCarried: string[] = [];
  const version = isMap(config.header) && typeof config.header.version === 'number' ? config.header.version : KAS_LATEST_FORMAT;

  for (const key of Object.keys(config)) {
    if (KNOWN_TOP_KEYS.has(key)) continue;
    notCarried.push(`${key}: ${unsupportedTopKey(key, config[key])}`);
  }
  const buildSystem = config.build_system;
  if (buildSystem !== undefined && buildSystem !== 'oe' && buildSystem !== 'openembedded') {
    notCarried.push(`build_system: ${String(buildSystem)}: yoctoforge builds with OpenEmbedded (oe-init-build-env) only`);
  }

  // repos
  const defaults = isMap(config.defaults) ? config.defaults : {};
  const repoDefaults = isMap(defaults.repos) ? defaults.repos : {};
  for (const key of Object.keys(defaults)) if (key !== 'repos') notCarried.push(`defaults.${key}: unknown to yoctoforge`);
  for (const key of Object.keys(repoDefaults)) {
    if (key === 'patches') notCarried.push('defaults.repos.patches: yoctoforge applies no patches to layer repositories');
    else if (!['branch', 'tag', 'refspec'].includes(key)) notCarried.push(`defaults.repos.${key}: unknown to yoctoforge`);
  }
  const overrides = isMap(config.overrides) && isMap(config.overrides.repos) ? config.overrides.repos : {};
  for (const key of Object.keys(isMap(config.overrides) ? config.overrides : {})) if (key !== 'repos') notCarried.push(`overrides.${key}: unknown to yoctoforge`);

  const kasRepos = isMap(config.repos) ? config.repos : {};
  const repos: Record<string, RepoSpec> = {};
  /** per repo: its sub-layers and which of them kas puts in bblayers.conf */
  const layerUse: Array<{ repo: string; subs: string[]; enabled: string[] }> = [];
  for (const [name, raw] of Object.entries(kasRepos)) {
    const where = `repos.${name}`;
    const r: KasMap = isMap(raw) ? raw : {};
    for (const key of Object.keys(r)) {
      if (key === 'patches') notCarried.push(`${where}.patches: yoctoforge applies no patches to layer repositories`);
      else if (key === 'path') notCarried.push(`${where}.path: checkouts go to layers_dir/${name}`);
      else if (key === 'name') notCarried.push(`${where}.name: checkouts are named after the repo key (${name})`);
      else if (key === 'signed' || key === 'allowed_signers') notCarried.push(`${where}.${key}: yoctoforge does not verify commit signatures`);
      else if (key === 'type' && r.type !== 'git') notCarried.push(`${where}.type: ${String(r.type)}: yoctoforge syncs git repositories only`);
      else if (!['url', 'type', 'commit', 'branch', 'tag', 'refspec', 'layers'].includes(key)) notCarried.push(`${where}.${key}: unknown to yoctoforge`);
    }
    let url = typeof r.url === 'string' ? r.url : undefined;
    if (url === undefined) {
      const dir = typeof r.path === 'string' ? path.resolve(options.baseDir ?? '.', r.path) : path.resolve(options.baseDir ?? '.');
      url = dir;
      notCarried.push(`${where}: no url (a local, unversioned directory in kas); imported as url: ${dir}, which yoctoforge clones as a git repository`);
    }
    const spec: RepoSpec = { url };
    const ref = repoRef(r, repoDefaults, overrides[name], where, notCarried);
    Object.assign(spec, ref);

    const layers = r.layers;
    let subs = ['.'];
    let enabled = ['.'];
    if (isMap(layers) && Object.keys(layers).length > 0) {
      subs = [];
      enabled = [];
      for (const [layer, value] of Object.entries(layers)) {
        const sub = layer === '' ? '.' : layer.replace(/\/+$/, '');
        subs.push(sub);
        if (isMap(value)) notCarried.push(`${where}.layers.${layer}: layer properties (prio) are not carried; yoctoforge orders layers by their dependencies`);
        if (value !== null && value !== undefined && !isMap(value) && KAS_DISABLED_LAYER_VALUES.includes(String(value).toLowerCase())) continue;
        enabled.push(sub);
      }
    }
    if (!(subs.length === 1 && subs[0] === '.')) spec.layers = subs;
    repos[name] = spec;
    layerUse.push({ repo: name, subs, enabled });
  }
  for (const name of Object.keys(overrides)) if (!(name in kasRepos)) notCarried.push(`overrides.repos.${name}: no such repo`);

  // one release series when every repo follows the same branch
  const branches = new Set(Object.values(repos).map((r) => r.branch));
  let series: string | undefined;
  const onlyBranch = [...branches][0];
  if (branches.size === 1 && onlyBranch && /^[a-z][a-z0-9-]*$/.test(onlyBranch) && Object.values(repos).every((r) => !r.tag)) {
    series = onlyBranch;
    for (const r of Object.values(repos)) delete r.branch;
  }

  // the target
  const settings: TargetSettings = {};
  const targetValue = config.target ?? 'core-image-minimal';
  let images = Array.isArray(targetValue) ? targetValue.map(String) : [String(targetValue)];
  if (config.target === undefined) notCarried.push('target: not set; kas builds core-image-minimal, and so will yoctoforge');
  const mc = images.filter((i) => i.startsWith('mc:') || i.startsWith('multiconfig:'));
  if (mc.length > 0) notCarried.push(`target: multiconfig targets (${mc.join(', ')}) are not supported`);
  images = images.filter((i) => !mc.includes(i));
  if (images.length === 0) throw new InputError('target: no image to build left (only multiconfig targets)');
  for (const image of images) {
    if (!recipeName.safeParse(image).success) throw new InputError(`target: "${image}" is not a recipe name yoctoforge accepts`);
  }
  if (config.machine === undefined) notCarried.push('machine: not set; kas builds for qemux86-64, and so will yoctoforge');
  const machine = String(config.machine ?? 'qemux86-64');
  if (!machineName.safeParse(machine).success) throw new InputError(`machine: "${machine}" is not a machine name yoctoforge accepts`);
  settings.machine = machine;
  // kas format 22 switched the default distro from poky to nodistro
  const distro = String(config.distro ?? (version >= 22 ? 'nodistro' : 'poky'));
  if (config.distro === undefined) notCarried.push(`distro: not set; kas format ${version} means ${distro}, written explicitly`);
  if (!distroName.safeParse(distro).success) throw new InputError(`distro: "${distro}" is not a distro name yoctoforge accepts`);
  settings.distro = distro;

  const total = layerUse.reduce((n, l) => n + l.subs.length, 0);
  const used = layerUse.reduce((n, l) => n + l.enabled.length, 0);
  if (used < total) {
    settings.layers = layerUse.flatMap((l) =>
      l.enabled.length === l.subs.length ? [l.repo] : l.enabled.map((s) => (s === '.' ? l.repo : `${l.repo}/${s}`)),
    );
  }

  Object.assign(settings, mapLocalConf(isMap(config.local_conf_header) ? config.local_conf_header : {}));
  const bblayers = mapBblayersConf(isMap(config.bblayers_conf_header) ? config.bblayers_conf_header : {});
  if (bblayers !== undefined) settings.bblayers_conf = bblayers;

  const targetName = options.targetName ?? 'kas';
  const targets: Record<string, TargetSettings> = {};
  if (images.length === 1) targets[targetName] = { image: images[0], ...settings };
  else for (const image of images) targets[image] = { image, ...settings };

  const manifest: Manifest = { version: MANIFEST_VERSION, ...(series ? { series } : {}), repos, targets } as Manifest;
  return { manifest, notCarried };
}

function unsupportedTopKey(key: string, value: unknown): string {
  switch (key) {
    case 'env':
      return `environment variables for BitBake (${isMap(value) ? Object.keys(value).join(', ') : ''}) have no yoctoforge equivalent; set them with variables: or local_conf`;
    case 'task':
      return `bitbake task ${String(value)}: yoctoforge builds images (run other tasks in \`yoctoforge shell\`)`;
    case 'proxy_config':
      return 'proxies come from the environment of yoctoforge';
    case 'menu_configuration':
      return 'kas menu (Kconfig) selections are not carried';
    case 'artifacts':
      return 'expected build artifacts are not checked by yoctoforge';
    case 'signers':
      return 'repository signature verification is not supported';
    case 'buildtools':
      return 'buildtools tarballs are not used; yoctoforge builds in a container';
    case '_source_dir':
    case '_source_dir_host':
      return 'internal kas menu/container key, ignored';
    default:
      return 'unknown to yoctoforge';
  }
}

function repoRef(r: KasMap, defaults: KasMap, override: unknown, where: string, notCarried: string[]): Pick<RepoSpec, 'branch' | 'tag' | 'commit'> {
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(r, k);
  let commit = typeof r.commit === 'string' ? r.commit : undefined;
  // null removes a default (format 18+)
  let branch = has('branch') ? (r.branch ?? undefined) : defaults.branch;
  let tag = has('tag') ? (r.tag ?? undefined) : defaults.tag;
  const refspec = typeof r.refspec === 'string' ? r.refspec : !has('commit') && !has('branch') && !has('tag') && typeof defaults.refspec === 'string' ? defaults.refspec : undefined;
  if (isMap(override) && typeof override.commit === 'string') commit = override.commit;
  if (refspec !== undefined) {
    if (commitId.safeParse(refspec).success) commit = refspec;
    else if (refspec.startsWith('refs/tags/')) tag = refspec.slice('refs/tags/'.length);
    else if (refspec.startsWith('refs/heads/')) branch = refspec.slice('refs/heads/'.length);
    else branch = refspec;
  }
  const out: Pick<RepoSpec, 'branch' | 'tag' | 'commit'> = {};
  if (typeof branch === 'string') out.branch = branch;
  if (typeof tag === 'string') {
    if (out.branch) notCarried.push(`${where}: both branch and tag; the tag ${tag} is dropped`);
    else out.tag = tag;
  }
  if (commit !== undefined) {
    if (commitId.safeParse(commit).success) out.commit = commit;
    else notCarried.push(`${where}.commit: "${commit}" is not a full commit id; dropped`);
  }
  return out;
}
