import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import {
  addBranch,
  layerConf,
  makeFixtureWorld,
  makeProject,
  runCli,
  seedManifest,
  wrynoseManifest,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => world.cleanup());

function syncedSeed(extraRepos = '', extraTop = ''): string {
  const dir = makeProject(world, `${extraTop}${seedManifest(world, extraRepos)}`);
  const sync = runCli(['sync'], { cwd: dir, env: world.env });
  expect(sync.code, sync.stderr).toBe(0);
  return dir;
}

describe('yoctoforge upgrade --series wrynose', () => {
  it('turns poky into bitbake + openembedded-core + meta-yocto, moves the other repos, keeps the old files for --undo', () => {
    const dir = syncedSeed();
    const before = readFileSync(path.join(dir, 'layers.yaml'), 'utf8');
    const lockBefore = readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8');
    const started = Date.now();
    const up = runCli(['upgrade', '--series', 'wrynose'], { cwd: dir, env: world.env });
    const seconds = (Date.now() - started) / 1000;
    expect(up.code, up.stderr).toBe(0);
    // a figure, not an assertion: on a loaded shared machine the time says more about the load
    console.log(`upgrade of the fixture's four repos to six: ${seconds.toFixed(1)} s`);
    const text = readFileSync(path.join(dir, 'layers.yaml'), 'utf8');
    const m = parseManifest(text, 'layers.yaml');
    const u = world.upstreams;
    expect(m.series).toBe('wrynose');
    expect(m.bitbake).toBe('bitbake');
    expect(Object.keys(m.repos)).toEqual([
      'bitbake',
      'openembedded-core',
      'meta-yocto',
      'meta-openembedded',
      'meta-raspberrypi',
      'meta-virtualization',
    ]);
    expect(m.repos.bitbake).toEqual({ url: 'https://git.openembedded.org/bitbake', branch: '2.18', layers: [] });
    expect(m.repos['openembedded-core']).toEqual({ url: 'https://git.openembedded.org/openembedded-core', layers: ['meta'] });
    expect(m.repos['meta-yocto']).toEqual({ url: 'https://git.yoctoproject.org/meta-yocto', layers: ['meta-poky', 'meta-yocto-bsp'] });
    expect(m.repos['meta-openembedded']).toEqual({
      url: u['meta-openembedded']!.url,
      layers: ['meta-oe', 'meta-python', 'meta-networking', 'meta-filesystems'],
    });
    expect(text).toContain('    layers: [meta-poky, meta-yocto-bsp]\n');
    expect(m.targets).toEqual(parseManifest(before, 'layers.yaml').targets);
    expect(existsSync(path.join(dir, 'layers.lock.yaml'))).toBe(false);
    expect(readFileSync(path.join(dir, '.yoctoforge-upgrade', 'layers.yaml'), 'utf8')).toBe(before);
    expect(up.stdout).toContain('poky: replaced by bitbake + openembedded-core + meta-yocto; layers/poky is no longer used');
    expect(up.stdout).toMatch(/next: yoctoforge sync && yoctoforge build rpi-docker-image --dry-run/);

    // the moved project syncs and passes the layer checks of the new release
    const sync = runCli(['sync'], { cwd: dir, env: world.env });
    expect(sync.code, sync.stderr).toBe(0);
    const layers = runCli(['layers', '--json'], { cwd: dir, env: world.env });
    expect(layers.code, layers.stderr).toBe(0);
    expect(JSON.parse(layers.stdout).coreSeries).toEqual(['wrynose']);
    // the BitBake of the new release runs the build, not the one that came with poky
    expect(JSON.parse(layers.stdout).bitbake).toEqual({ path: 'layers/bitbake', version: '2.18.0' });

    const undo = runCli(['upgrade', '--undo'], { cwd: dir, env: world.env });
    expect(undo.code, undo.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'layers.yaml'), 'utf8')).toBe(before);
    expect(readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8')).toBe(lockBefore);
    expect(existsSync(path.join(dir, '.yoctoforge-upgrade'))).toBe(false);
    const back = runCli(['sync', '--locked'], { cwd: dir, env: world.env });
    expect(back.code, back.stderr).toBe(0);
  }, 120_000);

  it("renames poky in a target's layers and drops a commit pin of the old release, saying so", () => {
    const u = world.upstreams;
    const pinned = seedManifest(world)
      .replace(
        `url: ${u['meta-raspberrypi']!.url}\n`,
        `url: ${u['meta-raspberrypi']!.url}\n    commit: ${u['meta-raspberrypi']!.commits[1]}\n`,
      )
      .replace(
        '    image_fstypes: [wic.bz2, wic.bmap]\n',
        '    image_fstypes: [wic.bz2, wic.bmap]\n    layers: [poky/meta, poky/meta-poky, meta-openembedded, meta-raspberrypi, meta-virtualization]\n',
      );
    const dir = makeProject(world, pinned);
    expect(runCli(['sync'], { cwd: dir, env: world.env }).code).toBe(0);
    const up = runCli(['upgrade', '--series', 'wrynose'], { cwd: dir, env: world.env });
    expect(up.code, up.stderr).toBe(0);
    const m = parseManifest(readFileSync(path.join(dir, 'layers.yaml'), 'utf8'), 'layers.yaml');
    expect(m.targets['rpi-docker-image']?.layers).toEqual([
      'openembedded-core/meta',
      'meta-yocto/meta-poky',
      'meta-openembedded',
      'meta-raspberrypi',
      'meta-virtualization',
    ]);
    expect(m.repos['meta-raspberrypi']?.commit).toBeUndefined();
    expect(up.stdout).toContain(
      `note: repos.meta-raspberrypi: the pin to commit ${u['meta-raspberrypi']!.commits[1]!.slice(0, 12)} (a scarthgap commit) is dropped`,
    );
  }, 120_000);

  it('refuses, before writing anything, when a repository has no wrynose branch or a layer does not support wrynose', () => {
    const u = world.upstreams;
    addBranch(world.root, u['meta-needy']!, 'wrynose', [{ path: '.', conf: layerConf('needy', { depends: 'core', compat: 'scarthgap' }) }]);
    const dir = syncedSeed(
      `  meta-oldseries:\n    url: ${u['meta-oldseries']!.url}\n    branch: scarthgap\n  meta-needy:\n    url: ${u['meta-needy']!.url}\n`,
    );
    const before = readFileSync(path.join(dir, 'layers.yaml'), 'utf8');
    const lock = readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8');
    const up = runCli(['upgrade', '--series', 'wrynose'], { cwd: dir, env: world.env });
    expect(up.code).toBe(2);
    expect(up.stderr).toContain('yoctoforge: error: cannot move to wrynose: 2 problem(s); nothing was changed');
    expect(up.stderr).toContain(
      `repos.meta-oldseries: ${u['meta-oldseries']!.url} has no branch "wrynose", so it has no release for wrynose`,
    );
    expect(up.stderr).toContain('meta-needy (needy) at wrynose supports only "scarthgap", not wrynose');
    expect(readFileSync(path.join(dir, 'layers.yaml'), 'utf8')).toBe(before);
    expect(readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8')).toBe(lock);
    expect(existsSync(path.join(dir, '.yoctoforge-upgrade'))).toBe(false);
  }, 120_000);

  it('sync says plainly when a repository has no branch of the series', () => {
    const u = world.upstreams;
    const dir = makeProject(world, wrynoseManifest(world, `  meta-oldseries:\n    url: ${u['meta-oldseries']!.url}\n`));
    const sync = runCli(['sync'], { cwd: dir, env: world.env });
    expect(sync.code).toBe(1);
    expect(sync.stdout + sync.stderr).toContain(
      `${u['meta-oldseries']!.url} has no branch or tag "wrynose" (does this layer have a release of that name?`,
    );
  }, 120_000);

  it('refuses an unknown series, the series it is on, and --undo with nothing to undo', () => {
    const dir = makeProject(world, seedManifest(world));
    expect(runCli(['upgrade', '--series', 'kirkstone'], { cwd: dir, env: world.env }).stderr).toBe(
      'yoctoforge: error: --series kirkstone: name the release to move to (scarthgap, wrynose)\n',
    );
    expect(runCli(['upgrade', '--series', 'scarthgap'], { cwd: dir, env: world.env }).stderr).toBe(
      'yoctoforge: error: the manifest is already on scarthgap\n',
    );
    const undo = runCli(['upgrade', '--undo'], { cwd: dir, env: world.env });
    expect(undo.code).toBe(2);
    expect(undo.stderr).toBe(`yoctoforge: error: nothing to undo: no .yoctoforge-upgrade/layers.yaml in ${dir}\n`);
  });
});
