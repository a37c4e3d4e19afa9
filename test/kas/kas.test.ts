import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { parse } from 'yaml';
import { registerKas } from '../../src/cli/arguments/kas.js';
import { runExportKas, runImportKas } from '../../src/commands/kas.js';
import { InputError } from '../../src/errors.js';
import { exportKas } from '../../src/kas/export.js';
import { parseExtraUsers } from '../../src/conf/extra-users.js';
import { importKas } from '../../src/kas/import.js';
import { syncLayers } from '../../src/layers/sync.js';
import { loadProject, type Project } from '../../src/manifest/load.js';
import { readLock } from '../../src/lock/lock.js';
import { resolveTarget, type Target } from '../../src/manifest/target.js';
import { makeFixtureWorld, makeProject, seedManifest, tempDir as makeTempDir, type FixtureWorld } from '../helpers/git-fixtures.js';

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  temps.push(dir);
  return dir;
}

let world: FixtureWorld;
let seedDir: string;
beforeAll(async () => {
  world = makeFixtureWorld();
  seedDir = makeProject(world, seedManifest(world));
  await syncLayers(await loadProject(seedDir));
});
afterAll(() => {
  world.cleanup();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Everything a manifest can say about a target, for the round trip. */
const HASH = '$6$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv';
function fullManifest(urlOf: (name: string) => string): string {
  return `version: 1
series: scarthgap
cache:
  sstate_mirrors: ["file://.* https://sstate.example.com/PATH;downloadfilename=PATH"]
repos:
  meta-openembedded:
    url: ${urlOf('meta-openembedded')}
    layers: [meta-oe, meta-python, meta-networking, meta-filesystems]
  poky:
    url: ${urlOf('poky')}
    layers: [meta, meta-poky, meta-yocto-bsp]
  meta-raspberrypi:
    url: ${urlOf('meta-raspberrypi')}
  meta-virtualization:
    url: ${urlOf('meta-virtualization')}
defaults:
  distro: poky
  variables:
    IMAGE_ROOTFS_EXTRA_SPACE: "524288"
targets:
  full:
    image: core-image-full-cmdline
    machine: raspberrypi5
    init_manager: sysvinit
    distro_features: [virtualization, wifi]
    image_features: [ssh-server-openssh, tools-debug]
    packages: [docker, htop, python3-core]
    layers: [poky, meta-openembedded/meta-oe, meta-openembedded/meta-python, meta-raspberrypi]
    groups:
      - { name: docker, system: true, gid: 990, members: [root, admin] }
      - { name: ops }
    users:
      - { name: admin, uid: 1000, groups: [sudo, ops], shell: /bin/bash, home: /home/admin, password_hash: "${HASH}" }
      - { name: guest }
    license_flags_accepted: [synaptics-killswitch, commercial]
    image_fstypes: [wic.bz2, wic.bmap, ext4]
    variables:
      PREFERRED_VERSION_linux-raspberrypi: "6.6%"
      DISTRO_FEATURES:remove: "x11"
    local_conf: |
      # hand-written
      BB_NUMBER_THREADS = "\${@oe.utils.cpu_count()}"
      EXTRA = "\${IMAGE_ROOTFS_EXTRA_SPACE}"
    bblayers_conf: |
      BBMASK += "meta-raspberrypi/recipes-multimedia/"
`;
}

async function syncedProject(manifest: string): Promise<Project> {
  const dir = makeProject(world, manifest);
  await syncLayers(await loadProject(dir));
  return loadProject(dir);
}

async function exportOf(project: Project, target?: string, maxFormatVersion?: number) {
  const lock = await readLock(project);
  return exportKas({ manifest: project.manifest, target: resolveTarget(project, target), lock: lock!, maxFormatVersion });
}

function write(dir: string, file: string, text: string): string {
  const full = path.join(dir, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

/** resolveTarget of an imported manifest text. */
function targetOf(text: string, dir: string, name: string): Target {
  const file = write(dir, 'layers.yaml', text);
  const project: Project = { dir, manifestFile: file, manifest: parse(text), manifestText: text };
  return resolveTarget(project, name);
}

describe('export kas', () => {
  it('writes the seed target at the locked commits, oldest format that has commit + branch', async () => {
    const project = await loadProject(seedDir);
    const result = await exportOf(project);
    const kas = parse(result.text);
    expect(result.version).toBe(14);
    expect(kas.header).toEqual({ version: 14 });
    expect(Object.keys(kas.repos)[0]).toBe('poky');
    const u = world.upstreams;
    expect(kas.repos.poky).toEqual({
      url: u.poky!.url,
      commit: u.poky!.commits[1],
      branch: 'scarthgap',
      layers: { meta: null, 'meta-poky': null, 'meta-yocto-bsp': null },
    });
    expect(kas.repos['meta-raspberrypi']).toEqual({
      url: u['meta-raspberrypi']!.url,
      commit: u['meta-raspberrypi']!.commits[1],
      branch: 'scarthgap',
    });
    // kas layer syntax: `meta:` with nothing after it
    expect(result.text).toMatch(/\n {6}meta:\n {6}meta-poky:\n/);
    expect(kas).toMatchObject({ machine: 'raspberrypi4-64', distro: 'poky', target: 'core-image-base' });
    const header = Object.values(kas.local_conf_header as Record<string, string>).join('');
    expect(header).toContain('INIT_MANAGER = "systemd"\n');
    expect(header).toContain('DISTRO_FEATURES:append = " virtualization"\n');
    expect(header).toContain('IMAGE_INSTALL:append = " docker ntp-utils"\n');
    expect(header).toContain('LICENSE_FLAGS_ACCEPTED:append = " synaptics-killswitch"\n');
    expect(header).toContain('IMAGE_FSTYPES = "wic.bz2 wic.bmap"\n');
    expect(header).toContain(
      'IMAGE_CLASSES += "extrausers"\nEXTRA_USERS_PARAMS = "\\\n    groupadd -r docker; \\\n    usermod -a -G docker root; \\\n"\n',
    );
    expect(header).toContain('CONF_VERSION = "2"');
    expect(Object.keys(kas.local_conf_header)).toEqual([...Object.keys(kas.local_conf_header)].sort());
    expect(kas.bblayers_conf_header['yoctoforge-00-standard']).toContain('POKY_BBLAYERS_CONF_VERSION = "2"');
    expect(result.notExported).toEqual([]);
  });

  it('writes refspec (format 2) for kas 3.x readers, and reports the dropped branch', async () => {
    const result = await exportOf(await loadProject(seedDir), undefined, 12);
    const kas = parse(result.text);
    expect(result.version).toBe(2);
    expect(kas.repos.poky.refspec).toBe(world.upstreams.poky!.commits[1]);
    expect(kas.repos.poky.branch).toBeUndefined();
    expect(result.notExported).toContain('repos.poky: branch scarthgap (kas format 12 has only refspec, which holds the locked commit)');
    await expect(exportOf(await loadProject(seedDir), undefined, 99)).rejects.toThrow(/--format-version/);
  });

  it('uses tag (format 15) for a repo that follows a tag, and disables the layers a target leaves out', async () => {
    const u = world.upstreams;
    const project = await syncedProject(
      `repos:\n  poky:\n    url: ${u.poky!.url}\n    tag: v1.0\n    layers: [meta, meta-poky, meta-skeleton]\ntargets:\n  t: { image: core-image-minimal, machine: qemux86-64, layers: [poky/meta, poky/meta-poky] }\n`,
    );
    const result = await exportOf(project);
    const kas = parse(result.text);
    expect(result.version).toBe(15);
    expect(kas.repos.poky).toEqual({
      url: u.poky!.url,
      commit: u.poky!.commits[0],
      tag: 'v1.0',
      layers: { meta: null, 'meta-poky': null, 'meta-skeleton': 'disabled' },
    });
    expect((await exportOf(project, undefined, 14)).notExported[0]).toMatch(/tag v1.0 \(repos.X.tag needs kas format 15/);
  });

  it('refuses a project without a lock, and a stale lock', async () => {
    const dir = makeProject(world, seedManifest(world));
    await expect(runExportKas({ projectDir: dir })).rejects.toThrow(InputError);
    await expect(runExportKas({ projectDir: dir })).rejects.toThrow(/no layers.lock.yaml .*yoctoforge sync/);
    await syncLayers(await loadProject(dir));
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      seedManifest(world).replace(
        '    layers: [meta, meta-poky, meta-yocto-bsp]',
        '    branch: kirkstone\n    layers: [meta, meta-poky, meta-yocto-bsp]',
      ),
    );
    await expect(runExportKas({ projectDir: dir })).rejects.toThrow(/does not match layers.yaml/);
  });

  it('writes -o FILE and lists what it leaves out', async () => {
    const project = await syncedProject(fullManifest((n) => world.upstreams[n]!.url));
    const out = path.join(project.dir, 'kas.yml');
    const stderr = captureStderr();
    try {
      await runExportKas({ projectDir: project.dir, output: out });
    } finally {
      stderr.restore();
    }
    // by default one file for kas 3.1 and 5.x: commits as refspec, the oldest format that has them
    expect(parse(readFileSync(out, 'utf8')).header.version).toBe(2);
    expect(stderr.text).toContain('wrote ');
    expect(stderr.text).toMatch(/not exported \(\d+\):\n {2}- repos\.poky: branch scarthgap \(kas format 12 has only refspec/);
    expect(stderr.text).toMatch(/^ {2}- cache: /m);
    const modern = captureStderr();
    try {
      await runExportKas({ projectDir: project.dir, output: out, formatVersion: 23 });
    } finally {
      modern.restore();
    }
    expect(parse(readFileSync(out, 'utf8')).header.version).toBe(14);
    expect(modern.text).toMatch(/not exported \(1\):\n {2}- cache: /);
  });
});

describe('import kas', () => {
  it('round trip: the imported manifest resolves to the same target', async () => {
    for (const [manifest, name] of [
      [seedManifest(world), 'rpi-docker-image'],
      [fullManifest((n) => world.upstreams[n]!.url), 'full'],
    ] as const) {
      const project = await syncedProject(manifest);
      const original = resolveTarget(project, name);
      for (const formatVersion of [undefined, 12]) {
        const exported = await exportOf(project, name, formatVersion);
        const dir = tempDir('kas-rt');
        const file = write(dir, 'exported.yml', exported.text);
        const imported = importKas([file], { targetName: name, outFile: path.join(dir, 'layers.yaml') });
        expect(imported.notCarried).toEqual([]);
        // every setting of the target survives, including the narrowed layer list
        // (the origins name the imported manifest's sections, which kas does not have)
        expect({ ...targetOf(imported.text, dir, name), origins: undefined }).toEqual({ ...original, origins: undefined });
        expect(imported.manifest.series).toBe(formatVersion ? undefined : 'scarthgap');
        const locked = (await readLock(project))!;
        for (const [repo, spec] of Object.entries(imported.manifest.repos)) {
          expect(spec.url).toBe(project.manifest.repos[repo]!.url);
          expect(spec.commit).toBe(locked.repos[repo]!.commit);
          expect(spec.layers).toEqual(project.manifest.repos[repo]!.layers);
        }
      }
    }
  });

  it('follows includes and merges as kas does (included first, includer and later files win, mappings deep-merged)', () => {
    const dir = tempDir('kas-inc');
    const u = world.upstreams;
    write(
      dir,
      'kas/base.yml',
      `header:
  version: 11
machine: qemux86-64
distro: poky
target: core-image-minimal
repos:
  poky:
    url: ${u.poky!.url}
    branch: scarthgap
    layers:
      meta:
      meta-poky:
local_conf_header:
  10-base: |
    DISTRO_FEATURES:append = " systemd"
    INIT_MANAGER = "systemd"
  standard: |
    CONF_VERSION = "2"
    PACKAGE_CLASSES = "package_ipk"
`,
    );
    write(
      dir,
      'kas/bsp/rpi.yml',
      `header:
  version: 14
  includes:
    - ../base.yml
machine: raspberrypi4-64
repos:
  meta-raspberrypi:
    url: ${u['meta-raspberrypi']!.url}
    branch: scarthgap
  poky:
    layers:
      meta-yocto-bsp:
local_conf_header:
  10-base: |
    DISTRO_FEATURES:append = " wifi"
  rpi: |
    ENABLE_UART = "1"
    RPI_USE_U_BOOT = "1"
`,
    );
    const top = write(
      dir,
      'kas/product.yml',
      `header:
  version: 14
  includes:
    - bsp/rpi.yml
target: core-image-base
local_conf_header:
  products: |
    IMAGE_INSTALL:append = " htop"
    IMAGE_FSTYPES = "wic.bz2"
`,
    );
    // written by `kas lock`: read right after product.yml
    write(dir, 'kas/product.lock.yml', `header:\n  version: 14\noverrides:\n  repos:\n    poky:\n      commit: ${u.poky!.commits[0]}\n`);
    const extra = write(
      dir,
      'debug.yml',
      `header:
  version: 15
distro: poky-altcfg
local_conf_header:
  rpi: |
    ENABLE_UART = "0"
    EXTRA_IMAGE_FEATURES:append = " debug-tweaks"
`,
    );
    const result = importKas([top, extra], { outFile: path.join(dir, 'layers.yaml') });
    // kas (includehandler.py) loads a file's lock file before the file's includes
    expect(result.files.map((f) => path.relative(dir, f))).toEqual([
      'kas/product.lock.yml',
      'kas/base.yml',
      'kas/bsp/rpi.yml',
      'kas/product.yml',
      'debug.yml',
    ]);
    const m = result.manifest;
    expect(m.series).toBe('scarthgap');
    expect(m.repos).toEqual({
      poky: { url: u.poky!.url, commit: u.poky!.commits[0], layers: ['meta', 'meta-poky', 'meta-yocto-bsp'] },
      'meta-raspberrypi': { url: u['meta-raspberrypi']!.url },
    });
    const t = targetOf(result.text, dir, 'product');
    expect(t).toMatchObject({
      image: 'core-image-base',
      machine: 'raspberrypi4-64',
      distro: 'poky-altcfg',
      initManager: undefined,
      distroFeatures: ['wifi'],
      packages: ['htop'],
      imageFeatures: ['debug-tweaks'],
      imageFstypes: ['wic.bz2'],
    });
    // the later file replaced the whole `rpi` entry; a variable nothing else touches becomes a variable
    // CONF_VERSION too: a kas build has only the header's (yoctoforge adds its own only to its own layout)
    expect(t.variables).toEqual({ ENABLE_UART: '0', PACKAGE_CLASSES: 'package_ipk', CONF_VERSION: '2' });
    expect(t.confLayout).toBe('kas');
    expect(t.localConf).toBeUndefined();
    expect(result.notCarried).toEqual([]);
  });

  it('lists what it cannot carry over, and keeps unknown conf lines verbatim and labelled', () => {
    const dir = tempDir('kas-unsup');
    const u = world.upstreams;
    const file = write(
      dir,
      'isar.yml',
      `header:
  version: 17
  includes:
    - repo: meta-custom
      file: kas/common.yml
build_system: isar
env:
  SSTATE_MIRROR_URL: https://example.com
defaults:
  repos:
    branch: scarthgap
    patches:
      repo: meta-custom
menu_configuration:
  FOO: true
artifacts:
  image: build/tmp/deploy/images/foo.wic
signers:
  me:
    type: gpg
repos:
  meta-custom:
  poky:
    url: ${u.poky!.url}
    path: sources/poky
    layers:
      meta:
      meta-poky: excluded
    patches:
      fix:
        path: patches/poky.patch
local_conf_header:
  python: |
    BB_NUMBER_THREADS = "\${@oe.utils.cpu_count()}"
    IMAGE_INSTALL += "foo"
    TWICE = "a"
  again: |
    TWICE = "b"
    EXTRA_USERS_PARAMS = "passwd root;"
`,
    );
    const result = importKas([file], { outFile: path.join(dir, 'layers.yaml'), targetName: 'custom' });
    const joined = result.notCarried.join('\n');
    for (const expected of [
      /header.includes \{repo: meta-custom, file: kas\/common.yml\}: includes from another repository are not followed/,
      /^env: environment variables for BitBake \(SSTATE_MIRROR_URL\)/m,
      /^menu_configuration: /m,
      /^artifacts: /m,
      /^signers: /m,
      /^build_system: isar: /m,
      /^defaults.repos.patches: /m,
      /^repos.poky.patches: /m,
      /^repos.poky.path: /m,
    ])
      expect(joined).toMatch(expected);
    // a repo without url is the folder of the kas file, here the project: a local repo, used in place as kas does
    expect(joined).not.toMatch(/^repos.meta-custom/m);
    expect(result.manifest.repos['meta-custom']).toEqual({ path: '.' });
    // kas's defaults (core-image-minimal, MACHINE ??= "qemux86-64") are written as kas writes them: nothing is lost
    expect(joined).not.toMatch(/^(machine|target|distro): not set/m);
    const t = targetOf(result.text, dir, 'custom');
    expect(t.layers).toEqual(['meta-custom', 'poky/meta']);
    expect(t.variables).toEqual({});
    expect(t.localConf).toBe(
      '# kas local_conf_header: again\nTWICE = "b"\nEXTRA_USERS_PARAMS = "passwd root;"\n\n# kas local_conf_header: python\nBB_NUMBER_THREADS = "${@oe.utils.cpu_count()}"\nIMAGE_INSTALL += "foo"\nTWICE = "a"\n',
    );
    // the written manifest says where it came from and what was left out
    expect(result.text).toMatch(/^# Imported from kas/);
    expect(result.text).toContain('#   - env: ');
  });

  it('reads EXTRA_USERS_PARAMS back into groups and users', () => {
    expect(
      parseExtraUsers(
        'EXTRA_USERS_PARAMS = "\\\n    groupadd -r -g 990 docker; \\\n    useradd -m -u 1000 -s /bin/sh -p \'$1$ab$cd\\$x\' admin; \\\n    usermod -a -G docker,video admin; \\\n    usermod -a -G docker root; \\\n"',
      ),
    ).toEqual({
      groups: [{ name: 'docker', system: true, gid: 990, members: ['root'] }],
      users: [{ name: 'admin', uid: 1000, shell: '/bin/sh', password_hash: '$1$ab$cd$x', groups: ['docker', 'video'] }],
    });
    expect(
      parseExtraUsers('EXTRA_USERS_PARAMS = "groupadd docker; useradd -m bob; usermod -a -G docker bob; usermod -a -G docker root;"'),
    ).toEqual({
      groups: [{ name: 'docker', members: ['root'] }],
      users: [{ name: 'bob', groups: ['docker'] }],
    });
    expect(parseExtraUsers('EXTRA_USERS_PARAMS = "useradd bob;"')).toBeUndefined(); // no -m: not what yoctoforge writes
  });

  it('writes layers.yaml, refuses to replace it without --force', async () => {
    const dir = tempDir('kas-cmd');
    const file = write(
      dir,
      'kas.yml',
      `header:\n  version: 14\nmachine: qemux86-64\ndistro: poky\ntarget: core-image-minimal\nrepos:\n  poky:\n    url: ${world.upstreams.poky!.url}\n    branch: scarthgap\n    layers:\n      meta:\n`,
    );
    const stdout = captureStdout();
    try {
      await runImportKas({ projectDir: dir, files: [file] });
    } finally {
      stdout.restore();
    }
    expect(stdout.text).toMatch(/wrote .*layers.yaml from 1 kas file\(s\): 1 repos, target kas/);
    expect(stdout.text).toContain('every kas setting was carried over');
    expect((await loadProject(dir)).manifest.targets.kas).toEqual({
      image: 'core-image-minimal',
      machine: 'qemux86-64',
      distro: 'poky',
      conf_layout: 'kas',
    });
    await expect(runImportKas({ projectDir: dir, files: [file] })).rejects.toThrow(/exists \(use --force/);
    const again = captureStdout();
    try {
      await runImportKas({ projectDir: dir, files: [file], force: true, target: 'qemu' });
    } finally {
      again.restore();
    }
    expect(Object.keys((await loadProject(dir)).manifest.targets)).toEqual(['qemu']);
  });

  it('reports a missing file, an include cycle and invalid YAML as input errors', () => {
    const dir = tempDir('kas-err');
    expect(() => importKas([path.join(dir, 'nope.yml')])).toThrow(/kas file not found: .*nope.yml/);
    write(dir, 'a.yml', 'header:\n  version: 14\n  includes: [b.yml]\n');
    write(dir, 'b.yml', 'header:\n  version: 14\n  includes: [a.yml]\n');
    expect(() => importKas([path.join(dir, 'a.yml')])).toThrow(/kas include cycle: .*a.yml → .*b.yml → .*a.yml/);
    write(dir, 'c.yml', 'header:\n  version: 14\n  includes: [missing.yml]\n');
    expect(() => importKas([path.join(dir, 'c.yml')])).toThrow(/kas file not found: .*missing.yml \(included from .*c.yml\)/);
    write(dir, 'bad.yml', 'header:\n  version: 14\nrepos: [a\n');
    expect(() => importKas([path.join(dir, 'bad.yml')])).toThrow(/bad.yml:\d+:\d+: not valid YAML/);
    write(dir, 'nohead.yml', 'machine: x\n');
    expect(() => importKas([path.join(dir, 'nohead.yml')])).toThrow(/not a kas file \(no header.version\)/);
    for (const f of ['nope.yml', 'a.yml', 'bad.yml']) {
      try {
        importKas([path.join(dir, f)]);
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
      }
    }
  });
});

describe('cli registration', () => {
  it('registers `export kas` and `import kas` (lazily loading the commands)', async () => {
    const program = (): Command => {
      const p = new Command().option('-C, --project <dir>', 'project', '.').exitOverride();
      p.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
      registerKas(p);
      return p;
    };
    const dir = tempDir('kas-cli');
    const out = path.join(dir, 'seed.yml');
    const stderr = captureStderr();
    try {
      await program().parseAsync([
        'node',
        'yoctoforge',
        '-C',
        seedDir,
        'export',
        'kas',
        'rpi-docker-image',
        '-o',
        out,
        '--format-version',
        '12',
      ]);
    } finally {
      stderr.restore();
    }
    expect(parse(readFileSync(out, 'utf8')).header.version).toBe(2);
    await expect(program().parseAsync(['node', 'yoctoforge', 'export', 'kas', '--format-version', 'x'])).rejects.toThrow(
      /integer kas format version/,
    );
    const stdout = captureStdout();
    try {
      await program().parseAsync(['node', 'yoctoforge', '-C', dir, 'import', 'kas', out, '--target', 'seed']);
    } finally {
      stdout.restore();
    }
    expect(Object.keys((await loadProject(dir)).manifest.targets)).toEqual(['seed']);
  });
});

/* ---- real kas ---- */

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

const KAS5 = '/var/tmp/kas5/kas-run';
/** kas 5.4 run from its source (YOCTOFORGE_KAS_SRC: a git repository of kas with the tag 5.4), as differential.test.ts does. */
function kas54FromSource(): string | undefined {
  const src = process.env.YOCTOFORGE_KAS_SRC;
  if (!src) return undefined;
  const dir = tempDir('kas54-src');
  const archive = spawnSync('git', ['-C', src, 'archive', '5.4'], { maxBuffer: 256 * 1024 * 1024 });
  if (archive.status !== 0 || spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout }).status !== 0) return undefined;
  const runner = path.join(dir, 'kas-run');
  writeFileSync(
    runner,
    `#!/bin/sh\nexec /usr/bin/python3 -c 'import sys; sys.path.insert(0, "${dir}"); sys.argv[0] = "kas"; from kas.kas import main; main()' "$@"\n`,
    { mode: 0o755 },
  );
  return runner;
}
const KAS54 = kas54FromSource();
const kasTools = [
  { label: 'kas (PATH)', cmd: 'kas', present: onPath('kas') },
  { label: 'kas 5 (/var/tmp/kas5/kas-run)', cmd: KAS5, present: existsSync(KAS5) },
  { label: 'kas 5.4 (YOCTOFORGE_KAS_SRC)', cmd: KAS54 ?? 'kas-5.4', present: KAS54 !== undefined },
];

describe('the export is accepted by a real kas', () => {
  for (const tool of kasTools) {
    it(`${tool.label}: checkout (and dump where it exists) of the exported file`, async () => {
      if (!tool.present) {
        console.log(`skipped: ${tool.label} is not installed`);
        return;
      }
      const versionOut = spawnSync(tool.cmd, ['--version'], { encoding: 'utf8' });
      const formatMax = Number(/configuration format version (\d+)/.exec(`${versionOut.stdout}${versionOut.stderr}`)?.[1] ?? '0');
      const hasDump = spawnSync(tool.cmd, ['--help'], { encoding: 'utf8' }).stdout.includes('dump');
      // kas runs git with a clean environment: give it plain file:// URLs of the fixture repos
      const project = await syncedProject(fullManifest((n) => `file://${world.upstreams[n]!.bare}`));
      const target = resolveTarget(project, 'full');
      const versions = formatMax >= 14 ? [undefined, 12] : [12];
      for (const formatVersion of versions) {
        const exported = await exportOf(project, 'full', formatVersion);
        const work = tempDir('kas-real');
        const file = write(work, 'full.yml', exported.text);
        const env = {
          ...process.env,
          KAS_WORK_DIR: work,
          KAS_BUILD_DIR: path.join(work, 'build'),
          GIT_CONFIG_GLOBAL: world.gitconfig,
          GIT_CONFIG_NOSYSTEM: '1',
        };
        if (hasDump) {
          const dump = spawnSync(tool.cmd, ['dump', file], { cwd: work, env, encoding: 'utf8' });
          expect(dump.status, `${tool.cmd} dump: ${dump.stderr}`).toBe(0);
          const dumped = parse(dump.stdout);
          expect(dumped.machine).toBe('raspberrypi5');
          expect(dumped.repos.poky.commit ?? dumped.repos.poky.refspec).toBe((await readLock(project))!.repos.poky!.commit);
        }
        const checkout = spawnSync(tool.cmd, ['checkout', file], { cwd: work, env, encoding: 'utf8' });
        expect(checkout.status, `${tool.cmd} checkout (format ${exported.version}): ${checkout.stderr}`).toBe(0);
        // asked for a format that has commit + branch, the export uses no feature kas calls deprecated
        if (exported.version >= 14) expect(checkout.stderr).not.toMatch(/deprecated|WARNING/i);
        const localConf = readFileSync(path.join(work, 'build', 'conf', 'local.conf'), 'utf8');
        expect(localConf).toContain('INIT_MANAGER = "sysvinit"');
        expect(localConf).toContain('MACHINE ??= "raspberrypi5"');
        expect(localConf).toContain(target.localConf!.trimEnd());
        const bblayers = readFileSync(path.join(work, 'build', 'conf', 'bblayers.conf'), 'utf8');
        expect(bblayers).toContain('meta-raspberrypi');
        expect(bblayers).not.toContain('meta-networking');
        // the checkouts are at the locked commits
        const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: path.join(work, 'poky'), encoding: 'utf8' }).stdout.trim();
        expect(head).toBe((await readLock(project))!.repos.poky!.commit);
        console.log(
          `${tool.label} accepted the export with header version ${exported.version} (${tool.cmd} ${hasDump ? 'dump + ' : ''}checkout ${path.basename(file)})`,
        );
      }
    }, 300_000);
  }
});

function captureStdout(): { text: string; restore: () => void } {
  return capture(process.stdout);
}
function captureStderr(): { text: string; restore: () => void } {
  return capture(process.stderr);
}
function capture(stream: NodeJS.WriteStream): { text: string; restore: () => void } {
  const original = stream.write.bind(stream);
  const state = {
    text: '',
    restore: () => {
      stream.write = original;
    },
  };
  stream.write = ((chunk: string | Uint8Array): boolean => {
    state.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof stream.write;
  return state;
}
