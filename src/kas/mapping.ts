import path from 'node:path';
import { InputError } from '../errors.js';
import { distroName, machineName, recipeName } from '../manifest/conf-values.js';
import { commitId, commitPin, MANIFEST_VERSION, type Manifest, type RepoSpec, type TargetSettings } from '../manifest/schema.js';
import { KAS_STANDARD_ENTRY } from '../conf/lines.js';
import { isMap, KAS_DISABLED_LAYER_VALUES, type KasMap } from './common.js';
import { mapBblayersConf, mapLocalConf } from './conf-header.js';

/* A merged kas configuration mapped onto manifest keys, with what does not carry over. */

export interface KasImportOptions {
  /** name of the target in layers.yaml (default: "kas") */
  targetName?: string;
  /** the repository holding the top kas file (its git work tree): what repos without url are */
  baseDir?: string;
  /** the folder layers.yaml goes to: a repo without url inside it becomes a local repo (`path:`) */
  projectDir?: string;
  /** `FILE:LINE` of a key path, for messages (KasSource.origin) */
  origin?: (keyPath: readonly string[]) => string;
}

export interface KasImport {
  manifest: Manifest;
  /** kas settings that layers.yaml does not carry, one line each */
  notCarried: string[];
}

const KNOWN_TOP_KEYS = new Set([
  'header',
  'build_system',
  'defaults',
  'overrides',
  'machine',
  'distro',
  'target',
  'repos',
  'local_conf_header',
  'bblayers_conf_header',
]);

/** Translates a merged kas configuration into a yoctoforge manifest. Pure. */
export function kasToManifest(config: KasMap, options: KasImportOptions = {}): KasImport {
  const notCarried: string[] = [];
  const fail = (keyPath: string[], message: string): InputError =>
    new InputError(`${options.origin ? `${options.origin(keyPath)}: ` : ''}${keyPath.join('.')}: ${message}`);
  // a yoctoforge export carries the fixed lines of yoctoforge's own layout: it comes back as that layout
  const localHeader = isMap(config.local_conf_header) ? config.local_conf_header : {};
  const layout = Object.hasOwn(localHeader, KAS_STANDARD_ENTRY) ? 'yoctoforge' : 'kas';
  for (const [entry, value] of Object.entries({
    ...localHeader,
    ...(isMap(config.bblayers_conf_header) ? config.bblayers_conf_header : {}),
  })) {
    if (value !== null && typeof value !== 'string') {
      const where = Object.hasOwn(localHeader, entry) ? 'local_conf_header' : 'bblayers_conf_header';
      throw fail(
        [where, entry],
        `expected conf text (a string), found ${Array.isArray(value) ? 'a list' : typeof value}; kas refuses it too`,
      );
    }
  }

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
    if (key === 'patches') notCarried.push('defaults.repos.patches: yoctoforge lists patches per repo (repos.NAME.patches)');
    else if (!['branch', 'tag', 'refspec'].includes(key)) notCarried.push(`defaults.repos.${key}: unknown to yoctoforge`);
  }
  const overrides = isMap(config.overrides) && isMap(config.overrides.repos) ? config.overrides.repos : {};
  for (const key of Object.keys(isMap(config.overrides) ? config.overrides : {}))
    if (key !== 'repos') notCarried.push(`overrides.${key}: unknown to yoctoforge`);

  const kasRepos = isMap(config.repos) ? config.repos : {};
  const repos: Record<string, RepoSpec> = {};
  /** per repo: its sub-layers and which of them kas puts in bblayers.conf */
  const layerUse: Array<{ repo: string; subs: string[]; enabled: string[] }> = [];
  // kas: a repo without url is a folder used as it is; inside the project it is a local repo
  const localDir = (r: KasMap): string | undefined => {
    if (r.url !== undefined) return undefined;
    const dir = typeof r.path === 'string' ? path.resolve(options.baseDir ?? '.', r.path) : path.resolve(options.baseDir ?? '.');
    if (options.projectDir === undefined) return undefined;
    const rel = path.relative(path.resolve(options.projectDir), dir);
    return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : rel.split(path.sep).join('/') || '.';
  };
  for (const [name, raw] of Object.entries(kasRepos)) {
    const where = `repos.${name}`;
    const r: KasMap = isMap(raw) ? raw : {};
    for (const key of Object.keys(r)) {
      if (key === 'patches') continue;
      else if (key === 'path') {
        if (r.url !== undefined) notCarried.push(`${where}.path: checkouts go to layers_dir/${name}`);
      } else if (key === 'name') notCarried.push(`${where}.name: checkouts are named after the repo key (${name})`);
      else if (key === 'signed') {
        if (r.signed === true) notCarried.push(`${where}.signed: yoctoforge does not verify commit signatures`);
      } else if (key === 'allowed_signers') continue;
      else if (key === 'type' && r.type !== 'git')
        notCarried.push(`${where}.type: ${String(r.type)}: yoctoforge syncs git repositories only`);
      else if (!['url', 'type', 'commit', 'branch', 'tag', 'refspec', 'layers'].includes(key))
        notCarried.push(`${where}.${key}: unknown to yoctoforge`);
    }
    const ref = repoRef(r, repoDefaults, isMap(overrides[name]) ? overrides[name] : {}, where, notCarried, (key, message) =>
      fail(['repos', name, ...(key ? [key] : [])], message),
    );
    const inProject = localDir(r);
    let url = ref.url;
    if (url === undefined && inProject !== undefined) {
      repos[name] = { path: inProject };
    } else if (url === undefined) {
      const dir = typeof r.path === 'string' ? path.resolve(options.baseDir ?? '.', r.path) : path.resolve(options.baseDir ?? '.');
      url = dir;
      notCarried.push(
        `${where}: no url: kas uses the folder ${dir} as it is (uncommitted changes too); yoctoforge clones its committed state`,
      );
    }
    // kas does no version control operation on a repository without url: it takes the folder as it is
    const spec: RepoSpec = repos[name] ?? { url, ...(ref.url === undefined ? {} : ref.ref) };
    const patches = kasPatches(name, r.patches, (repo) => (isMap(kasRepos[repo]) ? localDir(kasRepos[repo]) : undefined), notCarried);
    if (patches.length > 0 && spec.url !== undefined) spec.patches = patches;
    else if (patches.length > 0) notCarried.push(`${where}.patches: a local repo is used as it is; its patches are not applied`);

    const layers = r.layers;
    let subs = ['.'];
    let enabled = ['.'];
    if (isMap(layers) && Object.keys(layers).length === 0) {
      // kas's `layers: {}`: a repository with no layer (bitbake beside openembedded-core)
      subs = [];
      enabled = [];
    } else if (isMap(layers)) {
      subs = [];
      enabled = [];
      for (const [layer, value] of Object.entries(layers)) {
        const sub = layer === '' ? '.' : layer.replace(/\/+$/, '');
        subs.push(sub);
        if (isMap(value))
          notCarried.push(
            `${where}.layers.${layer}: layer properties (prio) are not carried; yoctoforge orders layers by their dependencies`,
          );
        if (value !== null && value !== undefined && !isMap(value) && KAS_DISABLED_LAYER_VALUES.includes(String(value).toLowerCase()))
          continue;
        enabled.push(sub);
      }
    }
    if (!(subs.length === 1 && subs[0] === '.')) spec.layers = subs;
    if (layers !== undefined && layers !== null && !isMap(layers))
      throw fail(['repos', name, 'layers'], 'expected a mapping of layer folders; kas refuses it too');
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
  // kas's defaults (libcmds.py, config.py): core-image-minimal, MACHINE ??= "qemux86-64", DISTRO ??= "nodistro"
  const targetValue = config.target ?? 'core-image-minimal';
  let images = Array.isArray(targetValue) ? targetValue.map(String) : [String(targetValue)];
  if (Array.isArray(targetValue) && targetValue.length === 0) {
    notCarried.push(
      'target: [] (kas runs bitbake without a target); yoctoforge needs an image and builds core-image-minimal: change targets.*.image',
    );
    images = ['core-image-minimal'];
  }
  const mc = images.filter((i) => i.startsWith('mc:') || i.startsWith('multiconfig:'));
  if (mc.length > 0) notCarried.push(`target: multiconfig targets (${mc.join(', ')}) are not supported`);
  images = images.filter((i) => !mc.includes(i));
  if (images.length === 0) throw fail(['target'], 'no image to build left (only multiconfig targets)');
  for (const image of images) {
    if (!recipeName.safeParse(image).success) throw fail(['target'], `"${image}" is not a recipe name yoctoforge accepts`);
  }
  const machine = String(config.machine ?? 'qemux86-64');
  if (!machineName.safeParse(machine).success) throw fail(['machine'], `"${machine}" is not a machine name yoctoforge accepts`);
  settings.machine = machine;
  const distro = config.distro === null || config.distro === undefined ? 'nodistro' : String(config.distro);
  if (distro !== '' && !distroName.safeParse(distro).success) throw fail(['distro'], `"${distro}" is not a distro name yoctoforge accepts`);
  settings.distro = distro;
  if (layout === 'kas') settings.conf_layout = 'kas';

  const total = layerUse.reduce((n, l) => n + l.subs.length, 0);
  const used = layerUse.reduce((n, l) => n + l.enabled.length, 0);
  if (used < total) {
    settings.layers = layerUse.flatMap((l) =>
      l.enabled.length === l.subs.length ? [l.repo] : l.enabled.map((s) => (s === '.' ? l.repo : `${l.repo}/${s}`)),
    );
  }

  Object.assign(settings, mapLocalConf(localHeader, layout));
  const bblayers = mapBblayersConf(isMap(config.bblayers_conf_header) ? config.bblayers_conf_header : {}, layout);
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

/**
 * A repo's ref as kas resolves it (repos.py, Repo.factory): tag, branch and refspec default from
 * defaults.repos (null removes a default), commit never does; refspec excludes commit, tag and
 * branch; overrides (a lock file's commit, or commit: null to follow the branch head, branch,
 * url) apply unless the repo uses refspec, where an override commit replaces the refspec.
 */
function repoRef(
  r: KasMap,
  defaults: KasMap,
  override: KasMap,
  where: string,
  notCarried: string[],
  fail: (key: string | undefined, message: string) => InputError,
): { url?: string; ref: Pick<RepoSpec, 'branch' | 'tag' | 'commit'> } {
  const own = (k: string): unknown => (Object.hasOwn(r, k) ? r[k] : defaults[k]);
  const str = (v: unknown, key: string): string | undefined => {
    if (v === null || v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw fail(key, `expected a string, found ${JSON.stringify(v)}`);
  };
  let url = str(r.url, 'url');
  let commit = str(r.commit, 'commit');
  let tag = str(own('tag'), 'tag');
  let branch = str(own('branch'), 'branch');
  let refspec = str(own('refspec'), 'refspec');
  if (commit === undefined && tag === undefined && branch === undefined && refspec === undefined && url !== undefined) {
    throw fail(undefined, 'no commit, tag or branch (kas allows that only for a repository without url)');
  }
  if (refspec === undefined) {
    if (Object.hasOwn(override, 'commit')) commit = str(override.commit, 'commit');
    if (Object.hasOwn(override, 'branch')) branch = str(override.branch, 'branch');
    if (Object.hasOwn(override, 'url')) url = str(override.url, 'url');
  } else {
    if (commit !== undefined || tag !== undefined || branch !== undefined)
      throw fail('refspec', 'refspec together with commit, tag or branch (kas refuses the mixture)');
    if (Object.hasOwn(override, 'commit')) refspec = str(override.commit, 'commit') ?? refspec;
    if (commitId.safeParse(refspec).success) commit = refspec;
    else if (refspec.startsWith('refs/tags/')) tag = refspec;
    else branch = refspec;
  }
  if (tag !== undefined && branch !== undefined) throw fail('tag', `both tag "${tag}" and branch "${branch}" (kas refuses them together)`);
  const out: Pick<RepoSpec, 'branch' | 'tag' | 'commit'> = {};
  // kas accepts full ref names (refs/heads/X, refs/tags/X)
  if (branch !== undefined) out.branch = branch.replace(/^refs\/heads\//, '');
  if (tag !== undefined) out.tag = tag.replace(/^refs\/tags\//, '');
  if (commit !== undefined) {
    // an abbreviated id is kept: sync resolves it in the clone (kas: in its clone) and locks the full id
    if (commitPin.safeParse(commit).success) out.commit = commit;
    else throw fail('commit', `"${commit}" is not a commit id`);
  }
  return { url, ref: out };
}

/**
 * kas `patches: {ID: {repo, path}}` (applied in ID order) as project paths: carried when the
 * repo holding them is a folder of the project, listed as not carried otherwise.
 */
function kasPatches(name: string, raw: unknown, localDirOf: (repo: string) => string | undefined, notCarried: string[]): string[] {
  if (!isMap(raw)) return [];
  const where = `repos.${name}.patches`;
  const out: string[] = [];
  for (const id of Object.keys(raw).sort()) {
    const entry = raw[id];
    if (entry === null) continue;
    if (!isMap(entry) || typeof entry.path !== 'string') {
      notCarried.push(`${where}: ${id} is not a {repo, path} entry`);
      continue;
    }
    // kas: without `repo`, the path is in the patched repo itself
    const holder = typeof entry.repo === 'string' ? entry.repo : name;
    const dir = localDirOf(holder);
    if (dir === undefined) {
      notCarried.push(
        `${where}: ${id} (${entry.path} in repo ${holder}) is not a file of the project (copy it into the project and list it under patches:)`,
      );
      continue;
    }
    const file = path.posix.normalize(path.posix.join(dir, entry.path));
    if (file.startsWith('../') || path.posix.isAbsolute(file)) notCarried.push(`${where}: ${id} (${entry.path}) lies outside the project`);
    else out.push(file);
  }
  return out;
}
