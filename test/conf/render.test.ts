import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderConfText, renderTargetConf } from '../../src/conf/render.js';
import { checkLayers } from '../../src/layers/check.js';
import { syncLayers } from '../../src/layers/sync.js';
import { loadProject, type Project } from '../../src/manifest/load.js';
import { resolveTarget } from '../../src/manifest/target.js';
import {
  makeFixtureWorld,
  makeProject,
  REPO_ROOT,
  runCli,
  seedManifest,
  wrynoseManifest,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';

const GOLDEN = path.join(REPO_ROOT, 'test', 'golden');
/** UPDATE_GOLDEN=1 rewrites the golden files; review the diff before committing it. */
function expectGolden(actual: string, name: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
const fixedEnv = { YOCTOFORGE_CACHE_DIR: '/var/cache/yoctoforge' } as NodeJS.ProcessEnv;

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
  process.env.YOCTOFORGE_CACHE_DIR = '/var/cache/yoctoforge';
});
afterAll(() => {
  delete process.env.YOCTOFORGE_CACHE_DIR;
  world.cleanup();
});

async function render(manifest: string): Promise<{ project: Project; text: { localConf: string; bblayersConf: string } }> {
  const dir = makeProject(world, manifest);
  const project = await loadProject(dir);
  await syncLayers(project);
  const target = resolveTarget(project);
  const text = await renderConfText(project, target, await checkLayers(project, target), fixedEnv);
  return { project, text };
}

describe('conf rendering', () => {
  it('renders the seed target exactly as the golden files', async () => {
    const { text } = await render(seedManifest(world));
    expectGolden(text.localConf, 'rpi-docker-image.local.conf');
    expectGolden(text.bblayersConf, 'rpi-docker-image.bblayers.conf');
  });

  it("renders the seed target on wrynose from that release's samples: LCONF_VERSION, BB_HASHSERVE_DB_DIR, MACHINE and DISTRO as fragments", async () => {
    const { text } = await render(wrynoseManifest(world));
    expectGolden(text.localConf, 'wrynose.rpi-docker-image.local.conf');
    expectGolden(text.bblayersConf, 'wrynose.rpi-docker-image.bblayers.conf');
    expect(text.localConf).not.toContain('PERSISTENT_DIR');
    expect(text.localConf).toContain('BB_HASHSERVE_DB_DIR = "${SSTATE_DIR}"');
    expect(text.localConf).toContain('OE_FRAGMENTS += "machine/raspberrypi4-64"\nOE_FRAGMENTS += "distro/poky"\n');
    expect(text.localConf).not.toMatch(/^MACHINE =/m);
    expect(text.bblayersConf).toMatch(/^LCONF_VERSION = "7"$/m);
  });

  it('renders users, variables, mirrors, a hash server and labelled raw sections', async () => {
    const manifest = seedManifest(
      world,
      'cache:\n  hashserve: "hashserv.example.com:8686"\n  sstate_mirrors: ["file://.* https://sstate.example.com/PATH;downloadfilename=PATH"]\n',
    ).replace(
      '    image_fstypes: [wic.bz2, wic.bmap]\n',
      `    image_fstypes: [wic.bz2, wic.bmap]
    users:
      - name: pi
        groups: [docker, video]
        shell: /bin/sh
        password_hash: "$6$rounds=5000$salt$abcdefghijklmnop"
    variables:
      IMAGE_ROOTFS_EXTRA_SPACE: "524288"
      SDKMACHINE: x86_64
    local_conf: |
      BB_NUMBER_THREADS = "\${@oe.utils.cpu_count()}"
    bblayers_conf: |
      BBMASK += "meta-raspberrypi/recipes-kernel/.*"
`,
    );
    const { text } = await render(manifest);
    expectGolden(text.localConf, 'full.local.conf');
    expect(text.bblayersConf).toContain(
      '# ---- targets.rpi-docker-image.bblayers_conf from layers.yaml, verbatim (not checked by yoctoforge) ----\nBBMASK += "meta-raspberrypi/recipes-kernel/.*"\n# ---- end of bblayers_conf ----',
    );
  });

  it('is deterministic and leaves unchanged files untouched', async () => {
    const dir = makeProject(world, seedManifest(world));
    const project = await loadProject(dir);
    await syncLayers(project);
    const target = resolveTarget(project);
    const layers = await checkLayers(project, target);
    const first = await renderTargetConf(project, target, layers);
    expect(first.changed).toBe(true);
    utimesSync(first.files.localConf, new Date(1000), new Date(1000));
    utimesSync(first.files.bblayersConf, new Date(1000), new Date(1000));
    const second = await renderTargetConf(project, target, layers);
    expect(second.changed).toBe(false);
    expect(statSync(first.files.localConf).mtimeMs).toBe(1000);
    expect(statSync(first.files.bblayersConf).mtimeMs).toBe(1000);
    // the same manifest and lock in another checkout give byte-identical files
    const other = makeProject(world, seedManifest(world));
    const otherProject = await loadProject(other);
    await syncLayers(otherProject);
    const otherText = await renderConfText(otherProject, resolveTarget(otherProject), await checkLayers(otherProject), fixedEnv);
    const firstText = await renderConfText(project, target, layers, fixedEnv);
    expect(otherText).toEqual(firstText);
  });

  it('refuses cache paths from the environment that would break the conf', async () => {
    const { project } = await render(seedManifest(world));
    const target = resolveTarget(project);
    await expect(
      renderConfText(project, target, await checkLayers(project, target), { YOCTOFORGE_DL_DIR: '/tmp/x"\nINHERIT += "evil' }),
    ).rejects.toThrow(/DL_DIR would be .* must not contain quotes/);
  });

  it('`yoctoforge config` prints where the files are and says when they are unchanged', async () => {
    const dir = makeProject(world, seedManifest(world));
    expect(runCli(['sync'], { cwd: dir, env: world.env }).code).toBe(0);
    const first = runCli(['config', 'rpi-docker-image'], { cwd: dir, env: world.env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/wrote build\/rpi-docker-image\/conf\/local\.conf/);
    const second = runCli(['config'], { cwd: dir, env: world.env });
    expect(second.stdout).toMatch(/unchanged build\/rpi-docker-image\/conf\/bblayers\.conf/);
    const missing = runCli(['config', 'nope'], { cwd: dir, env: world.env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^yoctoforge: error: no target "nope" in .*layers\.yaml \(targets: rpi-docker-image\)\n$/);
  });
});
