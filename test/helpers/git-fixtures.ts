import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELEASES } from '../../src/manifest/series.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
/** Fixture URLs look like the real ones but resolve nowhere: only insteadOf makes them work. */
export const FAKE_HOST = 'https://git.example.invalid/';

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `yf-${prefix}-`));
}

/** A layer.conf shaped like the real scarthgap ones (BBPATH, BBFILES, collections, deps, compat). */
export function layerConf(
  collection: string,
  opts: { priority?: number; depends?: string; compat?: string; version?: string; coreNames?: string } = {},
): string {
  const lines = [
    '# We have a conf and classes directory, add to BBPATH',
    'BBPATH .= ":${LAYERDIR}"',
    '',
    '# We have recipes-* directories, add to BBFILES',
    'BBFILES += "${LAYERDIR}/recipes*/*/*.bb \\',
    '            ${LAYERDIR}/recipes*/*/*.bbappend"',
    '',
    `BBFILE_COLLECTIONS += "${collection}"`,
    `BBFILE_PATTERN_${collection} := "^\${LAYERDIR}/"`,
    `BBFILE_PRIORITY_${collection} = "${opts.priority ?? 6}"`,
  ];
  if (opts.coreNames) lines.push('', `LAYERSERIES_CORENAMES = "${opts.coreNames}"`);
  if (opts.version) lines.push(`LAYERVERSION_${collection} = "${opts.version}"`);
  if (opts.depends) lines.push(`LAYERDEPENDS_${collection} = " \\`, ...opts.depends.split(/\s*,\s*/).map((d) => `    ${d} \\`), '"');
  lines.push(`LAYERSERIES_COMPAT_${collection} = "${opts.compat ?? 'scarthgap'}"`);
  lines.push('', 'LICENSE_PATH += "${LAYERDIR}/files/custom-licenses"', '');
  return lines.join('\n');
}

interface LayerSpec {
  path: string;
  conf: string;
}

export interface Upstream {
  name: string;
  /** the bare repository */
  bare: string;
  /** the URL a manifest uses (rewritten to `bare` by insteadOf) */
  url: string;
  commits: string[];
}

function writeLayers(work: string, layers: LayerSpec[], extraFiles: Record<string, string | Uint8Array>): void {
  for (const layer of layers) {
    mkdirSync(path.join(work, layer.path, 'conf'), { recursive: true });
    writeFileSync(path.join(work, layer.path, 'conf', 'layer.conf'), layer.conf);
  }
  for (const [file, content] of Object.entries(extraFiles)) {
    mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
    writeFileSync(path.join(work, file), content);
  }
}

/**
 * Makes a bare "upstream" repository with a `scarthgap` branch of two commits, a `v1.0` tag on
 * the first, and an older `kirkstone` branch.
 */
export function makeUpstream(
  root: string,
  name: string,
  layers: LayerSpec[],
  extraFiles: Record<string, string | Uint8Array> = {},
): Upstream {
  const work = path.join(root, 'work', name);
  const bare = path.join(root, 'upstream', `${name}.git`);
  mkdirSync(work, { recursive: true });
  git(work, 'init', '-q', '-b', 'scarthgap');
  writeLayers(work, layers, extraFiles);
  writeFileSync(path.join(work, 'README'), `${name}\n`);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', `${name}: first`);
  const first = git(work, 'rev-parse', 'HEAD');
  git(work, 'tag', 'v1.0');
  git(work, 'branch', 'kirkstone');
  writeFileSync(path.join(work, 'README'), `${name}\nsecond\n`);
  git(work, 'commit', '-q', '-am', `${name}: second`);
  const second = git(work, 'rev-parse', 'HEAD');
  mkdirSync(path.dirname(bare), { recursive: true });
  git(root, 'clone', '-q', '--bare', work, bare);
  return { name, bare, url: `${FAKE_HOST}${name}`, commits: [first, second] };
}

/** Adds a commit to an upstream's scarthgap branch; returns its id. */
export function advanceUpstream(root: string, upstream: Upstream, message = 'third'): string {
  const work = path.join(root, 'work', upstream.name);
  writeFileSync(path.join(work, 'README'), `${upstream.name}\n${message}\n`);
  git(work, 'commit', '-q', '-am', `${upstream.name}: ${message}`);
  git(work, 'push', '-q', upstream.bare, 'scarthgap');
  const id = git(work, 'rev-parse', 'HEAD');
  upstream.commits.push(id);
  return id;
}

export interface FixtureWorld {
  root: string;
  gitconfig: string;
  upstreams: Record<string, Upstream>;
  /** environment for child processes and for in-process git: only the fixture's git config */
  env: NodeJS.ProcessEnv;
  cleanup: () => void;
}

/**
 * The four scarthgap repositories in miniature, plus two broken layers (a series mismatch and a
 * missing dependency), reachable only through `url.<bare>.insteadOf = https://git.example.invalid/<name>`.
 */
export function makeFixtureWorld(): FixtureWorld {
  const root = tempDir('world');
  const gitconfig = path.join(root, 'gitconfig');
  writeFileSync(
    gitconfig,
    '[user]\n\tname = Fixture\n\temail = fixture@example.invalid\n[init]\n\tdefaultBranch = scarthgap\n[protocol "file"]\n\tallow = always\n',
  );
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  const previous = { global: process.env.GIT_CONFIG_GLOBAL, nosystem: process.env.GIT_CONFIG_NOSYSTEM };
  process.env.GIT_CONFIG_GLOBAL = gitconfig;
  process.env.GIT_CONFIG_NOSYSTEM = '1';

  const upstreams: Record<string, Upstream> = {};
  const add = (u: Upstream): void => {
    upstreams[u.name] = u;
  };
  add(
    makeUpstream(
      root,
      'poky',
      [
        { path: 'meta', conf: layerConf('core', { priority: 5, version: '15', coreNames: 'scarthgap' }) },
        { path: 'meta-poky', conf: layerConf('yocto', { priority: 5, depends: 'core' }) },
        { path: 'meta-yocto-bsp', conf: layerConf('yoctobsp', { priority: 5, depends: 'core' }) },
        { path: 'meta-skeleton', conf: layerConf('skeleton', { priority: 1, depends: 'core' }) },
      ],
      {
        'oe-init-build-env': '#!/bin/sh\n# fixture\n',
        ...bitbakeFiles('bitbake/', '2.8.1'),
        'meta/conf/sanity.conf': 'BB_MIN_VERSION = "2.8.1"\n',
      },
    ),
  );
  add(
    makeUpstream(root, 'meta-openembedded', [
      { path: 'meta-oe', conf: layerConf('openembedded-layer', { priority: 5, depends: 'core' }) },
      { path: 'meta-python', conf: layerConf('meta-python', { priority: 5, depends: 'core (>= 12), openembedded-layer' }) },
      { path: 'meta-networking', conf: layerConf('networking-layer', { priority: 5, depends: 'core, meta-python, openembedded-layer' }) },
      {
        path: 'meta-filesystems',
        conf: layerConf('filesystems-layer', { priority: 5, depends: 'core, openembedded-layer, networking-layer' }),
      },
    ]),
  );
  add(
    makeUpstream(root, 'meta-raspberrypi', [
      { path: '.', conf: layerConf('raspberrypi', { priority: 9, depends: 'core', compat: 'nanbield scarthgap' }) },
    ]),
  );
  add(
    makeUpstream(root, 'meta-virtualization', [
      {
        path: '.',
        conf: layerConf('virtualization-layer', {
          priority: 8,
          depends: 'core, openembedded-layer, networking-layer, filesystems-layer, meta-python',
          compat: 'nanbield scarthgap',
        }),
      },
    ]),
  );
  addWrynose(root, upstreams);
  add(makeUpstream(root, 'meta-oldseries', [{ path: '.', conf: layerConf('oldseries', { depends: 'core', compat: 'kirkstone' }) }]));
  add(makeUpstream(root, 'meta-needy', [{ path: '.', conf: layerConf('needy', { depends: 'core, webserver' }) }]));

  // The split core repositories are also reachable at their canonical URLs (what init --series and upgrade write), as through a user's mirror.
  const canonical = new Map(RELEASES.flatMap((r) => r.coreRepos).map((c) => [c.name, c.url]));
  const rewrites = Object.values(upstreams)
    .map(
      (u) =>
        `[url "${u.bare}"]\n\tinsteadOf = ${u.url}\n${u.name !== 'poky' && canonical.has(u.name) ? `\tinsteadOf = ${canonical.get(u.name)}\n` : ''}`,
    )
    .join('');
  writeFileSync(gitconfig, `${'[user]\n\tname = Fixture\n\temail = fixture@example.invalid\n'}${rewrites}`);
  return {
    root,
    gitconfig,
    upstreams,
    env,
    cleanup: () => {
      if (previous.global === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = previous.global;
      if (previous.nosystem === undefined) delete process.env.GIT_CONFIG_NOSYSTEM;
      else process.env.GIT_CONFIG_NOSYSTEM = previous.nosystem;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The seed's manifest over the fixture world (like `yoctoforge init`, with fixture URLs). */
export function seedManifest(world: FixtureWorld, extra = ''): string {
  const u = world.upstreams;
  return `version: 1
series: scarthgap
repos:
  poky:
    url: ${u.poky!.url}
    layers: [meta, meta-poky, meta-yocto-bsp]
  meta-openembedded:
    url: ${u['meta-openembedded']!.url}
    layers: [meta-oe, meta-python, meta-networking, meta-filesystems]
  meta-raspberrypi:
    url: ${u['meta-raspberrypi']!.url}
  meta-virtualization:
    url: ${u['meta-virtualization']!.url}
${extra}targets:
  rpi-docker-image:
    image: core-image-base
    machine: raspberrypi4-64
    distro: poky
    init_manager: systemd
    distro_features: [virtualization]
    packages: [docker, ntp-utils]
    groups:
      - name: docker
        system: true
        members: [root]
    license_flags_accepted: [synaptics-killswitch]
    image_fstypes: [wic.bz2, wic.bmap]
`;
}

/** BitBake as the layer checks recognise it (bin/bitbake, lib/bb with its version), under `prefix`. */
export function bitbakeFiles(prefix: string, version: string): Record<string, string> {
  return {
    [`${prefix}bin/bitbake`]: '#!/usr/bin/env python3\n# fixture\n',
    [`${prefix}lib/bb/__init__.py`]: `__version__ = "${version}"\n`,
  };
}

/** Adds `branch` to an upstream (forked from its scarthgap head) with these layers and files; returns its commit. */
export function addBranch(
  root: string,
  upstream: Upstream,
  branch: string,
  layers: LayerSpec[],
  extraFiles: Record<string, string> = {},
): string {
  const work = path.join(root, 'work', upstream.name);
  git(work, 'checkout', '-q', '-b', branch, 'scarthgap');
  writeLayers(work, layers, extraFiles);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', `${upstream.name}: ${branch}`);
  const id = git(work, 'rev-parse', 'HEAD');
  git(work, 'push', '-q', upstream.bare, branch);
  git(work, 'checkout', '-q', 'scarthgap');
  return id;
}

/**
 * Yocto 6.0 "wrynose" in miniature, the layout without poky: bitbake (a 2.18 branch, no layers),
 * openembedded-core (meta, oe-init-build-env) and meta-yocto (meta-poky, meta-yocto-bsp) at
 * `wrynose`, and `wrynose` branches of meta-openembedded, meta-raspberrypi and
 * meta-virtualization, as the real ones have them. meta-oldseries and meta-needy have none.
 */
function addWrynose(root: string, upstreams: Record<string, Upstream>): void {
  const compat = 'whinlatter wrynose';
  const bitbake = makeUpstream(root, 'bitbake', [], bitbakeFiles('', '2.8.1'));
  addBranch(root, bitbake, '2.18', [], bitbakeFiles('', '2.18.0'));
  const core = makeUpstream(root, 'openembedded-core', [
    { path: 'meta', conf: layerConf('core', { priority: 5, version: '15', coreNames: 'scarthgap' }) },
  ]);
  addBranch(
    root,
    core,
    'wrynose',
    [{ path: 'meta', conf: layerConf('core', { priority: 5, version: '15', coreNames: 'wrynose', compat: 'wrynose' }) }],
    {
      'oe-init-build-env': '#!/bin/sh\n# fixture\n',
      // bitbake-setup finds openembedded-core (and so oe-init-build-env) by this script
      'scripts/oe-setup-build': '#!/usr/bin/env python3\n# fixture\n',
      'meta/conf/sanity.conf': 'BB_MIN_VERSION = "2.18.0"\n',
    },
  );
  const yocto = makeUpstream(root, 'meta-yocto', []);
  addBranch(root, yocto, 'wrynose', [
    { path: 'meta-poky', conf: layerConf('yocto', { priority: 5, depends: 'core', compat: 'wrynose' }) },
    { path: 'meta-yocto-bsp', conf: layerConf('yoctobsp', { priority: 5, depends: 'core', compat: 'wrynose' }) },
  ]);
  addBranch(root, upstreams['meta-openembedded']!, 'wrynose', [
    { path: 'meta-oe', conf: layerConf('openembedded-layer', { priority: 5, depends: 'core', compat: 'wrynose' }) },
    {
      path: 'meta-python',
      conf: layerConf('meta-python', { priority: 5, depends: 'core (>= 12), openembedded-layer', compat: 'wrynose' }),
    },
    {
      path: 'meta-networking',
      conf: layerConf('networking-layer', { priority: 5, depends: 'core, meta-python, openembedded-layer', compat: 'wrynose' }),
    },
    {
      path: 'meta-filesystems',
      conf: layerConf('filesystems-layer', { priority: 5, depends: 'core, openembedded-layer, networking-layer', compat: 'wrynose' }),
    },
  ]);
  addBranch(root, upstreams['meta-raspberrypi']!, 'wrynose', [
    { path: '.', conf: layerConf('raspberrypi', { priority: 9, depends: 'core', compat }) },
  ]);
  addBranch(root, upstreams['meta-virtualization']!, 'wrynose', [
    {
      path: '.',
      conf: layerConf('virtualization-layer', {
        priority: 8,
        depends: 'core, openembedded-layer, networking-layer, filesystems-layer, meta-python',
        compat,
      }),
    },
  ]);
  for (const u of [bitbake, core, yocto]) upstreams[u.name] = u;
}

/** The seed's manifest on wrynose, the layout without poky (like `yoctoforge init --series wrynose`, with fixture URLs). */
export function wrynoseManifest(world: FixtureWorld, extra = ''): string {
  const u = world.upstreams;
  return seedManifest(world, extra)
    .replace('series: scarthgap\n', 'series: wrynose\nbitbake: bitbake\n')
    .replace(
      `  poky:\n    url: ${u.poky!.url}\n    layers: [meta, meta-poky, meta-yocto-bsp]\n`,
      `  bitbake:\n    url: ${u.bitbake!.url}\n    branch: "2.18"\n    layers: []\n  openembedded-core:\n    url: ${u['openembedded-core']!.url}\n    layers: [meta]\n  meta-yocto:\n    url: ${u['meta-yocto']!.url}\n    layers: [meta-poky, meta-yocto-bsp]\n`,
    );
}

export function makeProject(world: FixtureWorld, manifest: string): string {
  const dir = path.join(world.root, `project-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'layers.yaml'), manifest);
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cliEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  return {
    ...(env ?? process.env),
    CI: 'true',
    YOCTOFORGE_CACHE_DIR: env?.YOCTOFORGE_CACHE_DIR ?? path.join(os.tmpdir(), 'yf-test-cache'),
  };
}

/** Runs the built CLI (npm run build first) as a user would. */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: cliEnv(opts.env), encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** runCli without blocking the test's event loop: for a CLI talking to a server the test runs in-process. */
export function runCliAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: cliEnv(opts.env), encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A bare upstream whose single commit on `scarthgap` is a copy of `dir` (file modes kept). */
export function makeUpstreamFromDir(root: string, name: string, dir: string): Upstream {
  const work = path.join(root, 'work', name);
  const bare = path.join(root, 'upstream', `${name}.git`);
  cpSync(dir, work, { recursive: true });
  git(work, 'init', '-q', '-b', 'scarthgap');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', `${name}: fixture`);
  const commit = git(work, 'rev-parse', 'HEAD');
  mkdirSync(path.dirname(bare), { recursive: true });
  git(root, 'clone', '-q', '--bare', work, bare);
  return { name, bare, url: `${FAKE_HOST}${name}`, commits: [commit] };
}

export function addInsteadOf(world: FixtureWorld, upstream: Upstream): void {
  writeFileSync(world.gitconfig, `${readFileSync(world.gitconfig, 'utf8')}[url "${upstream.bare}"]\n\tinsteadOf = ${upstream.url}\n`);
  world.upstreams[upstream.name] = upstream;
}
