// A team's shared cache, with real BitBake: `yoctoforge cache serve` starts BitBake's own hash
// server and an HTTP server for an sstate mirror; machine A (a CI runner: role read-write, its
// own user, caches and container) builds an offline native recipe and publishes; machine B (a
// developer: read-only, another user, empty caches) builds the same recipe and must restore every
// task from the mirror ("Mirrors N", not "Local"), with the equivalences read from the server and
// nothing written to it. Needs YOCTOFORGE_REAL_LAYERS (poky is enough) and Docker.
// Measured here (2 shared cores, load 7-10): A 43.7 s, B 28.1 s with Mirrors 6 of 6 and Local 0,
// ratio 0.64; the whole test 12.5 min, nearly all of it building B's build environment image
// (its own uid) on the first run; the images are kept: the next run took 2 min 52 s.
// YOCTOFORGE_BENCH_OUT=FILE writes the two build times there (bench/cache.mjs).
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { HashservClient } from '../../src/cache/hashserv.js';
import { defaultServeHost } from '../../src/cache/serve.js';
import { runCli } from '../helpers/git-fixtures.js';
import { describeRealBitbake, makeRecipeLayer, nativeHelloRecipe, TEST_BASE_IMAGE, writeMirrorGitconfig } from '../helpers/real-bitbake.js';

async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (port < 65000) return port;
  }
}

let port = 0;
afterAll(() => {
  if (port)
    spawnSync('docker', ['rm', '--force', `yoctoforge-hashserv-${port}`, `yoctoforge-sstate-http-${port + 1}`], { stdio: 'ignore' });
});

describeRealBitbake('shared sstate mirror and hash server (real BitBake)', 'shared-cache', (work) => {
  it('a second machine restores every task from the mirror a first one published to, and cannot write to the hash server', async () => {
    port = await freePortPair();
    const host = defaultServeHost();
    const layer = makeRecipeLayer(work, 'meta-yf-shared', 'yfshared', {
      'recipes-test/yf-hello/yf-hello-native_1.0.bb': nativeHelloRecipe('A native recipe built once and shared', {
        srcUri: 'file://hello.sh',
        s: '${WORKDIR}',
      }),
      'recipes-test/yf-hello/files/hello.sh': '#!/bin/sh\necho hello from the shared cache\n',
    });
    const gitconfig = path.join(work, 'gitconfig');
    writeMirrorGitconfig(gitconfig, [layer]);
    const server = path.join(work, 'server');
    const manifest = [
      'version: 1',
      'series: scarthgap',
      'repos:',
      '  poky:',
      '    url: https://git.yoctoproject.org/poky',
      '    layers: [meta, meta-poky]',
      '  meta-yf-shared:',
      `    url: ${layer.url}`,
      'cache:',
      '  shared:',
      `    sstate_url: http://${host}:${port + 1}`,
      `    hashserve: ${host}:${port}`,
      `    publish: ${server}/sstate-mirror`,
      'build_env:',
      `  base_image: ${TEST_BASE_IMAGE}`,
      'targets:',
      '  hello:',
      '    image: yf-hello-native',
      '    machine: qemux86-64',
      '    local_conf: |',
      // no internet here: no uninative download, no connectivity check (the mirror and the hash
      // server are on this machine)
      '      INHERIT:remove = "uninative"',
      '      CONNECTIVITY_CHECK_URIS = ""',
      // the proof needs only the test layer's recipe (it depends on no other): masking poky's
      // recipes takes each machine's parse from minutes to seconds
      '      BBMASK += "/meta/recipes- /meta-poky/recipes-"',
      '',
    ].join('\n');
    // two machines: their own folder, owner (BitBake's uid), caches and container
    const machine = (name: string, uid: number): { dir: string; env: NodeJS.ProcessEnv } => {
      const dir = path.join(work, name);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'layers.yaml'), manifest);
      chownSync(dir, uid, uid);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        GIT_CONFIG_GLOBAL: gitconfig,
        GIT_CONFIG_NOSYSTEM: '1',
        YOCTOFORGE_CACHE_DIR: path.join(work, `${name}-cache`),
        YOCTOFORGE_MIN_FREE_GIB: '1',
      };
      delete env.YOCTOFORGE_CACHE_ROLE;
      return { dir, env };
    };
    const a = machine('ci-runner', 1101);
    const b = machine('developer', 1102);

    let r = runCli(['sync'], { cwd: a.dir, env: a.env });
    expect(r.code, r.stderr).toBe(0);
    r = runCli(['cache', 'serve', '--port', String(port), '--dir', server, '--host', host], { cwd: a.dir, env: a.env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`sstate_url: http://${host}:${port + 1}`);
    expect(r.stdout).toContain(`hashserve: ${host}:${port}`);
    const token = readFileSync(path.join(server, 'hashserv', 'ci.token'), 'utf8').trim();
    expect(r.stdout).not.toContain(token);
    const ciEnv = { ...a.env, YOCTOFORGE_CACHE_ROLE: 'read-write', BB_HASHSERVE_USERNAME: 'ci', BB_HASHSERVE_PASSWORD: token };

    // A: the read-write role talks to the team's server directly; the login stays out of the conf
    r = runCli(['config'], { cwd: a.dir, env: ciEnv });
    expect(r.code, r.stderr).toBe(0);
    const confA = readFileSync(path.join(a.dir, 'build', 'hello', 'conf', 'local.conf'), 'utf8');
    expect(confA).toContain(`BB_HASHSERVE = "${host}:${port}"`);
    expect(confA).not.toContain(token);
    r = runCli(['build'], { cwd: a.dir, env: ciEnv });
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const reportA = JSON.parse(readFileSync(path.join(a.dir, 'build', 'hello', 'report.json'), 'utf8'));
    expect(reportA.sstate.mirrors).toBe(0);

    r = runCli(['cache', 'publish', '--json'], { cwd: a.dir, env: ciEnv });
    expect(r.code, r.stderr).toBe(0);
    const published = JSON.parse(r.stdout);
    expect(published.uploaded).toBeGreaterThan(0);
    expect(published.conflicts).toEqual([]);

    // the server holds A's equivalences: `cache status` counts them with a login that may read
    // the database (@db-admin: the server's admin here; the ci login may only read and report)
    const adminEnv = {
      ...ciEnv,
      BB_HASHSERVE_USERNAME: 'yoctoforge-admin',
      BB_HASHSERVE_PASSWORD: readFileSync(path.join(server, 'hashserv', 'admin.token'), 'utf8').trim(),
    };
    r = runCli(['cache', 'status', '--json'], { cwd: a.dir, env: adminEnv });
    expect(r.code, r.stderr).toBe(0);
    const statusA = JSON.parse(r.stdout);
    expect(statusA.hashserve).toMatchObject({ reachable: true, role: 'read-write' });
    expect(statusA.hashserve.equivalences).toBeGreaterThan(0);
    expect(statusA.mirror.objects).toBeGreaterThan(0);

    // B: read-only, its own empty caches, another uid
    r = runCli(['sync'], { cwd: b.dir, env: b.env });
    expect(r.code, r.stderr).toBe(0);
    r = runCli(['build'], { cwd: b.dir, env: b.env });
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const reportB = JSON.parse(readFileSync(path.join(b.dir, 'build', 'hello', 'report.json'), 'utf8'));
    expect(reportB.sstate.wanted).toBeGreaterThan(0);
    expect(reportB.sstate).toMatchObject({ local: 0, mirrors: reportB.sstate.wanted, missed: 0 });
    const logB = readFileSync(path.join(b.dir, reportB.log), 'utf8');
    expect(logB).toMatch(new RegExp(`Sstate summary: Wanted ${reportB.sstate.wanted} Local 0 Mirrors ${reportB.sstate.wanted} Missed 0`));
    const confB = readFileSync(path.join(b.dir, 'build', 'hello', 'conf', 'local.conf'), 'utf8');
    expect(confB).toContain('BB_HASHSERVE = "auto"');
    expect(confB).toContain(`BB_HASHSERVE_UPSTREAM = "${host}:${port}"`);
    // the recipe's output is in B's sysroot without B having run its install
    expect(reportB.tasks?.attempted ?? 0).toBeLessThanOrEqual(reportA.tasks.attempted);
    expect(logB).not.toMatch(/yf-hello-native[^\n]*do_install(?!_setscene)/);

    r = runCli(['cache', 'status', '--json'], { cwd: b.dir, env: b.env });
    const statusB = JSON.parse(r.stdout);
    expect(statusB.hashserve).toMatchObject({ reachable: true, role: 'read-only' });
    expect(statusB.builds[0]).toMatchObject({ target: 'hello', hitPercent: 100, mirrors: reportB.sstate.wanted });

    // nothing B did wrote to the server, and an anonymous report is not kept; the ci login's is
    const writer = await HashservClient.connect(`localhost:${port}`);
    await writer.auth('ci', token);
    const reader = await HashservClient.connect(`localhost:${port}`);
    try {
      const fake = (c: string): string => c.repeat(64);
      await reader.report('oe.sstatesig.OEOuthashBasic', fake('a'), fake('b'), fake('c'));
      expect(await reader.get('oe.sstatesig.OEOuthashBasic', fake('a'))).toBeUndefined();
      await writer.report('oe.sstatesig.OEOuthashBasic', fake('d'), fake('e'), fake('f'));
      expect(await reader.get('oe.sstatesig.OEOuthashBasic', fake('d'))).toBe(fake('f'));
    } finally {
      writer.close();
      reader.close();
    }
    const rows = JSON.parse(runCli(['cache', 'status', '--json'], { cwd: a.dir, env: adminEnv }).stdout).hashserve.equivalences;
    expect(rows).toBe(statusA.hashserve.equivalences + 1);

    const ratio = reportB.durationSeconds / reportA.durationSeconds;
    console.log(
      `shared-cache: machine A built in ${reportA.durationSeconds} s (${reportA.tasks.attempted} tasks) and published ${published.uploaded} files; the hash server held ${statusA.hashserve.equivalences} equivalences; machine B built in ${reportB.durationSeconds} s from the mirror (Mirrors ${reportB.sstate.mirrors} of ${reportB.sstate.wanted}, Local ${reportB.sstate.local}); ratio B/A ${ratio.toFixed(2)}`,
    );
    if (process.env.YOCTOFORGE_BENCH_OUT) {
      writeFileSync(
        process.env.YOCTOFORGE_BENCH_OUT,
        JSON.stringify({
          first: reportA.durationSeconds,
          second: reportB.durationSeconds,
          published: published.uploaded,
          wanted: reportB.sstate.wanted,
          mirrors: reportB.sstate.mirrors,
          equivalences: statusA.hashserve.equivalences,
        }),
      );
    }
  }, 3_600_000);
});
