// Publishing sstate objects to a mirror, for real: a directory mirror (our own copier) and rsync
// (to a path and to a real rsync daemon over rsync://), incremental, never overwriting, and a
// publish killed halfway leaving only whole objects.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listSstateFiles } from '../../src/cache/objects.js';
import { parsePublishTarget, publishSstate, STAGING_DIR } from '../../src/cache/publish.js';
import { CLI, runCli, tempDir } from '../helpers/git-fixtures.js';
import { makeSstateTree } from '../helpers/sstate-fixtures.js';

const work = tempDir('publish');
afterAll(() => rmSync(work, { recursive: true, force: true }));
const hasRsync = spawnSync('rsync', ['--version'], { stdio: 'ignore' }).status === 0;

/** Every sstate file of the mirror, each byte for byte the same as the local one. */
function expectWholeCopies(mirror: string, local: string): number {
  let n = 0;
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== STAGING_DIR) walk(path.join(dir, e.name), r);
      } else if (e.name.startsWith('sstate:')) {
        expect(readFileSync(path.join(mirror, r)).equals(readFileSync(path.join(local, r))), r).toBe(true);
        n++;
      }
    }
  };
  walk(mirror, '');
  return n;
}

describe('publish targets', () => {
  it('reads directories, HOST:PATH and rsync:// as rsync, s3:// as a bucket', () => {
    expect(parsePublishTarget('/srv/sstate')).toEqual({ kind: 'directory', path: '/srv/sstate' });
    expect(parsePublishTarget('mirror', '/p')).toEqual({ kind: 'directory', path: '/p/mirror' });
    expect(parsePublishTarget('./a:b', '/p')).toEqual({ kind: 'directory', path: '/p/a:b' });
    expect(parsePublishTarget('builder@cache.example.com:/srv/sstate')).toEqual({
      kind: 'rsync',
      destination: 'builder@cache.example.com:/srv/sstate/',
    });
    expect(parsePublishTarget('rsync://cache.example.com/sstate')).toEqual({
      kind: 'rsync',
      destination: 'rsync://cache.example.com/sstate/',
    });
    expect(parsePublishTarget('s3://team-sstate/scarthgap/')).toEqual({ kind: 's3', bucket: 'team-sstate', prefix: 'scarthgap' });
    expect(() => parsePublishTarget('s3://A_B')).toThrow(/bucket/);
  });
});

describe('publish to a directory', () => {
  it('copies objects and .siginfo files only, then only what is new, and never overwrites', async () => {
    const local = path.join(work, 'dir-local');
    const mirror = path.join(work, 'dir-mirror');
    const objects = makeSstateTree(local, 30);
    let r = await publishSstate(local, { kind: 'directory', path: mirror });
    expect(r).toMatchObject({ uploaded: 60, present: 0, conflicts: [] });
    expect(expectWholeCopies(mirror, local)).toBe(60);
    // BitBake's half-written temp file and the lock stayed home
    expect((await listSstateFiles(mirror)).length).toBe(60);
    expect(
      readdirSync(path.join(mirror, path.dirname(objects[0]!))).filter((n) => !n.endsWith('.tar.zst') && !n.endsWith('.siginfo')),
    ).toEqual([]);
    expect(readdirSync(path.join(mirror, STAGING_DIR))).toEqual([]);

    makeSstateTree(local, 35); // the same 30 and 5 more
    // a local object rebuilt with other content (and size) must not replace the mirror's
    const rebuilt = objects[1]!;
    writeFileSync(path.join(local, rebuilt), 'different content');
    r = await publishSstate(local, { kind: 'directory', path: mirror });
    expect(r.uploaded).toBe(10);
    expect(r.present).toBe(59);
    expect(r.conflicts).toEqual([rebuilt]);
    expect(statSync(path.join(mirror, rebuilt)).size).toBe(4096);
  });

  it('leaves only whole objects when killed halfway, and the next publish completes', async () => {
    const local = path.join(work, 'kill-local');
    const mirror = path.join(work, 'kill-mirror');
    makeSstateTree(local, 120, 1 << 20);
    const project = path.join(work, 'kill-project');
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'layers.yaml'),
      'repos:\n  poky:\n    url: https://git.example.invalid/poky\ntargets:\n  t:\n    image: core-image-base\n',
    );
    const child = spawn(process.execPath, [CLI, 'cache', 'publish', mirror], {
      cwd: project,
      env: { ...process.env, CI: 'true', YOCTOFORGE_SSTATE_DIR: local },
      stdio: 'ignore',
    });
    // kill it once some objects are on the mirror
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (!existsSync(mirror) || (await listSstateFiles(mirror)).length < 20))
      await new Promise((res) => setTimeout(res, 20));
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    const partial = expectWholeCopies(mirror, local);
    expect(partial).toBeGreaterThanOrEqual(20);
    expect(partial).toBeLessThan(240);
    // its staging folder (a dead process) goes at the next publish, which finishes the job
    expect(readdirSync(path.join(mirror, STAGING_DIR)).length).toBe(1);
    const r = runCli(['cache', 'publish', mirror, '--json'], { cwd: project, env: { ...process.env, YOCTOFORGE_SSTATE_DIR: local } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ uploaded: 240 - partial, present: partial, conflicts: [] });
    expect(expectWholeCopies(mirror, local)).toBe(240);
    expect(readdirSync(path.join(mirror, STAGING_DIR))).toEqual([]);
  });

  it('says what is missing, with exit 2, when there is no target', () => {
    const project = path.join(work, 'no-target');
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'layers.yaml'),
      'repos:\n  poky:\n    url: https://git.example.invalid/poky\ntargets:\n  t:\n    image: core-image-base\n',
    );
    const r = runCli(['cache', 'publish'], { cwd: project });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no publish target/);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!hasRsync)('publish with rsync', () => {
  it('publishes to a path and to an rsync daemon, incrementally, never overwriting', async () => {
    const local = path.join(work, 'rsync-local');
    const objects = makeSstateTree(local, 20);
    // rsync to a local path: the same code path as HOST:PATH over ssh
    const byPath = path.join(work, 'rsync-path');
    mkdirSync(byPath);
    let r = await publishSstate(local, { kind: 'rsync', destination: `${byPath}/` });
    expect(r).toMatchObject({ uploaded: 40, present: 0 });
    expect(expectWholeCopies(byPath, local)).toBe(40);

    // a real rsync daemon with a writable module
    const module = path.join(work, 'rsync-module');
    mkdirSync(module);
    const port = await freePort();
    const conf = path.join(work, 'rsyncd.conf');
    writeFileSync(
      conf,
      `use chroot = false\nuid = ${process.getuid?.() ?? 0}\ngid = ${process.getgid?.() ?? 0}\n[sstate]\n  path = ${module}\n  read only = false\n`,
    );
    const daemon = spawn('rsync', ['--daemon', '--no-detach', `--port=${port}`, `--config=${conf}`, '--address=127.0.0.1'], {
      stdio: 'ignore',
    });
    try {
      for (let i = 0; i < 50; i++) {
        if (spawnSync('rsync', [`rsync://127.0.0.1:${port}/`], { stdio: 'ignore' }).status === 0) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const url = `rsync://127.0.0.1:${port}/sstate/`;
      r = await publishSstate(local, parsePublishTarget(url));
      expect(r).toMatchObject({ uploaded: 40, present: 0 });
      writeFileSync(path.join(local, objects[0]!), 'rebuilt');
      makeSstateTree(local, 22);
      r = await publishSstate(local, parsePublishTarget(url));
      expect(r).toMatchObject({ uploaded: 4, present: 40 });
      expect(statSync(path.join(module, objects[0]!)).size).toBe(4096);
    } finally {
      daemon.kill();
    }
  });
});
