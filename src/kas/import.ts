import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { InputError } from '../errors.js';
import { isExtraUsersClassLine, isExtraUsersParamsLine, parseExtraUsers } from '../conf/extra-users.js';
import { FIXED_LOCAL_CONF_LINES, kasEntryOf, readSetting } from '../conf/lines.js';
import { distroName, machineName, plainValue, recipeName, variableName } from '../manifest/conf-values.js';
import { parseManifest, type Project } from '../manifest/load.js';
import { commitId, MANIFEST_VERSION, type GroupSpec, type Manifest, type RepoSpec, type TargetSettings, type UserSpec } from '../manifest/schema.js';
import { resolveTarget } from '../manifest/target.js';
import {
  BBLAYERS_CONF_KEYS,
  KAS_DISABLED_LAYER_VALUES,
  KAS_LATEST_FORMAT,
  RAW_LOCAL_CONF_ENTRY,
  STANDARD_BBLAYERS_CONF_LINES,
} from './common.js';

type KasMap = Record<string, unknown>;

export interface KasSource {
  /** files in kas merge order: includes before includers, lock files after their file */
  files: string[];
  /** the merged configuration */
  config: KasMap;
  /** includes that could not be followed */
  notCarried: string[];
}

export interface KasFileReader {
  read(file: string): string;
  exists(file: string): boolean;
}

const fsReader: KasFileReader = {
  read: (file) => readFileSync(file, 'utf8'),
  exists: (file) => existsSync(file),
};

/**
 * Reads kas files and their `header.includes` and merges them as kas does: depth first, an
 * included file before its includer, later top files over earlier ones, mappings deep-merged.
 * String includes are repository-relative (format 11+) with kas' fallback to file-relative;
 * `{repo:, file:}` includes name a repository kas would clone first, so they are reported.
 */
export function loadKasFiles(files: string[], reader: KasFileReader = fsReader): KasSource {
  if (files.length === 0) throw new InputError('import kas: name at least one kas file');
  const first = path.resolve(files[0]!);
  const topRepo = repoRoot(path.dirname(first), reader);
  const order: string[] = [];
  const configs: KasMap[] = [];
  const notCarried: string[] = [];

  const load = (file: string, stack: string[], includedFrom?: string): void => {
    if (stack.includes(file)) {
      throw new InputError(`kas include cycle: ${[...stack, file].map((f) => path.relative(process.cwd(), f) || f).join(' → ')}`);
    }
    if (!reader.exists(file)) {
      throw new InputError(`kas file not found: ${file}${includedFrom ? ` (included from ${includedFrom})` : ''}`);
    }
    const config = parseKasYaml(file, reader.read(file));
    const header = config.header;
    if (!isMap(header) || header.version === undefined) throw new InputError(`${file}: not a kas file (no header.version)`);
    const version = header.version === '0.10' ? 1 : header.version;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new InputError(`${file}: header.version: expected a kas format version (an integer), found ${JSON.stringify(header.version)}`);
    }
    if (version > KAS_LATEST_FORMAT) notCarried.push(`${path.basename(file)}: header.version ${version} is newer than the newest format yoctoforge knows (${KAS_LATEST_FORMAT}); features added since are not recognised`);
    const includes = header.includes ?? [];
    if (!Array.isArray(includes)) throw new InputError(`${file}: header.includes: expected a list`);
    for (const include of includes) {
      if (typeof include === 'string') {
        const repoRelative = path.resolve(topRepo, include);
        const fileRelative = path.resolve(path.dirname(file), include);
        const chosen = reader.exists(repoRelative) ? repoRelative : reader.exists(fileRelative) ? fileRelative : repoRelative;
        load(chosen, [...stack, file], file);
      } else if (isMap(include) && typeof include.repo === 'string') {
        notCarried.push(`${path.basename(file)}: header.includes {repo: ${include.repo}, file: ${String(include.file)}}: includes from another repository are not followed (kas clones it first); merge that file by hand or name it on the command line`);
      } else {
        throw new InputError(`${file}: header.includes: expected a path or {repo:, file:}, found ${JSON.stringify(include)}`);
      }
    }
    order.push(file);
    configs.push({ ...config, header: { ...header, version } });
    // kas 4.3+ reads FILE.lock.yml (written by `kas lock`) right after FILE
    const ext = path.extname(file);
    const lockFile = path.join(path.dirname(file), `${path.basename(file, ext)}.lock${ext}`);
    if (!file.endsWith(`.lock${ext}`) && reader.exists(lockFile)) {
      order.push(lockFile);
      configs.push(parseKasYaml(lockFile, reader.read(lockFile)));
    }
  };
  for (const file of files) load(path.resolve(file), []);

  const merged = configs.reduce<KasMap>((acc, c) => deepMerge(acc, c), {});
  const versions = configs.map((c) => (isMap(c.header) && typeof c.header.version === 'number' ? c.header.version : 1));
  merged.header = { version: Math.max(...versions) };
  return { files: order, config: merged, notCarried };
}

function parseKasYaml(file: string, text: string): KasMap {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new InputError(`${file}:${pos.line}:${pos.col}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS();
  if (!isMap(data)) throw new InputError(`${file}: not a kas file (expected a mapping at the top level)`);
  return data;
}

/** kas' top repository: the git work tree holding the first file, else its directory. */
function repoRoot(dir: string, reader: KasFileReader): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (reader.exists(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

function isMap(v: unknown): v is KasMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** kas' merge: mappings merge key by key, anything else is replaced. */
export function deepMerge(dest: KasMap, upd: KasMap): KasMap {
  const out: KasMap = { ...dest };
  for (const [k, v] of Object.entries(upd)) {
    const d = out[k];
    out[k] = isMap(d) && isMap(v) ? deepMerge(d, v) : v;
  }
  return out;
}

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

/* ---- local_conf_header ---- */

interface LogicalLine {
  text: string;
}

/** Splits conf text into logical lines (a trailing backslash continues a line). */
function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let current: string[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    current.push(line);
    if (!line.endsWith('\\')) {
      out.push({ text: current.join('\n') });
      current = [];
    }
  }
  if (current.length > 0) out.push({ text: current.join('\n') });
  return out;
}

type Item =
  | { kind: 'raw'; text: string }
  | { kind: 'var'; name: string; value: string; text: string; own: boolean }
  | { kind: 'extrausers-class'; text: string }
  | { kind: 'users'; text: string; groups: GroupSpec[]; users: UserSpec[] };

/**
 * Maps local_conf_header lines back to structured target keys where the line means exactly
 * what yoctoforge would write for that key; every other line is kept, in order, in local_conf
 * under a `# kas local_conf_header: KEY` label. The entry an export writes for local_conf comes
 * back verbatim.
 */
export function mapLocalConf(header: KasMap): Partial<TargetSettings> {
  const out: Partial<TargetSettings> = {};
  const chunks: Array<{ key: string; items: Item[] }> = [];
  let ownLocalConf: string | undefined;
  for (const key of Object.keys(header).sort()) {
    const value = header[key];
    const text = value === null || value === undefined ? '' : String(value);
    if (key === RAW_LOCAL_CONF_ENTRY) {
      ownLocalConf = text;
      continue;
    }
    const items: Item[] = [];
    for (const { text: line } of logicalLines(text)) {
      const trimmed = line.trim();
      if (FIXED_LOCAL_CONF_LINES.includes(trimmed)) continue;
      const setting = readSetting(trimmed, out);
      if (setting) {
        Object.assign(out, setting);
        continue;
      }
      if (isExtraUsersClassLine(trimmed)) {
        items.push({ kind: 'extrausers-class', text: line });
        continue;
      }
      if (isExtraUsersParamsLine(trimmed)) {
        const parsed = parseExtraUsers(trimmed);
        items.push(parsed ? { kind: 'users', text: line, ...parsed } : { kind: 'raw', text: line });
        continue;
      }
      let m: RegExpMatchArray | null;
      if ((m = /^([A-Z_][A-Za-z0-9_-]*(?::[a-z0-9_-]+)*)\s*=\s*"([^"]*)"$/.exec(trimmed)) && variableName.safeParse(m[1]).success && plainValue.safeParse(m[2]).success) {
        items.push({ kind: 'var', name: m[1]!, value: m[2]!, text: line, own: key === kasEntryOf('variables') });
        continue;
      }
      items.push({ kind: 'raw', text: line });
    }
    chunks.push({ key, items });
  }

  // users: the last EXTRA_USERS_PARAMS assignment wins, as in BitBake; it needs the extrausers class
  const all = chunks.flatMap((c) => c.items);
  const userItems = all.filter((i): i is Extract<Item, { kind: 'users' }> => i.kind === 'users');
  const hasClass = all.some((i) => i.kind === 'extrausers-class');
  const lastUsers = userItems.at(-1);
  if (lastUsers && hasClass) {
    if (lastUsers.groups.length > 0) out.groups = lastUsers.groups;
    if (lastUsers.users.length > 0) out.users = lastUsers.users;
  }
  // a plain assignment from another entry moves to variables only when nothing else touches it
  const rawTexts = all.filter((i) => i.kind === 'raw').map((i) => i.text);
  const varCount = new Map<string, number>();
  for (const i of all) if (i.kind === 'var') varCount.set(i.name, (varCount.get(i.name) ?? 0) + 1);
  const variables: Record<string, string> = {};
  const rawChunks: string[] = [];
  for (const chunk of chunks) {
    const lines: string[] = [];
    for (const item of chunk.items) {
      if (item.kind === 'var') {
        const base = item.name.split(':')[0]!;
        if (item.own || (varCount.get(item.name) === 1 && !rawTexts.some((t) => t.includes(base)))) {
          variables[item.name] = item.value;
          continue;
        }
      }
      if (item.kind === 'users' && item === lastUsers && hasClass) continue;
      if (item.kind === 'extrausers-class' && lastUsers && hasClass) continue;
      lines.push(item.text);
    }
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    if (lines.length > 0) rawChunks.push(`# kas local_conf_header: ${chunk.key}\n${lines.join('\n')}\n`);
  }
  if (Object.keys(variables).length > 0) out.variables = variables;
  // an export's own local_conf entry comes back verbatim; labelled leftovers go before it
  const parts = [...rawChunks, ...(ownLocalConf !== undefined ? [ownLocalConf] : [])];
  if (parts.length > 0) out.local_conf = parts.join('\n');
  return out;
}

/** bblayers_conf_header: lines yoctoforge writes itself are dropped, the rest kept (labelled). */
export function mapBblayersConf(header: KasMap): string | undefined {
  const parts: string[] = [];
  let own: string | undefined;
  for (const key of Object.keys(header).sort()) {
    const text = header[key] === null || header[key] === undefined ? '' : String(header[key]);
    if (key === BBLAYERS_CONF_KEYS.bblayersConf) {
      own = text;
      continue;
    }
    const lines = logicalLines(text)
      .map((l) => l.text)
      .filter((l) => !STANDARD_BBLAYERS_CONF_LINES.includes(l.trim()) && !['BBPATH ?= "${TOPDIR}"', 'BBFILES ??= ""'].includes(l.trim()));
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    if (lines.length > 0) parts.push(`# kas bblayers_conf_header: ${key}\n${lines.join('\n')}\n`);
  }
  const all = [...parts, ...(own !== undefined ? [own] : [])];
  return all.length > 0 ? all.join('\n') : undefined;
}

/* ---- layers.yaml ---- */

/** The layers.yaml text of an imported manifest, with where it came from. */
export function renderManifest(manifest: Manifest, sources: string[], notCarried: string[]): string {
  const head = [
    '# Imported from kas by `yoctoforge import kas`:',
    ...sources.map((s) => `#   ${s}`),
    ...(notCarried.length > 0 ? ['# Not carried over:', ...notCarried.map((n) => `#   - ${n.replace(/\n/g, ' ')}`)] : []),
  ];
  return `${head.join('\n')}\n${stringify(manifest, { lineWidth: 0 })}`;
}

export interface ImportResult extends KasImport {
  text: string;
  files: string[];
}

/**
 * kas files → layers.yaml text, checked with the manifest schema and the target resolver
 * (so an import never writes a manifest that `yoctoforge` would then refuse).
 */
export function importKas(files: string[], options: KasImportOptions & { outFile?: string } = {}, reader: KasFileReader = fsReader): ImportResult {
  const source = loadKasFiles(files, reader);
  const first = path.resolve(files[0]!);
  const targetName = options.targetName ?? defaultTargetName(first);
  const result = kasToManifest(source.config, { baseDir: path.dirname(first), ...options, targetName });
  const notCarried = [...source.notCarried, ...result.notCarried];
  const rel = (f: string): string => path.relative(path.dirname(path.resolve(options.outFile ?? 'layers.yaml')), f) || f;
  const text = renderManifest(result.manifest, source.files.map(rel), notCarried);
  const outFile = options.outFile ?? 'layers.yaml';
  const manifest = parseManifest(text, outFile);
  const project: Project = { dir: path.dirname(path.resolve(outFile)), manifestFile: path.resolve(outFile), manifest, manifestText: text };
  for (const name of Object.keys(manifest.targets)) resolveTarget(project, name);
  return { manifest, notCarried, text, files: source.files };
}

function defaultTargetName(file: string): string {
  const base = path.basename(file).replace(/\.(ya?ml|json)$/i, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return base || 'kas';
}
