// The kas differential harness: runs kas (5.4 from its source, 3.1 from Debian where the format
// allows) and yoctoforge's `import kas` + `sync` + `config` on the same kas files, and compares
// what each would build: the checked-out commits, the layers in bblayers.conf, and every
// variable (value, weak default or not, flags) of local.conf and bblayers.conf as BitBake's own
// conf parser evaluates them. Nothing reaches the network: every repository URL in a case is
// answered from a local mirror (YOCTOFORGE_KAS_MIRRORS) or from a small generated repository.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CORPUS = path.join(HERE, '..', 'corpus');
const CONF_VALUES = path.join(HERE, 'bitbake-conf-values.py');
import { CLI } from '../../helpers/git-fixtures.js';
/** Debian's interpreter: kas and BitBake run with Debian's python3 modules (python3-yaml, -git, ...). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface KasCase {
  /** corpus entry (a folder that stands for one repository) */
  entry: string;
  /** top files, relative to the entry, in kas's `a.yml:b.yml` order */
  files: string[];
  name: string;
}

/**
 * Every case of the corpus: an entry's `CASES` file lists them (one per line, `a.yml:b.yml` for
 * several top files); without it every .yml/.yaml at the entry's top level is one case.
 */
export function corpusCases(corpus = CORPUS): KasCase[] {
  const cases: KasCase[] = [];
  for (const entry of readdirSync(corpus).sort()) {
    const dir = path.join(corpus, entry);
    if (!statSync(dir).isDirectory()) continue;
    const listFile = path.join(dir, 'CASES');
    const lines = existsSync(listFile)
      ? readFileSync(listFile, 'utf8')
          .split('\n')
          .map((l) => l.replace(/#.*/, '').trim())
          .filter(Boolean)
      : readdirSync(dir)
          .filter((f) => /\.ya?ml$/.test(f) && !/\.lock\.ya?ml$/.test(f))
          .sort();
    for (const line of lines) cases.push({ entry, files: line.split(':'), name: `${entry}/${line}` });
  }
  return cases;
}

export interface Tools {
  /** kas 5.4 source tree (extracted from YOCTOFORGE_KAS_SRC at tag 5.4) */
  kasSource: string;
  /** BitBake's lib/ (from YOCTOFORGE_BITBAKE_SRC) */
  bitbakeLib: string;
  /** folder of OWNER+NAME/repo mirrors (YOCTOFORGE_KAS_MIRRORS), optional */
  mirrors?: string;
  /** Debian's kas 3.1, when installed */
  kas31?: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

function git(cwd: string, ...args: string[]): string {
  const r = run('git', args, { cwd, env: { ...process.env, ...FIXED_GIT_ENV } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} in ${cwd}: ${r.stderr}`);
  return r.stdout.trim();
}

const FIXED_GIT_ENV = {
  GIT_AUTHOR_NAME: 'kas fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.com',
  GIT_COMMITTER_NAME: 'kas fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.com',
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Extracts a tree of a git repository (`git archive`) into dir. */
function extract(repo: string, rev: string, dir: string, subdir?: string): void {
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('git', ['-C', repo, 'archive', '--format=tar', rev, ...(subdir ? [subdir] : [])], {
    maxBuffer: 512 * 1024 * 1024,
  });
  if (archive.status !== 0) throw new Error(`git archive ${rev} of ${repo}: ${archive.stderr}`);
  const tar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
}

/** The tools from the environment, or the reason they are missing. */
export function toolsFromEnv(work: string): Tools | string {
  const kasSrc = process.env.YOCTOFORGE_KAS_SRC;
  const bitbakeSrc = process.env.YOCTOFORGE_BITBAKE_SRC;
  if (!kasSrc) return 'set YOCTOFORGE_KAS_SRC to a git repository of kas (github.com/siemens/kas) that has the tag 5.4';
  if (!bitbakeSrc) return 'set YOCTOFORGE_BITBAKE_SRC to a git repository of BitBake (or of poky, which holds bitbake/)';
  const probe = run(PYTHON, ['-c', 'import yaml, distro, jsonschema, git']);
  if (probe.status !== 0)
    return `kas 5.4 needs python3-yaml, python3-distro, python3-jsonschema and python3-git (scripts/test-host-setup.sh): ${probe.stderr.trim().split('\n').pop()}`;
  const kasSource = path.join(work, 'kas-5.4');
  extract(kasSrc, '5.4', kasSource);
  const bitbakeTree = path.join(work, 'bitbake');
  const inPoky = run('git', ['-C', bitbakeSrc, 'cat-file', '-e', 'HEAD:bitbake/lib/bb/data_smart.py']).status === 0;
  extract(bitbakeSrc, 'HEAD', bitbakeTree, inPoky ? 'bitbake/lib' : 'lib');
  const mirrors = process.env.YOCTOFORGE_KAS_MIRRORS;
  const kas31 = run('kas', ['--version']);
  return {
    kasSource,
    bitbakeLib: path.join(bitbakeTree, inPoky ? 'bitbake/lib' : 'lib'),
    mirrors: mirrors && existsSync(mirrors) ? mirrors : undefined,
    kas31: kas31.status === 0 && /kas 3\.1\b/.test(kas31.stdout + kas31.stderr) ? 'kas' : undefined,
  };
}

/** OWNER+NAME of the public repository a URL names, for the mirror folder. */
export function mirrorKey(url: string): string | undefined {
  const m = /^(?:[a-z+]+:\/\/(?:[^@/]+@)?|git@)([^/:]+)[/:](.+?)(?:\.git)?\/?$/.exec(url);
  if (!m) return undefined;
  const host = m[1]!;
  const parts = m[2]!.replace(/^git\//, '').split('/');
  if (host === 'github.com' || host === 'gitlab.com') return parts.length >= 2 ? `${parts[0]}+${parts[1]}` : undefined;
  if (host === 'git.yoctoproject.org') return `yoctoproject+${parts[parts.length - 1]}`;
  if (host === 'git.openembedded.org') return `openembedded+${parts[parts.length - 1]}`;
  return undefined;
}

type YamlMap = Record<string, unknown>;
const isMap = (v: unknown): v is YamlMap => typeof v === 'object' && v !== null && !Array.isArray(v);

interface RepoUse {
  refs: { branches: Set<string>; tags: Set<string> };
  layers: Set<string>;
  commits: Set<string>;
}

/** What the entry's kas files ask of each URL (for generated repositories) and of the repos without URL. */
function scanEntry(dir: string): { urls: Map<string, RepoUse>; localLayers: Set<string>; signed: Set<string> } {
  const urls = new Map<string, RepoUse>();
  const localLayers = new Set<string>();
  const signed = new Set<string>();
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(d, e.name)] : [],
    );
  for (const file of walk(dir)) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'), { merge: true });
    } catch {
      continue;
    }
    if (!isMap(doc) || !isMap(doc.repos)) continue;
    const defaults = isMap(doc.defaults) && isMap(doc.defaults.repos) ? doc.defaults.repos : {};
    for (const [name, spec] of Object.entries(doc.repos)) {
      const repo = isMap(spec) ? spec : {};
      const layers = isMap(repo.layers) ? Object.keys(repo.layers) : [];
      if (repo.type === 'hg') continue;
      if (repo.signed === true) signed.add(name);
      if (typeof repo.url !== 'string') {
        if (repo.path === undefined) for (const l of layers.length > 0 ? layers : ['.']) localLayers.add(l);
        continue;
      }
      const use = urls.get(repo.url) ?? { refs: { branches: new Set(), tags: new Set() }, layers: new Set(), commits: new Set() };
      urls.set(repo.url, use);
      for (const l of layers) use.layers.add(l);
      const ref = (key: string): unknown => repo[key] ?? defaults[key];
      for (const key of ['branch', 'refspec', 'tag', 'commit']) {
        const v = ref(key);
        if (typeof v !== 'string') continue;
        if (/^[0-9a-f]{7,40}$/.test(v)) use.commits.add(v);
        else if (key === 'tag' || v.startsWith('refs/tags/')) use.refs.tags.add(v.replace(/^refs\/tags\//, ''));
        else use.refs.branches.add(v.replace(/^refs\/heads\//, ''));
      }
    }
  }
  return { urls, localLayers, signed };
}

const LAYER_CONF = (name: string) =>
  `BBPATH .= ":\${LAYERDIR}"\nBBFILE_COLLECTIONS += "${name}"\nBBFILE_PATTERN_${name} = "^\${LAYERDIR}/"\nLAYERSERIES_COMPAT_${name} = "scarthgap styhead walnascar whinlatter wrynose kirkstone"\n`;

/** A one-commit repository with the layers, branches and tags the kas files name. */
function generateRepo(dir: string, url: string, use: RepoUse): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, 'README'), `generated stand-in for ${url}\n`);
  const layers = use.layers.size > 0 ? [...use.layers] : ['.'];
  for (const layer of layers) {
    const name = layer === '.' ? path.basename(url).replace(/\.git$/, '') : layer;
    mkdirSync(path.join(dir, layer, 'conf'), { recursive: true });
    writeFileSync(path.join(dir, layer, 'conf', 'layer.conf'), LAYER_CONF(name.replace(/[^A-Za-z0-9-]/g, '-')));
  }
  // build systems kas recognises by their init script
  if (/\/isar(\.git)?$/.test(url)) writeFileSync(path.join(dir, 'isar-init-build-env'), '#!/bin/sh\ntrue\n', { mode: 0o755 });
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'fixture');
  const valid = (ref: string) => run('git', ['check-ref-format', ref]).status === 0;
  for (const b of use.refs.branches) if (b !== 'main' && valid(`refs/heads/${b}`)) git(dir, 'branch', b);
  for (const t of use.refs.tags) if (valid(`refs/tags/${t}`)) git(dir, 'tag', '-a', '-m', t, t);
  return git(dir, 'rev-parse', 'HEAD');
}

export interface Prepared {
  /** the case's repository (the entry, committed) */
  src: string;
  gitconfig: string;
  /** URLs answered by a generated repository instead of a mirror */
  generated: string[];
  /** files appended to kas's command line only */
  kasExtra: string[];
}

/**
 * The case's repository and the git config that points every URL at a local copy. Commit ids a
 * generated repository cannot have are replaced, in both tools' input alike, by its commit.
 */
export function prepareCase(c: KasCase, tools: Tools, work: string): Prepared {
  const src = path.join(work, 'src', c.entry);
  cpSync(path.join(CORPUS, c.entry), src, { recursive: true });
  const { urls, localLayers, signed } = scanEntry(src);
  for (const layer of localLayers) {
    const conf = path.join(src, layer, 'conf', 'layer.conf');
    if (!existsSync(conf)) {
      mkdirSync(path.dirname(conf), { recursive: true });
      writeFileSync(conf, LAYER_CONF(layer === '.' ? c.entry.replace(/[^A-Za-z0-9-]/g, '-') : path.basename(layer)));
    }
  }
  // Verifying signed repositories needs a keyserver: kas gets an extra file that turns it off
  // (yoctoforge does not verify signatures, and lists `signed` as not carried over).
  const kasExtra: string[] = [];
  if (signed.size > 0) {
    const file = path.join(src, 'kas-harness-unsigned.yml');
    writeFileSync(file, `header:\n  version: 19\nrepos:\n${[...signed].map((n) => `  ${n}:\n    signed: false\n`).join('')}`);
    kasExtra.push(path.relative(src, file));
  }
  const rules: string[] = [];
  const generated: string[] = [];
  const replacements = new Map<string, string>();
  for (const [url, use] of urls) {
    const key = mirrorKey(url);
    const mirror = key && tools.mirrors ? path.join(tools.mirrors, key, 'repo') : undefined;
    let target: string;
    if (mirror && existsSync(mirror)) {
      target = mirror;
    } else {
      target = path.join(work, 'generated', encodeURIComponent(url));
      if (!existsSync(target)) {
        const head = generateRepo(target, url, use);
        for (const commit of use.commits) replacements.set(commit, head);
      }
      generated.push(url);
    }
    rules.push(`[url "${target}"]\n\tinsteadOf = ${url}\n`);
  }
  writeFileSync(path.join(work, 'gitconfig'), `${rules.join('')}[safe]\n\tdirectory = *\n[advice]\n\tdetachedHead = false\n`);
  if (replacements.size > 0) {
    for (const file of readdirRecursive(src).filter((f) => /\.ya?ml$/.test(f))) {
      let text = readFileSync(file, 'utf8');
      for (const [from, to] of replacements) text = text.split(from).join(to);
      writeFileSync(file, text);
    }
  }
  git(src, 'init', '-q', '-b', 'main');
  git(src, 'add', '-A');
  git(src, 'commit', '-q', '-m', 'kas corpus entry');
  return { src, gitconfig: path.join(work, 'gitconfig'), generated, kasExtra };
}

function readdirRecursive(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.name === '.git' ? [] : e.isDirectory() ? readdirRecursive(path.join(d, e.name)) : [path.join(d, e.name)],
  );
}

export interface VarValue {
  value: string | null;
  weak: boolean;
  flags?: Record<string, string>;
}
export type ConfValues = Record<string, VarValue>;

export function confValues(tools: Tools, files: string[], topdir: string): ConfValues {
  const r = run(PYTHON, [CONF_VALUES, tools.bitbakeLib, topdir, ...files]);
  if (r.status !== 0) throw new Error(`BitBake could not parse ${files.join(' ')}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return JSON.parse(r.stdout) as ConfValues;
}

/** What one tool would build: commits by repo name, layers as ORIGIN:PATH-IN-REPO, conf variables. */
export interface Build {
  commits: Record<string, string>;
  layers: string[];
  localConf: ConfValues;
  bblayersConf: ConfValues;
  /** what the tool said */
  log: string;
  /** why BitBake could not start on this build (a layer without conf/layer.conf, a conf the tool refused to write) */
  unusable?: string;
  /** yoctoforge only: what its import listed as not carried over ([] when it said every setting was) */
  notCarried?: string[];
}

export type Outcome = { ok: true; build: Build } | { ok: false; error: string };

function layerIdentity(layerPath: string, src: string): string {
  const top = run('git', ['-C', layerPath, 'rev-parse', '--show-toplevel']).stdout.trim() || layerPath;
  const origin = run('git', ['-C', top, 'config', 'remote.origin.url']).stdout.trim();
  const rel = path.relative(top, layerPath) || '.';
  const repo = top === src || origin === src || origin === `${src}/` ? 'this' : origin || top;
  return `${repo}:${rel}`;
}

function layersOf(bblayers: ConfValues, src: string): string[] {
  const value = bblayers.BBLAYERS?.value ?? '';
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map((p) => layerIdentity(path.normalize(p), src))
    .sort();
}

function toolEnv(p: Prepared, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_GLOBAL: p.gitconfig,
    GITCONFIG_FILE: p.gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/** kas 5.4: `kas checkout` (writes the conf files), then `kas dump --resolve-refs` for the commits. */
export function runKas54(c: KasCase, p: Prepared, tools: Tools, work: string): Outcome {
  const kasWork = path.join(work, 'kas54');
  mkdirSync(kasWork, { recursive: true });
  const files = [...c.files, ...p.kasExtra].map((f) => path.join(p.src, f)).join(':');
  const kas = (...args: string[]) =>
    run(
      PYTHON,
      [
        '-c',
        `import sys; sys.path.insert(0, ${JSON.stringify(tools.kasSource)}); sys.argv[0] = 'kas'; from kas.kas import main; main()`,
        ...args,
        files,
      ],
      {
        cwd: p.src,
        env: toolEnv(p, { KAS_WORK_DIR: kasWork, KAS_BUILD_DIR: path.join(kasWork, 'build') }),
      },
    );
  const checkout = kas('checkout');
  if (checkout.status !== 0) return { ok: false, error: lastLines(checkout.stderr) };
  const dump = kas('dump', '--resolve-refs');
  if (dump.status !== 0) return { ok: false, error: lastLines(dump.stderr) };
  const dumped = parse(dump.stdout, { merge: true }) as YamlMap;
  const commits: Record<string, string> = {};
  for (const [name, spec] of Object.entries(isMap(dumped.repos) ? dumped.repos : {})) {
    if (!isMap(spec) || typeof spec.url !== 'string') continue;
    // a legacy refspec comes back resolved in place
    const commit =
      typeof spec.commit === 'string'
        ? spec.commit
        : typeof spec.refspec === 'string' && /^[0-9a-f]{40}$/.test(spec.refspec)
          ? spec.refspec
          : undefined;
    if (commit) commits[name] = commit;
  }
  return { ok: true, build: readBuild(tools, path.join(kasWork, 'build'), p.src, commits, checkout.stderr + dump.stderr) };
}

/** yoctoforge: `import kas` + `sync` + `config`. */
export function runYoctoforge(c: KasCase, p: Prepared, tools: Tools, work: string): Outcome {
  const project = path.join(work, 'yf');
  mkdirSync(project, { recursive: true });
  const env = toolEnv(p, { CI: 'true', YOCTOFORGE_CACHE_DIR: path.join(work, 'yf-cache') });
  let log = '';
  let unusable: string | undefined;
  let notCarried: string[] = [];
  const step = (args: string[]): { ok: true } | { ok: false; error: string } => {
    const r = run(process.execPath, [CLI, ...args], { cwd: project, env });
    log += r.stdout + r.stderr;
    if (args[0] === 'import' && r.status === 0) notCarried = notCarriedList(r.stdout);
    return r.status === 0 ? { ok: true } : { ok: false, error: `${args.slice(0, 2).join(' ')}: ${lastLines(r.stderr || r.stdout)}` };
  };
  for (const args of [['import', 'kas', ...c.files.map((f) => path.join(p.src, f)), '-o', path.join(project, 'layers.yaml')], ['sync']]) {
    const r = step(args);
    if (!r.ok) return r;
  }
  // kas builds every image of `target:` in one bitbake call with one conf; the import writes a
  // target per image: each one's conf is rendered and must be the same build
  const manifest = parse(readFileSync(path.join(project, 'layers.yaml'), 'utf8'), { uniqueKeys: false }) as YamlMap;
  const targets = Object.keys(isMap(manifest.targets) ? manifest.targets : {});
  for (const target of targets) {
    const r = step(targets.length > 1 ? ['config', target] : ['config']);
    if (!r.ok) unusable ??= r.error;
  }
  const lock = parse(readFileSync(path.join(project, 'layers.lock.yaml'), 'utf8')) as YamlMap;
  const commits: Record<string, string> = {};
  for (const [name, spec] of Object.entries(isMap(lock.repos) ? lock.repos : {})) {
    if (isMap(spec) && typeof spec.commit === 'string' && typeof spec.url === 'string' && spec.url !== p.src) commits[name] = spec.commit;
  }
  if (unusable) return { ok: true, build: { commits, layers: [], localConf: {}, bblayersConf: {}, log, unusable, notCarried } };
  const builds = readdirSync(path.join(project, 'build')).sort();
  if (builds.length !== targets.length)
    return { ok: false, error: `expected ${targets.length} build folder(s), found ${builds.join(', ')}` };
  const [first, ...others] = builds.map((b) => readBuild(tools, path.join(project, 'build', b), p.src, commits, log));
  for (const [i, other] of others.entries()) {
    const diffs = compareBuilds(first!, other);
    if (diffs.length > 0)
      return { ok: false, error: `targets ${builds[0]} and ${builds[i + 1]} of one kas file render different builds: ${diffs.join('; ')}` };
  }
  return { ok: true, build: { ...first!, notCarried } };
}

/** The items of `import kas`'s "not carried over from kas (N):" list; [] after "every kas setting was carried over". */
export function notCarriedList(importOutput: string): string[] {
  const lines = importOutput.split('\n');
  const start = lines.findIndex((l) => /^not carried over from kas \(\d+\):$/.test(l));
  if (start < 0) {
    if (!/^every kas setting was carried over$/m.test(importOutput))
      throw new Error(`import kas printed neither list nor "every kas setting was carried over":\n${importOutput}`);
    return [];
  }
  const items: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  - ')) break;
    items.push(line.slice(4));
  }
  return items;
}

/**
 * The difference's subject as the import would name it in its list: the variable, the repo, or
 * "layers". A refusal (the build is unusable) is not silent: the user saw the error.
 */
function subjectOf(diff: string): string | undefined {
  const m = /^(?:local\.conf|bblayers\.conf) (\S+):|^commit of (\S+):|^(layers):/.exec(diff);
  return m?.[1] ?? m?.[2] ?? m?.[3];
}

/** Differences in what is built that no item of the import's "not carried over" list names. */
export function unreportedDifferences(diffs: string[], notCarried: string[]): string[] {
  return diffs.filter((d) => {
    const subject = subjectOf(d);
    if (subject === undefined) return false;
    const named = new RegExp(`(^|[^A-Za-z0-9_])${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9_]|$)`);
    return !notCarried.some((item) => named.test(item) || (subject === 'layers' && /\blayers?\b/.test(item)));
  });
}

function readBuild(tools: Tools, buildDir: string, src: string, commits: Record<string, string>, log: string): Build {
  let bblayersConf: ConfValues;
  let localConf: ConfValues;
  try {
    bblayersConf = confValues(tools, [path.join(buildDir, 'conf', 'bblayers.conf')], buildDir);
    localConf = confValues(tools, [path.join(buildDir, 'conf', 'local.conf')], buildDir);
  } catch (error) {
    // a conf this BitBake refuses (isar-cip-core's `_append`, the override syntax BitBake dropped) is a build that cannot start
    return { commits, layers: [], localConf: {}, bblayersConf: {}, log, unusable: `BitBake would stop: ${(error as Error).message}` };
  }
  const noLayerConf = (bblayersConf.BBLAYERS?.value ?? '').split(/\s+/).filter((l) => l && !existsSync(path.join(l, 'conf', 'layer.conf')));
  const unusable =
    noLayerConf.length > 0
      ? `BitBake would stop: no conf/layer.conf in ${noLayerConf.map((l) => path.relative(buildDir, l)).join(', ')}`
      : undefined;
  return { commits, layers: layersOf(bblayersConf, src), localConf, bblayersConf, log, unusable };
}

function lastLines(text: string): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .slice(-2)
    .join(' | ')
    .slice(0, 400);
}

/**
 * Variables yoctoforge owns and kas takes from its environment or leaves to BitBake: where the
 * caches and the layers are (kas: DL_DIR/SSTATE_DIR from the environment, KAS_WORK_DIR). They
 * decide where files go, not what is built.
 */
export const TOOL_OWNED_VARIABLES = new Set([
  'DL_DIR',
  'SSTATE_DIR',
  'SSTATE_MIRRORS',
  'PREMIRRORS',
  'BB_GENERATE_MIRROR_TARBALLS',
  'BB_HASHSERVE_DB_DIR',
  'YOCTOFORGE_LAYERS_DIR',
  'YOCTOFORGE_LAYERS_FROM_TOPDIR',
  'YOCTOFORGE_PROJECT_DIR',
  'YOCTOFORGE_PROJECT_FROM_TOPDIR',
  'BBLAYERS',
  'TMPDIR',
  'PERSISTENT_DIR',
  'BB_SIGNATURE_HANDLER',
  'BB_HASHSERVE',
]);
/** Empty or unset is the same build for these (kas writes `BBMULTICONFIG ?= ""`). */
const EMPTY_IS_UNSET = new Set(['BBMULTICONFIG']);

function compareConf(what: string, kas: ConfValues, yfRaw: ConfValues, diffs: string[]): void {
  // a value that refers to a tool-owned variable (BB_DISKMON_DIRS names ${DL_DIR}) expands to the tool's path: compare the reference
  const owned = [...TOOL_OWNED_VARIABLES]
    .map((name) => [name, yfRaw[name]?.value] as const)
    .filter((e): e is readonly [string, string] => typeof e[1] === 'string' && e[1].startsWith('/'));
  const yf: ConfValues = Object.fromEntries(
    Object.entries(yfRaw).map(([name, v]) => [
      name,
      typeof v.value === 'string' ? { ...v, value: owned.reduce((text, [ref, path]) => text.split(path).join(`\${${ref}}`), v.value) } : v,
    ]),
  );
  const names = new Set([...Object.keys(kas), ...Object.keys(yf)]);
  for (const name of [...names].sort()) {
    if (TOOL_OWNED_VARIABLES.has(name)) continue;
    const a = kas[name];
    const b = yf[name];
    if (EMPTY_IS_UNSET.has(name) && !a?.value && !b?.value) continue;
    const show = (v: VarValue | undefined) =>
      v === undefined
        ? 'unset'
        : `${v.weak ? '??= ' : ''}${JSON.stringify(v.value)}${v.flags && Object.keys(v.flags).length ? ` ${JSON.stringify(v.flags)}` : ''}`;
    if (show(a) !== show(b)) diffs.push(`${what} ${name}: kas ${show(a)}, yoctoforge ${show(b)}`);
  }
}

/** What differs between the two builds (empty: the same build). */
export function compareBuilds(kas: Build, yf: Build): string[] {
  const diffs: string[] = [];
  for (const name of new Set([...Object.keys(kas.commits), ...Object.keys(yf.commits)])) {
    if (kas.commits[name] !== yf.commits[name])
      diffs.push(`commit of ${name}: kas ${kas.commits[name] ?? 'none'}, yoctoforge ${yf.commits[name] ?? 'none'}`);
  }
  // a build BitBake cannot start is compared on its commits only
  if (kas.unusable || yf.unusable) {
    if (!kas.unusable || !yf.unusable) diffs.push(`usable: kas ${kas.unusable ?? 'yes'}, yoctoforge ${yf.unusable ?? 'yes'}`);
    return diffs;
  }
  const ka = kas.layers.join(' ');
  const ya = yf.layers.join(' ');
  if (ka !== ya) diffs.push(`layers: kas [${kas.layers.join(', ')}], yoctoforge [${yf.layers.join(', ')}]`);
  compareConf('local.conf', kas.localConf, yf.localConf, diffs);
  compareConf('bblayers.conf', kas.bblayersConf, yf.bblayersConf, diffs);
  return diffs;
}

export type Verdict =
  | { verdict: 'same'; notes: string[] }
  | { verdict: 'both refuse'; kas: string; yoctoforge: string }
  | { verdict: 'differs'; diffs: string[]; unreported: string[] }
  | { verdict: 'yoctoforge fails'; kas: 'ok'; yoctoforge: string }
  | { verdict: 'yoctoforge accepts what kas refuses'; kas: string };

/**
 * kas errors that are about the machine or the layers rather than the kas file: no build system
 * in the checked-out repositories, a BitBake that could not start. Any other kas error means kas
 * rejects its input, and yoctoforge must then refuse at import or sync, not only later.
 */
const KAS_BUILD_ERRORS =
  /Did not find any init-build-env script|BitBake would stop|fetch repos failed|not found in upstream|repository .* not found/;

export function judge(kas: Outcome, yf: Outcome): Verdict {
  if (!kas.ok) {
    if (!yf.ok) return { verdict: 'both refuse', kas: kas.error, yoctoforge: yf.error };
    const late = yf.build.unusable;
    if (late && KAS_BUILD_ERRORS.test(kas.error)) return { verdict: 'both refuse', kas: kas.error, yoctoforge: late };
    return {
      verdict: 'yoctoforge accepts what kas refuses',
      kas: late ? `${kas.error} (yoctoforge refused only at config: ${late})` : kas.error,
    };
  }
  if (!yf.ok) return { verdict: 'yoctoforge fails', kas: 'ok', yoctoforge: yf.error };
  const diffs = compareBuilds(kas.build, yf.build);
  if (diffs.length > 0) return { verdict: 'differs', diffs, unreported: unreportedDifferences(diffs, yf.build.notCarried ?? []) };
  if (kas.build.unusable && yf.build.unusable) return { verdict: 'both refuse', kas: kas.build.unusable, yoctoforge: yf.build.unusable };
  // listed as lost, yet nothing the harness compares differs: behaviour outside the conf (signatures, patches), or an over-report
  return { verdict: 'same', notes: (yf.build.notCarried ?? []).map((n) => `listed as not carried, no difference found: ${n}`) };
}

/** Runs one case in its own folder under work. */
export function runCase(c: KasCase, tools: Tools, work: string): Verdict & { generated: string[] } {
  mkdirSync(work, { recursive: true });
  const p = prepareCase(c, tools, work);
  const kas = runKas54(c, p, tools, work);
  const yf = runYoctoforge(c, p, tools, work);
  return { ...judge(kas, yf), generated: p.generated };
}
