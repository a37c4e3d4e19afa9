// An offline build from a bundle, with real BitBake: a native recipe whose source is a tarball
// on an unreachable server is built once (its source supplied by a local mirror), bundled with
// --downloads, the mirror deleted, restored into a new folder with empty caches, and built again:
// the only place its source can come from is the bundle. Needs YOCTOFORGE_REAL_LAYERS (poky is
// enough) and a Docker engine with the test base image.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, runCli, tempDir } from '../helpers/git-fixtures.js';

const REAL = process.env.YOCTOFORGE_REAL_LAYERS;
const baseImage = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
const docker = spawnSync('docker', ['image', 'inspect', baseImage], { stdio: 'ignore' }).status === 0;
const poky = REAL ? [path.join(REAL, 'poky'), path.join(REAL, 'poky.git')].find((p) => existsSync(p)) : undefined;

if (!poky || !docker) {
  describe('offline build from a bundle (real BitBake)', () => {
    it.skip(`skipped: ${!poky ? 'set YOCTOFORGE_REAL_LAYERS to a directory with poky' : `no Docker engine with ${baseImage}`}`, () => {});
  });
  console.log(`offline-bundle: skipped (${!poky ? 'YOCTOFORGE_REAL_LAYERS is not set' : 'no Docker engine'})`);
} else {
  const work = tempDir('offline');
  afterAll(() => {
    if (!process.env.YOCTOFORGE_KEEP) rmSync(work, { recursive: true, force: true });
  });

  describe('offline build from a bundle (real BitBake)', () => {
    it(
      'builds a recipe whose source exists only in the bundle, with the network unreachable',
      () => {
        // the source, on a server nobody can reach, served once by a local mirror inside the
        // project (the build container sees only the project, the layers and the caches)
        const project = path.join(work, 'project');
        mkdirSync(project);
        const mirror = path.join(project, 'local-mirror');
        mkdirSync(path.join(work, 'src', 'yf-hello-1.0'), { recursive: true });
        writeFileSync(path.join(work, 'src', 'yf-hello-1.0', 'hello.sh'), '#!/bin/sh\necho hello from the bundle\n');
        mkdirSync(mirror);
        const tarball = path.join(mirror, 'yf-hello-1.0.tar.gz');
        execFileSync('tar', ['-czf', tarball, '-C', path.join(work, 'src'), 'yf-hello-1.0']);
        const sum = createHash('sha256').update(readFileSync(tarball)).digest('hex');

        const layer = path.join(work, 'meta-yf-offline');
        mkdirSync(path.join(layer, 'conf'), { recursive: true });
        mkdirSync(path.join(layer, 'recipes-test', 'yf-hello'), { recursive: true });
        writeFileSync(
          path.join(layer, 'conf', 'layer.conf'),
          'BBPATH .= ":${LAYERDIR}"\nBBFILES += "${LAYERDIR}/recipes-*/*/*.bb"\nBBFILE_COLLECTIONS += "yfoffline"\nBBFILE_PATTERN_yfoffline = "^${LAYERDIR}/"\nBBFILE_PRIORITY_yfoffline = "6"\nLAYERDEPENDS_yfoffline = "core"\nLAYERSERIES_COMPAT_yfoffline = "scarthgap"\n',
        );
        writeFileSync(
          path.join(layer, 'recipes-test', 'yf-hello', 'yf-hello-native_1.0.bb'),
          [
            'SUMMARY = "A native recipe whose source only an offline bundle holds"',
            'LICENSE = "MIT"',
            'LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"',
            'SRC_URI = "https://downloads.example.invalid/yf-hello-1.0.tar.gz"',
            `SRC_URI[sha256sum] = "${sum}"`,
            'INHIBIT_DEFAULT_DEPS = "1"',
            'PATCHDEPENDENCY = ""',
            'inherit native',
            'S = "${WORKDIR}/yf-hello-1.0"',
            'do_configure[noexec] = "1"',
            'do_compile[noexec] = "1"',
            'do_install() {',
            '    install -d ${D}${bindir}',
            '    install -m 0755 ${S}/hello.sh ${D}${bindir}/yf-hello',
            '}',
            '',
          ].join('\n'),
        );
        git(layer, 'init', '-q', '-b', 'scarthgap');
        git(layer, 'add', '-A');
        git(layer, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'offline recipe');

        const gitconfig = path.join(work, 'gitconfig');
        writeFileSync(gitconfig, `[url "${poky}"]\n\tinsteadOf = https://git.yoctoproject.org/poky\n[url "${layer}"]\n\tinsteadOf = https://git.example.invalid/meta-yf-offline\n`);
        writeFileSync(
          path.join(project, 'layers.yaml'),
          [
            'version: 1',
            'series: scarthgap',
            'repos:',
            '  poky:',
            '    url: https://git.yoctoproject.org/poky',
            '    layers: [meta, meta-poky]',
            '  meta-yf-offline:',
            '    url: https://git.example.invalid/meta-yf-offline',
            'build_env:',
            `  base_image: ${baseImage}`,
            'targets:',
            '  hello:',
            '    image: yf-hello-native',
            '    machine: qemux86-64',
            '    local_conf: |',
            `      PREMIRRORS:prepend = "https://downloads.example.invalid/.* file://${mirror}/"`,
            '      BB_NO_NETWORK = "1"',
            '',
          ].join('\n'),
        );
        const env = { ...process.env, GIT_CONFIG_GLOBAL: gitconfig, GIT_CONFIG_NOSYSTEM: '1', YOCTOFORGE_CACHE_DIR: path.join(work, 'cache'), YOCTOFORGE_MIN_FREE_GIB: '1' };
        let r = runCli(['build'], { cwd: project, env });
        expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);

        const bundle = path.join(work, 'hello.bundle.tar.gz');
        r = runCli(['bundle', '--downloads', '-o', bundle], { cwd: project, env });
        expect(r.code, r.stderr).toBe(0);
        rmSync(mirror, { recursive: true, force: true });

        // a new machine: no git mirrors, empty caches, nothing reachable
        const offlineGit = path.join(work, 'offline.gitconfig');
        writeFileSync(offlineGit, '');
        const offline = { ...process.env, GIT_CONFIG_GLOBAL: offlineGit, GIT_CONFIG_NOSYSTEM: '1', YOCTOFORGE_CACHE_DIR: path.join(work, 'cache2'), YOCTOFORGE_MIN_FREE_GIB: '1' };
        const restored = path.join(work, 'restored');
        r = runCli(['init', restored, '--from-bundle', bundle], { env: offline });
        expect(r.code, r.stderr).toBe(0);
        r = runCli(['build'], { cwd: restored, env: offline });
        expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
        expect(r.stdout).toMatch(/yf-hello-native:do_fetch/);
        const fetched = path.join(work, 'cache2', 'downloads', 'yf-hello-1.0.tar.gz');
        expect(readFileSync(fetched).equals(readFileSync(path.join(restored, 'bundle-downloads', 'yf-hello-1.0.tar.gz')))).toBe(true);
        const installed = execFileSync('find', [path.join(restored, 'build', 'hello', 'tmp', 'work'), '-path', '*image*/yf-hello'], { encoding: 'utf8' }).trim();
        expect(installed).not.toBe('');
      },
      1_800_000,
    );
  });
}
