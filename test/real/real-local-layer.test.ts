// A layer kept in the project (`path:`) under real BitBake: the scarthgap layers from
// YOCTOFORGE_REAL_LAYERS (as in real-layers.test.ts) plus ./meta-mine with one recipe the image
// installs. `build --dry-run` must parse it from the path bblayers.conf names and put the recipe
// in the image's graph. Needs the local test base image (docker) as well.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { layerConf, runCli } from '../helpers/git-fixtures.js';
import { realLayersProject, SCARTHGAP_URLS } from '../helpers/real-layers.js';

const REAL = process.env.YOCTOFORGE_REAL_LAYERS;
const URLS = SCARTHGAP_URLS;
const baseImage = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
const docker = spawnSync('docker', ['image', 'inspect', baseImage], { stdio: 'ignore' }).status === 0;

if (!REAL || !docker) {
  describe('a local layer under real BitBake', () => {
    it.skip('skipped: set YOCTOFORGE_REAL_LAYERS (see real-layers.test.ts) and have the test base image', () => {});
  });
  console.log('real-local-layer: skipped (YOCTOFORGE_REAL_LAYERS unset or no test base image)');
} else {
  const { env, project } = realLayersProject(REAL, 'YOCTOFORGE_REAL_LAYERS', URLS);
  describe('a local layer under real BitBake', () => {
    it('BitBake parses ./meta-mine from YOCTOFORGE_PROJECT_DIR and its recipe is in the image graph (build --dry-run)', () => {
      expect(runCli(['init', '--yes'], { cwd: project, env }).code).toBe(0);
      const file = path.join(project, 'layers.yaml');
      const doc = parseDocument(readFileSync(file, 'utf8'));
      doc.setIn(['repos', 'mine'], doc.createNode({ path: 'meta-mine' }));
      const packages = (doc.getIn(['targets', 'rpi-docker-image', 'packages']) as { toJSON(): string[] } | undefined)?.toJSON() ?? [];
      doc.setIn(['targets', 'rpi-docker-image', 'packages'], doc.createNode([...packages, 'mine-hello']));
      writeFileSync(file, doc.toString());
      const recipe = path.join(project, 'meta-mine', 'recipes-mine', 'mine-hello');
      mkdirSync(recipe, { recursive: true });
      mkdirSync(path.join(project, 'meta-mine', 'conf'));
      writeFileSync(path.join(project, 'meta-mine', 'conf', 'layer.conf'), layerConf('mine', { depends: 'core' }));
      writeFileSync(
        path.join(recipe, 'mine-hello_1.0.bb'),
        [
          'SUMMARY = "A recipe of a layer kept in the project"',
          'LICENSE = "MIT"',
          'LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"',
          'ALLOW_EMPTY:${PN} = "1"',
          '',
        ].join('\n'),
      );
      const sync = runCli(['sync'], { cwd: project, env });
      expect(sync.code, sync.stderr).toBe(0);
      const r = runCli(['build', 'rpi-docker-image', '--dry-run', '--base-image', baseImage], { cwd: project, env });
      expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
      expect(r.stdout).toMatch(/parsed (\d+) recipes, 0 errors/);
      const bblayers = readFileSync(path.join(project, 'build', 'rpi-docker-image', 'conf', 'bblayers.conf'), 'utf8');
      expect(bblayers).toContain('  ${YOCTOFORGE_PROJECT_DIR}/meta-mine \\\n');
      const buildlist = readFileSync(path.join(project, 'build', 'rpi-docker-image', 'pn-buildlist'), 'utf8').split('\n');
      expect(buildlist).toContain('mine-hello');
    }, 1_500_000);
  });
}
