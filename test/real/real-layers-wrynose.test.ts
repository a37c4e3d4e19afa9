// Yocto 6.0 "wrynose", the layout without poky, against the real metadata. Needs local copies of
// the six repositories: YOCTOFORGE_REAL_LAYERS_WRYNOSE=DIR with DIR/{bitbake (branch 2.18),
// openembedded-core, meta-yocto, meta-openembedded, meta-raspberrypi, meta-virtualization}
// (git repositories or bare mirrors, branch wrynose), reached through insteadOf rewrites of the
// URLs `init --series wrynose` writes. The dry run needs Docker and a local Debian 12 base image
// (YOCTOFORGE_TEST_BASE_IMAGE, default yoctoforge-test-base:bookworm); it takes about 9 minutes
// on two shared cores.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RELEASES } from '../../src/manifest/series.js';
import { runCli } from '../helpers/git-fixtures.js';
import { realLayersProject } from '../helpers/real-layers.js';

const REAL = process.env.YOCTOFORGE_REAL_LAYERS_WRYNOSE;
const wrynose = RELEASES.find((r) => r.series === 'wrynose')!;
const URLS: Record<string, string> = {
  ...Object.fromEntries(wrynose.coreRepos.map((r) => [r.name, r.url])),
  'meta-openembedded': 'https://github.com/openembedded/meta-openembedded',
  'meta-raspberrypi': 'https://github.com/agherzan/meta-raspberrypi',
  'meta-virtualization': 'https://git.yoctoproject.org/meta-virtualization',
};

if (!REAL) {
  describe('real wrynose layers', () => {
    it.skip('skipped: set YOCTOFORGE_REAL_LAYERS_WRYNOSE to a directory with bitbake, openembedded-core, meta-yocto, meta-openembedded, meta-raspberrypi and meta-virtualization', () => {});
  });
  console.log('real-layers-wrynose: skipped (YOCTOFORGE_REAL_LAYERS_WRYNOSE is not set)');
} else {
  const { env, project } = realLayersProject(REAL, 'YOCTOFORGE_REAL_LAYERS_WRYNOSE', URLS);

  describe('real wrynose layers', () => {
    it('init --series wrynose + sync + layers + config: BitBake 2.18 found, every layer compatible with wrynose', () => {
      expect(runCli(['init', '--yes', '--series', 'wrynose'], { cwd: project, env }).code).toBe(0);
      const sync = runCli(['sync'], { cwd: project, env });
      expect(sync.code, sync.stderr).toBe(0);
      const layers = runCli(['layers'], { cwd: project, env });
      expect(layers.code, layers.stderr).toBe(0);
      for (const collection of [
        'core',
        'yocto',
        'yoctobsp',
        'openembedded-layer',
        'meta-python',
        'networking-layer',
        'filesystems-layer',
        'raspberrypi',
        'virtualization-layer',
      ]) {
        expect(layers.stdout).toMatch(new RegExp(`\\s${collection}\\s.*\\sok$`, 'm'));
      }
      expect(layers.stdout).toMatch(/core series: wrynose/);
      expect(layers.stdout).toMatch(/^bitbake: layers\/bitbake \(2\.18\.\d+\)$/m);
      const config = runCli(['config'], { cwd: project, env });
      expect(config.code, config.stderr).toBe(0);
      const local = readFileSync(path.join(project, 'build', 'rpi-docker-image', 'conf', 'local.conf'), 'utf8');
      expect(local).toContain('BB_HASHSERVE_DB_DIR = "${SSTATE_DIR}"');
      const bblayers = readFileSync(path.join(project, 'build', 'rpi-docker-image', 'conf', 'bblayers.conf'), 'utf8');
      const order = [...bblayers.matchAll(/\$\{YOCTOFORGE_LAYERS_DIR\}\/(\S+)/g)].map((m) => m[1]);
      expect(order[0]).toBe('openembedded-core/meta');
      expect(order).not.toContain('bitbake');
    }, 600_000);

    const baseImage = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
    const docker = spawnSync('docker', ['image', 'inspect', baseImage], { stdio: 'ignore' }).status === 0;
    it.runIf(docker)(
      'real BitBake 2.18 parses the generated conf in the container, the graph holds docker and ntp-utils, and no hash-equivalence warning',
      () => {
        const started = Date.now();
        const r = runCli(['build', 'rpi-docker-image', '--dry-run', '--base-image', baseImage], { cwd: project, env });
        console.log(`real-layers-wrynose: build --dry-run took ${Math.round((Date.now() - started) / 1000)} s`);
        expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
        expect(r.stdout).toMatch(/parsed (\d+) recipes, 0 errors/);
        expect(Number(/parsed (\d+) recipes/.exec(r.stdout)?.[1])).toBeGreaterThan(3000);
        expect(r.stdout).toMatch(/ok\s+docker \(from docker-moby\)/);
        expect(r.stdout).toMatch(/ok\s+ntp-utils \(from ntp\)/);
        const logsDir = path.join(project, 'build', 'rpi-docker-image', 'logs');
        const log = readdirSync(logsDir)
          .map((f) => readFileSync(path.join(logsDir, f), 'utf8'))
          .join('\n');
        // (bitbake -g prints no version: the BitBake in use, 2.18, is checked by `layers` above)
        expect(log).not.toMatch(/hash equivalency database is inside this particular build directory/);
        expect(log).not.toMatch(/BB_HASHSERVE_DB_DIR/);
        const buildlist = readFileSync(path.join(project, 'build', 'rpi-docker-image', 'pn-buildlist'), 'utf8').split('\n');
        for (const recipe of ['docker-moby', 'ntp', 'systemd', 'linux-raspberrypi']) expect(buildlist).toContain(recipe);
      },
      1_800_000,
    );
  });
}
