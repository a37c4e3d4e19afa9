import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectLayers } from '../../src/layers/check.js';
import { layerConfFromText, parseDependencies, satisfiesConstraint } from '../../src/layers/layer-conf.js';
import { syncLayers } from '../../src/layers/sync.js';
import { loadProject } from '../../src/manifest/load.js';
import { resolveTarget } from '../../src/manifest/target.js';
import { makeFixtureWorld, makeProject, runCli, seedManifest, wrynoseManifest, type FixtureWorld } from '../helpers/git-fixtures.js';

/** The seed's layers after the core repositories, the same in both layouts, in bblayers.conf order. */
const SEED_LAYERS_AFTER_CORE = [
  'meta-openembedded/meta-oe',
  'meta-openembedded/meta-python',
  'meta-openembedded/meta-networking',
  'meta-openembedded/meta-filesystems',
  'meta-raspberrypi',
  'meta-virtualization',
];

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => world.cleanup());

async function syncedProject(manifest: string): Promise<string> {
  const dir = makeProject(world, manifest);
  await syncLayers(await loadProject(dir));
  return dir;
}

describe('layer.conf reading', () => {
  it('reads collections, dependencies with versions, series and priority like BitBake', () => {
    const conf = layerConfFromText(
      [
        'BBPATH .= ":${LAYERDIR}"',
        'BBFILE_COLLECTIONS += "meta-python"',
        'BBFILE_PATTERN_meta-python := "^${LAYERDIR}/"',
        'BBFILE_PRIORITY_meta-python = "5"',
        'LAYERVERSION_meta-python = "1"',
        '# LAYERDEPENDS_meta-python = "commented-out"',
        'LAYERDEPENDS_meta-python = "core (>= 12) \\',
        '    openembedded-layer"',
        "LAYERSERIES_COMPAT_meta-python = 'nanbield scarthgap'",
        'LAYERSERIES_COMPAT_meta-python:append = " styhead"',
        "BBFILES += \"${@' '.join('${LAYERDIR}/dynamic-layers/%s/recipes*/*/*.bb' % layer \\",
        '               for layer in BBFILE_COLLECTIONS.split())}"',
      ].join('\n'),
      '/l/meta-python',
    );
    expect(conf.collections).toEqual([
      {
        name: 'meta-python',
        priority: 5,
        version: '1',
        depends: [{ collection: 'core', constraint: '>= 12' }, { collection: 'openembedded-layer' }],
        recommends: [],
        seriesCompat: ['nanbield', 'scarthgap', 'styhead'],
      },
    ]);
  });

  it('parses dependency lists and compares layer versions', () => {
    expect(parseDependencies(' core (>= 12)  openembedded-layer networking-layer (= 1) ')).toEqual([
      { collection: 'core', constraint: '>= 12' },
      { collection: 'openembedded-layer' },
      { collection: 'networking-layer', constraint: '= 1' },
    ]);
    expect(satisfiesConstraint('15', '>= 12')).toBe(true);
    expect(satisfiesConstraint('9', '>= 12')).toBe(false);
    expect(satisfiesConstraint('12', '> 12')).toBe(false);
    expect(satisfiesConstraint(undefined, '>= 1')).toBe(false);
  });
});

describe('layer checks', () => {
  it('passes the seed layers and orders every layer after its dependencies, deterministically', async () => {
    const dir = await syncedProject(seedManifest(world));
    const project = await loadProject(dir);
    const result = await inspectLayers(project, resolveTarget(project));
    expect(result.problems).toEqual([]);
    expect(result.coreSeries).toEqual(['scarthgap']);
    expect(result.layers.map((l) => l.id)).toEqual(['poky/meta', 'poky/meta-poky', 'poky/meta-yocto-bsp', ...SEED_LAYERS_AFTER_CORE]);
    expect(result.initScript).toBe(path.join(dir, 'layers', 'poky', 'oe-init-build-env'));
  });

  it('orders by dependency even when the manifest lists dependents first', async () => {
    const u = world.upstreams;
    const dir = await syncedProject(
      `repos:\n  meta-virtualization:\n    url: ${u['meta-virtualization']!.url}\n  meta-openembedded:\n    url: ${u['meta-openembedded']!.url}\n    layers: [meta-filesystems, meta-networking, meta-python, meta-oe]\n  poky:\n    url: ${u.poky!.url}\n    layers: [meta]\ntargets:\n  t: { image: core-image-base, machine: raspberrypi4-64 }\n`,
    );
    const result = await inspectLayers(await loadProject(dir));
    expect(result.layers.map((l) => l.id)).toEqual([
      'poky/meta',
      'meta-openembedded/meta-oe',
      'meta-openembedded/meta-python',
      'meta-openembedded/meta-networking',
      'meta-openembedded/meta-filesystems',
      'meta-virtualization',
    ]);
  });

  it('names the missing collection, who needs it and which known sub-layer provides it', async () => {
    const dir = await syncedProject(
      seedManifest(world).replace('[meta-oe, meta-python, meta-networking, meta-filesystems]', '[meta-oe, meta-python, meta-filesystems]'),
    );
    const result = await inspectLayers(await loadProject(dir));
    expect(result.problems).toContain(
      'meta-virtualization (virtualization-layer) depends on layer "networking-layer", which is not enabled; meta-openembedded/meta-networking provides it (add "meta-networking" to repos.meta-openembedded.layers)',
    );
    expect(result.problems).toContain(
      'meta-openembedded/meta-filesystems (filesystems-layer) depends on layer "networking-layer", which is not enabled; meta-openembedded/meta-networking provides it (add "meta-networking" to repos.meta-openembedded.layers)',
    );
  });

  it('fails a layer whose LAYERSERIES_COMPAT does not include the core series, and one with an unknown dependency', async () => {
    const u = world.upstreams;
    const dir = await syncedProject(
      seedManifest(world, `  meta-oldseries:\n    url: ${u['meta-oldseries']!.url}\n  meta-needy:\n    url: ${u['meta-needy']!.url}\n`),
    );
    const cli = runCli(['layers'], { cwd: dir, env: world.env });
    expect(cli.code).toBe(2);
    expect(cli.stdout).toMatch(/meta-oldseries\s+oldseries\s+layers\/meta-oldseries\s+6\s+kirkstone\s+PROBLEM/);
    expect(cli.stdout).toMatch(/meta-raspberrypi\s+raspberrypi\s+layers\/meta-raspberrypi\s+9\s+nanbield scarthgap\s+ok/);
    expect(cli.stderr).toContain('yoctoforge: error: layer check failed: 2 problem(s)');
    expect(cli.stderr).toContain('meta-oldseries (oldseries) supports only "kirkstone", but the core layer is "scarthgap"');
    expect(cli.stderr).toContain(
      'meta-needy (needy) depends on layer "webserver", which is not enabled; no synced repository has a layer that provides it',
    );
    // the conf is never rendered from a failing layer set
    const config = runCli(['config'], { cwd: dir, env: world.env });
    expect(config.code).toBe(2);
  });

  it('checks LAYERDEPENDS version constraints', async () => {
    const dir = await syncedProject(seedManifest(world));
    const project = await loadProject(dir);
    const result = await inspectLayers(project);
    const python = result.layers.find((l) => l.id === 'meta-openembedded/meta-python')!;
    expect(python.collections[0]!.depends[0]).toEqual({ collection: 'core', constraint: '>= 12' });
    python.collections[0]!.depends[0]!.constraint = '>= 16';
    // the same check through a layer.conf that asks for more than the core offers
    const { writeFileSync, readFileSync } = await import('node:fs');
    const confFile = path.join(dir, 'layers', 'meta-openembedded', 'meta-python', 'conf', 'layer.conf');
    writeFileSync(confFile, readFileSync(confFile, 'utf8').replace('core (>= 12)', 'core (>= 16)'));
    const again = await inspectLayers(project);
    expect(again.problems).toEqual(['meta-openembedded/meta-python (meta-python) needs core >= 16, but poky/meta has LAYERVERSION 15']);
  });

  it('says when a repo is not synced or a sub-layer does not exist', async () => {
    const dir = makeProject(world, seedManifest(world));
    const unsynced = await inspectLayers(await loadProject(dir));
    expect(unsynced.problems[0]).toBe('poky/meta: repository not synced (run `yoctoforge sync`)');
    const dir2 = await syncedProject(seedManifest(world).replace('[meta, meta-poky, meta-yocto-bsp]', '[meta, meta-pokey]'));
    const wrong = await inspectLayers(await loadProject(dir2));
    expect(wrong.problems).toContain('poky/meta-pokey: no conf/layer.conf in layers/poky/meta-pokey (check repos.poky.layers)');
  });
});

describe('both layouts: combined poky and bitbake + openembedded-core + meta-yocto', () => {
  it('finds BitBake inside poky by content, and the core layer by its collection', async () => {
    const dir = await syncedProject(seedManifest(world));
    const result = await inspectLayers(await loadProject(dir));
    expect(result.problems).toEqual([]);
    expect(result.bitbakeDir).toBe(path.join(dir, 'layers', 'poky', 'bitbake'));
    expect(result.bitbakeVersion).toBe('2.8.1');
  });

  it('checks the wrynose layout: a repo without layers is BitBake, openembedded-core/meta is the core', async () => {
    const dir = await syncedProject(wrynoseManifest(world));
    const result = await inspectLayers(await loadProject(dir));
    expect(result.problems).toEqual([]);
    expect(result.coreSeries).toEqual(['wrynose']);
    expect(result.layers.map((l) => l.id)).toEqual([
      'openembedded-core/meta',
      'meta-yocto/meta-poky',
      'meta-yocto/meta-yocto-bsp',
      ...SEED_LAYERS_AFTER_CORE,
    ]);
    expect(result.initScript).toBe(path.join(dir, 'layers', 'openembedded-core', 'oe-init-build-env'));
    expect(result.bitbakeDir).toBe(path.join(dir, 'layers', 'bitbake'));
    expect(result.bitbakeVersion).toBe('2.18.0');
    const cli = runCli(['layers'], { cwd: dir, env: world.env });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/meta-raspberrypi\s+raspberrypi\s+layers\/meta-raspberrypi\s+9\s+whinlatter wrynose\s+ok/);
  });

  it('finds BitBake by content, not by name: a repo renamed bb-core is found, a "bitbake" entry that is not BitBake is refused', async () => {
    const renamed = wrynoseManifest(world).replace('bitbake: bitbake\n', '').replace('  bitbake:\n', '  bb-core:\n');
    const dir = await syncedProject(renamed);
    const result = await inspectLayers(await loadProject(dir));
    expect(result.problems).toEqual([]);
    expect(result.bitbakeDir).toBe(path.join(dir, 'layers', 'bb-core'));
    const wrong = await syncedProject(wrynoseManifest(world).replace('bitbake: bitbake\n', 'bitbake: meta-yocto\n'));
    expect((await inspectLayers(await loadProject(wrong))).problems).toEqual([
      'bitbake: meta-yocto holds no bin/bitbake and lib/bb (check the bitbake: entry of the manifest)',
    ]);
    const none = await syncedProject(
      wrynoseManifest(world)
        .replace('bitbake: bitbake\n', '')
        .replace(/ {2}bitbake:\n.*\n.*\n.*\n/, ''),
    );
    expect((await inspectLayers(await loadProject(none))).problems[0]).toMatch(
      /^no repository holds BitBake \(bin\/bitbake and lib\/bb\): add it to repos/,
    );
  });

  it('says when the core is on another release than the manifest, and when BitBake is older than the core needs', async () => {
    const u = world.upstreams;
    const mixed = await syncedProject(
      wrynoseManifest(world).replace(
        `url: ${u['openembedded-core']!.url}\n`,
        `url: ${u['openembedded-core']!.url}\n    branch: scarthgap\n`,
      ),
    );
    const problems = (await inspectLayers(await loadProject(mixed))).problems;
    expect(problems).toContain(
      'series: the manifest says "wrynose", but the core layer openembedded-core/meta is "scarthgap" (repos.openembedded-core is on another release\'s branch; `yoctoforge upgrade --series wrynose` moves a project between releases)',
    );
    const oldBitbake = await syncedProject(wrynoseManifest(world).replace('branch: "2.18"', 'branch: scarthgap'));
    expect((await inspectLayers(await loadProject(oldBitbake))).problems).toEqual([
      "bitbake: bitbake is BitBake 2.8.1, but the core layer openembedded-core/meta needs at least 2.18.0 (BB_MIN_VERSION in its conf/sanity.conf): move the BitBake repository to the release's branch",
    ]);
  });
});
