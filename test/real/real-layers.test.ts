// The generated conf against the real scarthgap metadata. Needs local copies of the four
// repositories: YOCTOFORGE_REAL_LAYERS=DIR with DIR/{poky,meta-openembedded,meta-raspberrypi,
// meta-virtualization} (git repositories or bare mirrors, branch scarthgap). The full BitBake
// parse and task-graph check is `yoctoforge build rpi-docker-image --dry-run` (test/build).
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/git-fixtures.js';
import { realLayersProject, SCARTHGAP_URLS } from '../helpers/real-layers.js';

const REAL = process.env.YOCTOFORGE_REAL_LAYERS;
const URLS = SCARTHGAP_URLS;

if (!REAL) {
  describe('real scarthgap layers', () => {
    it.skip('skipped: set YOCTOFORGE_REAL_LAYERS to a directory with poky, meta-openembedded, meta-raspberrypi and meta-virtualization', () => {});
  });
  console.log('real-layers: skipped (YOCTOFORGE_REAL_LAYERS is not set)');
} else {
  const { env, project } = realLayersProject(REAL, 'YOCTOFORGE_REAL_LAYERS', URLS);

  describe('real scarthgap layers', () => {
    it('init + sync + layers + config give a conf for the real poky, meta-openembedded, meta-raspberrypi and meta-virtualization', () => {
      expect(runCli(['init', '--yes'], { cwd: project, env }).code).toBe(0);
      const sync = runCli(['sync'], { cwd: project, env });
      expect(sync.code, sync.stderr).toBe(0);
      const layers = runCli(['layers'], { cwd: project, env });
      expect(layers.code, layers.stderr).toBe(0);
      for (const collection of [
        'core',
        'yocto',
        'openembedded-layer',
        'meta-python',
        'networking-layer',
        'filesystems-layer',
        'raspberrypi',
        'virtualization-layer',
      ]) {
        expect(layers.stdout).toMatch(new RegExp(`\\s${collection}\\s.*\\sok$`, 'm'));
      }
      expect(layers.stdout).toMatch(/core series: scarthgap/);
      const config = runCli(['config'], { cwd: project, env });
      expect(config.code, config.stderr).toBe(0);
      const bblayers = readFileSync(path.join(project, 'build', 'rpi-docker-image', 'conf', 'bblayers.conf'), 'utf8');
      const order = [...bblayers.matchAll(/\$\{YOCTOFORGE_LAYERS_DIR\}\/(\S+)/g)].map((m) => m[1]);
      expect(order.indexOf('poky/meta')).toBe(0);
      expect(order.indexOf('meta-openembedded/meta-networking')).toBeLessThan(order.indexOf('meta-virtualization'));
      expect(order.indexOf('meta-openembedded/meta-python')).toBeLessThan(order.indexOf('meta-openembedded/meta-networking'));
    });

    const baseImage = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
    const docker = spawnSync('docker', ['image', 'inspect', baseImage], { stdio: 'ignore' }).status === 0;
    it.runIf(docker)(
      'real BitBake parses the generated conf with 0 errors and the image graph holds docker and ntp-utils (build --dry-run)',
      () => {
        const r = runCli(['build', 'rpi-docker-image', '--dry-run', '--base-image', baseImage], { cwd: project, env });
        expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
        expect(r.stdout).toMatch(/parsed (\d+) recipes, 0 errors/);
        expect(Number(/parsed (\d+) recipes/.exec(r.stdout)?.[1])).toBeGreaterThan(2500);
        expect(r.stdout).toMatch(/ok\s+docker \(from docker-moby\)/);
        expect(r.stdout).toMatch(/ok\s+ntp-utils \(from ntp\)/);
        const report = JSON.parse(readFileSync(path.join(project, 'build', 'rpi-docker-image', 'report.json'), 'utf8')) as {
          graph: { recipes: number };
        };
        expect(report.graph.recipes).toBeGreaterThan(300);
        const buildlist = readFileSync(path.join(project, 'build', 'rpi-docker-image', 'pn-buildlist'), 'utf8').split('\n');
        for (const recipe of ['docker-moby', 'containerd-opencontainers', 'runc-opencontainers', 'systemd', 'linux-raspberrypi'])
          expect(buildlist).toContain(recipe);
        expect(buildlist).not.toContain('sysvinit');
      },
      1_200_000,
    );
  });
}
