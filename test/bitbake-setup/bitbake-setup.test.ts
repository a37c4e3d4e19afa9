import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flattenConfigurations, type BitbakeSetupConfig } from '../../src/bitbake-setup/format.js';
import { parseManifest } from '../../src/manifest/load.js';
import { makeFixtureWorld, makeProject, runCli, tempDir, wrynoseManifest, type FixtureWorld } from '../helpers/git-fixtures.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => world.cleanup());

describe('yoctoforge import bitbake-setup', () => {
  it("turns the registry's poky-wrynose configuration into the layout without poky", () => {
    const dir = tempDir('bbs-import');
    const r = runCli(
      ['import', 'bitbake-setup', path.join(FIXTURES, 'poky-wrynose.conf.json'), 'poky', 'machine/qemux86-64', 'distro/poky'],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const m = parseManifest(readFileSync(path.join(dir, 'layers.yaml'), 'utf8'), 'layers.yaml');
    expect(m.series).toBe('wrynose');
    expect(m.repos).toEqual({
      bitbake: { url: 'https://git.openembedded.org/bitbake', branch: '2.18', layers: [] },
      'openembedded-core': { url: 'https://git.openembedded.org/openembedded-core', layers: ['meta'] },
      'meta-yocto': { url: 'https://git.yoctoproject.org/meta-yocto', layers: ['meta-yocto-bsp', 'meta-poky'] },
      'yocto-docs': { url: 'https://git.yoctoproject.org/yocto-docs', layers: [] },
    });
    expect(m.targets.poky).toEqual({ image: 'core-image-base', machine: 'qemux86-64', distro: 'poky' });
    const sstate = runCli(
      [
        'import',
        'bitbake-setup',
        path.join(FIXTURES, 'poky-wrynose.conf.json'),
        'poky-with-sstate',
        'machine/qemuarm64',
        'distro/poky-altcfg',
        '-o',
        'other.yaml',
      ],
      { cwd: dir },
    );
    expect(sstate.code, sstate.stderr).toBe(0);
    const other = parseManifest(readFileSync(path.join(dir, 'other.yaml'), 'utf8'), 'other.yaml');
    expect(other.targets['poky-with-sstate']).toMatchObject({
      machine: 'qemuarm64',
      distro: 'poky-altcfg',
      local_conf: 'OE_FRAGMENTS += "core/yocto/sstate-mirror-cdn"\n',
    });
  });

  it('asks for the choices bitbake-setup would ask for, and refuses what is not a configuration', () => {
    const dir = tempDir('bbs-import');
    const file = path.join(FIXTURES, 'poky-wrynose.conf.json');
    expect(runCli(['import', 'bitbake-setup', file], { cwd: dir }).stderr).toBe(
      `yoctoforge: error: ${file}: choose a configuration, as bitbake-setup would ask: poky, poky-with-sstate\n`,
    );
    expect(runCli(['import', 'bitbake-setup', file, 'poky', 'distro/poky'], { cwd: dir }).stderr).toMatch(
      /choose one machine \(Target machines\) as bitbake-setup would ask: machine\/qemux86-64, /,
    );
    const notConfig = runCli(['import', 'bitbake-setup', path.join(FIXTURES, 'README.md')], { cwd: dir });
    expect(notConfig.code).toBe(2);
    expect(notConfig.stderr).toMatch(/README\.md: not JSON/);
    expect(existsSync(path.join(dir, 'layers.yaml'))).toBe(false);
  });

  it('imports every configuration of every corpus file with its first options', () => {
    for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.conf.json'))) {
      const data = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as BitbakeSetupConfig;
      for (const config of flattenConfigurations(data['bitbake-setup'].configurations)) {
        const choices = Object.values(config['oe-fragments-one-of'] ?? {}).map((g) => {
          const o = g.options[0]!;
          return typeof o === 'string' ? o : o.name;
        });
        const dir = tempDir('bbs-corpus');
        const r = runCli(['import', 'bitbake-setup', path.join(FIXTURES, file), config.name!, ...choices], { cwd: dir });
        expect(r.code, `${file} ${config.name}: ${r.stderr}`).toBe(0);
      }
    }
  });
});

describe('yoctoforge export bitbake-setup', () => {
  let project: string;
  beforeAll(() => {
    project = makeProject(world, wrynoseManifest(world));
    const sync = runCli(['sync'], { cwd: project, env: world.env });
    expect(sync.code, sync.stderr).toBe(0);
  }, 120_000);

  it("writes every repo at its locked rev, the target's layers, MACHINE and DISTRO as fragment choices, and imports back", () => {
    const r = runCli(['export', 'bitbake-setup', '-o', 'rpi.conf.json'], { cwd: project, env: world.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('targets.rpi-docker-image.packages: a bitbake-setup configuration has no local.conf settings');
    const config = JSON.parse(readFileSync(path.join(project, 'rpi.conf.json'), 'utf8')) as BitbakeSetupConfig;
    const lock = readFileSync(path.join(project, 'layers.lock.yaml'), 'utf8');
    expect(Object.keys(config.sources)).toEqual([
      'bitbake',
      'openembedded-core',
      'meta-yocto',
      'meta-openembedded',
      'meta-raspberrypi',
      'meta-virtualization',
    ]);
    for (const source of Object.values(config.sources))
      expect(lock).toContain(('git-remote' in source ? source['git-remote'].rev : '') || 'missing');
    expect(config.sources.bitbake).toEqual({
      'git-remote': {
        uri: world.upstreams.bitbake!.url,
        branch: '2.18',
        rev: world.upstreams.bitbake!.commits.length ? expect.stringMatching(/^[0-9a-f]{40}$/) : '',
      },
    });
    const [c] = config['bitbake-setup'].configurations;
    expect(c!['bb-layers']).toEqual([
      'openembedded-core/meta',
      'meta-yocto/meta-poky',
      'meta-yocto/meta-yocto-bsp',
      'meta-openembedded/meta-oe',
      'meta-openembedded/meta-python',
      'meta-openembedded/meta-networking',
      'meta-openembedded/meta-filesystems',
      'meta-raspberrypi',
      'meta-virtualization',
    ]);
    const back = runCli(
      ['import', 'bitbake-setup', 'rpi.conf.json', 'rpi-docker-image', 'machine/raspberrypi4-64', 'distro/poky', '-o', 'back.yaml'],
      { cwd: project },
    );
    expect(back.code, back.stderr).toBe(0);
    const m = parseManifest(readFileSync(path.join(project, 'back.yaml'), 'utf8'), 'back.yaml');
    expect(m.series).toBe('wrynose');
    expect(m.targets['rpi-docker-image']).toEqual({ image: 'core-image-base', machine: 'raspberrypi4-64', distro: 'poky' });
    expect(m.repos['meta-openembedded']?.layers).toEqual(['meta-oe', 'meta-python', 'meta-networking', 'meta-filesystems']);
  });

  // The reference tool: bitbake-setup from BitBake's 2.18 branch, checked out at test time from
  // YOCTOFORGE_BITBAKE_REPO (a clone of https://git.openembedded.org/bitbake), run offline: its
  // fetcher clones our fixture repositories through the same insteadOf config as yoctoforge.
  const bitbakeRepo = process.env.YOCTOFORGE_BITBAKE_REPO;
  it.skipIf(!bitbakeRepo)(
    'is accepted by the real bitbake-setup 2.18: sources checked out at the locked revs, bblayers.conf lists our layers',
    () => {
      const work = tempDir('bbs-real');
      const tool = path.join(work, 'bitbake');
      execFileSync('git', ['clone', '-q', '--branch', '2.18', bitbakeRepo!, tool], { stdio: 'pipe' });
      const out = runCli(['export', 'bitbake-setup', '-o', path.join(work, 'rpi.conf.json')], { cwd: project, env: world.env });
      expect(out.code, out.stderr).toBe(0);
      mkdirSync(path.join(work, 'home'));
      // Enabling the fragments runs bitbake-config-build, which needs a BitBake host (en_US.UTF-8, not root): the choices are skipped here.
      const run = spawnSync(
        path.join(tool, 'bin', 'bitbake-setup'),
        [
          '--global-settings',
          path.join(work, 'home', 'settings.conf'),
          '--setting',
          'default',
          'top-dir-prefix',
          work,
          '--setting',
          'default',
          'top-dir-name',
          'top',
          '--setting',
          'default',
          'dl-dir',
          path.join(work, 'dl'),
          'init',
          '--non-interactive',
          '--no-init-vscode',
          '--skip-selection',
          'machine',
          '--skip-selection',
          'distro',
          path.join(work, 'rpi.conf.json'),
          'rpi-docker-image',
        ],
        { env: { ...world.env, HOME: path.join(work, 'home') }, encoding: 'utf8', timeout: 600_000 },
      );
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      const top = path.join(work, 'top');
      const setup = readdirSync(top).find((d) => existsSync(path.join(top, d, 'layers')))!;
      const layersDir = path.join(top, setup, 'layers');
      const bblayers = readFileSync(path.join(top, setup, 'build', 'conf', 'bblayers.conf'), 'utf8');
      const listed = [...bblayers.matchAll(/^\s+(\/\S+) \\$/gm)].map((m) => path.relative(realpathSync(layersDir), realpathSync(m[1]!)));
      expect(listed).toEqual([
        'openembedded-core/meta',
        'meta-yocto/meta-poky',
        'meta-yocto/meta-yocto-bsp',
        'meta-openembedded/meta-oe',
        'meta-openembedded/meta-python',
        'meta-openembedded/meta-networking',
        'meta-openembedded/meta-filesystems',
        'meta-raspberrypi',
        'meta-virtualization',
      ]);
      const lock = readFileSync(path.join(project, 'layers.lock.yaml'), 'utf8');
      for (const repo of ['bitbake', 'openembedded-core', 'meta-yocto', 'meta-openembedded', 'meta-raspberrypi', 'meta-virtualization']) {
        const head = execFileSync('git', ['-C', path.join(layersDir, repo), 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
        expect(lock).toContain(head);
      }
      expect(readFileSync(path.join(top, setup, 'build', 'init-build-env'), 'utf8')).toContain('. ./oe-init-build-env');
    },
    700_000,
  );
});
