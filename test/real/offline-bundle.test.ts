// An offline build from a bundle, with real BitBake: a native recipe whose source is a tarball
// on an unreachable server is built once (its source supplied by a local mirror), bundled with
// --downloads, the mirror deleted, restored into a new folder with empty caches, and built again:
// the only place its source can come from is the bundle. Needs YOCTOFORGE_REAL_LAYERS (poky is
// enough) and a Docker engine with the test base image.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../helpers/git-fixtures.js';
import { describeRealBitbake, makeRecipeLayer, nativeHelloRecipe, TEST_BASE_IMAGE, writeMirrorGitconfig } from '../helpers/real-bitbake.js';

const baseImage = TEST_BASE_IMAGE;

describeRealBitbake('offline build from a bundle (real BitBake)', 'offline-bundle', (work) => {
  it('builds a recipe whose source exists only in the bundle, with the network unreachable', () => {
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

    const layer = makeRecipeLayer(work, 'meta-yf-offline', 'yfoffline', {
      'recipes-test/yf-hello/yf-hello-native_1.0.bb': nativeHelloRecipe('A native recipe whose source only an offline bundle holds', {
        srcUri: 'https://downloads.example.invalid/yf-hello-1.0.tar.gz',
        sha256: sum,
        s: '${WORKDIR}/yf-hello-1.0',
      }),
    });

    const gitconfig = path.join(work, 'gitconfig');
    writeMirrorGitconfig(gitconfig, [layer]);
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
    const env = {
      ...process.env,
      GIT_CONFIG_GLOBAL: gitconfig,
      GIT_CONFIG_NOSYSTEM: '1',
      YOCTOFORGE_CACHE_DIR: path.join(work, 'cache'),
      YOCTOFORGE_MIN_FREE_GIB: '1',
    };
    let r = runCli(['build'], { cwd: project, env });
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);

    const bundle = path.join(work, 'hello.bundle.tar.gz');
    r = runCli(['bundle', '--downloads', '-o', bundle], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    rmSync(mirror, { recursive: true, force: true });

    // a new machine: no git mirrors, empty caches, nothing reachable
    const offlineGit = path.join(work, 'offline.gitconfig');
    writeFileSync(offlineGit, '');
    const offline = {
      ...process.env,
      GIT_CONFIG_GLOBAL: offlineGit,
      GIT_CONFIG_NOSYSTEM: '1',
      YOCTOFORGE_CACHE_DIR: path.join(work, 'cache2'),
      YOCTOFORGE_MIN_FREE_GIB: '1',
    };
    const restored = path.join(work, 'restored');
    r = runCli(['init', restored, '--from-bundle', bundle], { env: offline });
    expect(r.code, r.stderr).toBe(0);
    r = runCli(['build'], { cwd: restored, env: offline });
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/yf-hello-native:do_fetch/);
    const fetched = path.join(work, 'cache2', 'downloads', 'yf-hello-1.0.tar.gz');
    expect(readFileSync(fetched).equals(readFileSync(path.join(restored, 'bundle-downloads', 'yf-hello-1.0.tar.gz')))).toBe(true);
    const installed = execFileSync('find', [path.join(restored, 'build', 'hello', 'tmp', 'work'), '-path', '*image*/yf-hello'], {
      encoding: 'utf8',
    }).trim();
    expect(installed).not.toBe('');
  }, 1_800_000);
});
