import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/manifest/load.js';
import { readLock } from '../../src/lock/lock.js';
import { syncLayers } from '../../src/layers/sync.js';
import { EnvironmentError, OperationError } from '../../src/errors.js';
import {
  advanceUpstream,
  CLI,
  git,
  makeFixtureWorld,
  makeProject,
  makeUpstream,
  runCli,
  seedManifest,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => world.cleanup());

const head = (dir: string): string => git(dir, 'rev-parse', 'HEAD');

describe('sync', () => {
  it('clones every repo through insteadOf mirrors and locks the branch heads', async () => {
    const dir = makeProject(world, seedManifest(world));
    const result = await syncLayers(await loadProject(dir));
    expect(result.lockWritten).toBe(true);
    expect(result.repos.map((r) => r.action)).toEqual(['cloned', 'cloned', 'cloned', 'cloned']);
    const lock = await readLock(await loadProject(dir));
    for (const name of ['poky', 'meta-openembedded', 'meta-raspberrypi', 'meta-virtualization']) {
      const upstream = world.upstreams[name]!;
      expect(lock?.repos[name]).toEqual({ url: upstream.url, branch: 'scarthgap', commit: upstream.commits[1] });
      expect(head(path.join(dir, 'layers', name))).toBe(upstream.commits[1]);
      // the origin stays the manifest's URL: the user's insteadOf keeps applying later
      expect(git(path.join(dir, 'layers', name), 'config', '--get', 'remote.origin.url')).toBe(upstream.url);
    }
    expect(readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8')).toMatch(/^# Exact commits/);
    expect(readdirSync(path.join(dir, 'layers')).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('stays at the locked commits without touching the network, and --update moves the lock', async () => {
    const up = makeUpstream(world.root, 'meta-moving', [
      { path: '.', conf: 'BBFILE_COLLECTIONS += "moving"\nLAYERSERIES_COMPAT_moving = "scarthgap"\n' },
    ]);
    writeFileSync(world.gitconfig, `${readFileSync(world.gitconfig, 'utf8')}[url "${up.bare}"]\n\tinsteadOf = ${up.url}\n`);
    const dir = makeProject(
      world,
      `repos:\n  moving:\n    url: ${up.url}\n    branch: scarthgap\ntargets:\n  t: { image: core-image-base, machine: qemux86-64 }\n`,
    );
    await syncLayers(await loadProject(dir));
    const third = advanceUpstream(world.root, up);

    // The upstream disappears: a warm sync must not need it.
    renameSync(up.bare, `${up.bare}.away`);
    try {
      const warm = await syncLayers(await loadProject(dir));
      expect(warm.repos[0]?.action).toBe('up-to-date');
      expect(warm.lockWritten).toBe(false);
    } finally {
      renameSync(`${up.bare}.away`, up.bare);
    }
    expect(head(path.join(dir, 'layers', 'moving'))).toBe(up.commits[1]);

    const updated = await syncLayers(await loadProject(dir), { update: true });
    expect(updated.repos[0]?.action).toBe('updated');
    expect(updated.lock.repos.moving?.commit).toBe(third);
    expect(head(path.join(dir, 'layers', 'moving'))).toBe(third);
  });

  it('checks out pinned commits and tags', async () => {
    const u = world.upstreams['meta-raspberrypi']!;
    const dir = makeProject(
      world,
      `repos:\n  pinned:\n    url: ${u.url}\n    commit: ${u.commits[0]}\n  tagged:\n    url: ${u.url}\n    tag: v1.0\ntargets:\n  t: { image: core-image-base, machine: raspberrypi4-64 }\n`,
    );
    const result = await syncLayers(await loadProject(dir));
    expect(result.lock.repos.pinned?.commit).toBe(u.commits[0]);
    expect(result.lock.repos.tagged).toEqual({ url: u.url, tag: 'v1.0', commit: u.commits[0] });
    expect(head(path.join(dir, 'layers', 'tagged'))).toBe(u.commits[0]);
  });

  it('--locked refuses a missing or stale lock, with exit code 2', async () => {
    const dir = makeProject(world, seedManifest(world));
    await expect(syncLayers(await loadProject(dir), { locked: true })).rejects.toThrow(/--locked: layers.lock.yaml does not exist/);
    await syncLayers(await loadProject(dir));
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      seedManifest(world).replace(
        '    layers: [meta, meta-poky, meta-yocto-bsp]',
        '    branch: kirkstone\n    layers: [meta, meta-poky, meta-yocto-bsp]',
      ),
    );
    const cli = runCli(['sync', '--locked'], { cwd: dir, env: world.env });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('yoctoforge: error: --locked: layers.lock.yaml does not match layers.yaml');
    expect(cli.stderr).toContain('poky: ref changed (branch scarthgap → branch kirkstone)');
    expect(cli.stderr).not.toMatch(/\n\s+at /);
  });

  it('never discards uncommitted changes: the repo is left as it is and reported', async () => {
    const u = world.upstreams['meta-virtualization']!;
    const dir = makeProject(
      world,
      `repos:\n  virt:\n    url: ${u.url}\n    commit: ${u.commits[1]}\ntargets:\n  t: { image: core-image-base, machine: raspberrypi4-64 }\n`,
    );
    await syncLayers(await loadProject(dir));
    const lockBefore = readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8');
    const readme = path.join(dir, 'layers', 'virt', 'README');
    writeFileSync(readme, 'my precious local change\n');
    writeFileSync(path.join(dir, 'layers.yaml'), readFileSync(path.join(dir, 'layers.yaml'), 'utf8').replace(u.commits[1]!, u.commits[0]!));

    const cli = runCli(['sync'], { cwd: dir, env: world.env });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/virt: has uncommitted changes \(README\); left at [0-9a-f]{12} instead of [0-9a-f]{12}/);
    expect(readFileSync(readme, 'utf8')).toBe('my precious local change\n');
    expect(head(path.join(dir, 'layers', 'virt'))).toBe(u.commits[1]);
    expect(readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8')).toBe(lockBefore);

    const forced = runCli(['sync', '--force'], { cwd: dir, env: world.env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(head(path.join(dir, 'layers', 'virt'))).toBe(u.commits[0]);
  });

  it('never moves away from local commits', async () => {
    const up = makeUpstream(world.root, 'meta-local', [{ path: '.', conf: 'BBFILE_COLLECTIONS += "local"\n' }]);
    writeFileSync(world.gitconfig, `${readFileSync(world.gitconfig, 'utf8')}[url "${up.bare}"]\n\tinsteadOf = ${up.url}\n`);
    const dir = makeProject(
      world,
      `repos:\n  local:\n    url: ${up.url}\ntargets:\n  t: { image: core-image-base, machine: qemux86-64 }\n`,
    );
    await syncLayers(await loadProject(dir));
    const checkout = path.join(dir, 'layers', 'local');
    writeFileSync(path.join(checkout, 'NOTES'), 'work in progress\n');
    git(checkout, 'add', 'NOTES');
    git(checkout, 'commit', '-q', '-m', 'my local work');
    const mine = head(checkout);
    advanceUpstream(world.root, up);

    const error = await syncLayers(await loadProject(dir), { update: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as OperationError).details.join('\n')).toMatch(
      /local: HEAD [0-9a-f]{12} has commits that no remote branch or tag contains; left as it is/,
    );
    expect(head(checkout)).toBe(mine);
  });

  it('supports shallow and blobless clones', async () => {
    const u = world.upstreams.poky!;
    const dir = makeProject(
      world,
      `repos:\n  poky:\n    url: ${u.url}\n    branch: scarthgap\n    layers: [meta]\ntargets:\n  t: { image: core-image-base, machine: qemux86-64 }\n`,
    );
    await syncLayers(await loadProject(dir), { cloneMode: 'shallow' });
    expect(git(path.join(dir, 'layers', 'poky'), 'rev-parse', '--is-shallow-repository')).toBe('true');
    expect(git(path.join(dir, 'layers', 'poky'), 'rev-list', '--count', 'HEAD')).toBe('1');

    const dir2 = makeProject(
      world,
      `repos:\n  poky:\n    url: ${u.url}\n    layers: [meta]\nsync:\n  clone: blobless\ntargets:\n  t: { image: core-image-base, machine: qemux86-64 }\n`,
    );
    const r = await syncLayers(await loadProject(dir2));
    expect(r.lock.repos.poky?.commit).toBe(u.commits[1]);
    expect(git(path.join(dir2, 'layers', 'poky'), 'config', 'remote.origin.partialclonefilter')).toBe('blob:none');
  });

  it('recovers from a sync killed in the middle of a clone', async () => {
    // A repository large enough that the clone is still running when we kill it.
    const big = makeUpstream(world.root, 'meta-big', [{ path: '.', conf: 'BBFILE_COLLECTIONS += "big"\n' }], {
      'blob.bin': randomBytes(32 * 1024 * 1024),
    });
    writeFileSync(world.gitconfig, `${readFileSync(world.gitconfig, 'utf8')}[url "${big.bare}"]\n\tinsteadOf = ${big.url}\n`);
    const dir = makeProject(world, `repos:\n  big:\n    url: ${big.url}\ntargets:\n  t: { image: core-image-base, machine: qemux86-64 }\n`);
    const layers = path.join(dir, 'layers');

    const child = spawn(process.execPath, [CLI, 'sync'], { cwd: dir, env: { ...world.env, CI: 'true' }, detached: true, stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(existsSync(layers) && readdirSync(layers).some((e) => e.startsWith('.big.partial-')))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readdirSync(layers).some((e) => e.startsWith('.big.partial-'))).toBe(true);
    expect(existsSync(path.join(layers, 'big'))).toBe(false);
    expect(existsSync(path.join(dir, 'layers.lock.yaml'))).toBe(false);

    const again = runCli(['sync'], { cwd: dir, env: world.env });
    expect(again.code, again.stderr).toBe(0);
    expect(head(path.join(layers, 'big'))).toBe(big.commits[1]);
    expect(readdirSync(layers).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('stops at once on SIGTERM: exit 130, git children gone, sync lock released, next sync completes', async () => {
    const big = makeUpstream(world.root, 'meta-big2', [{ path: '.', conf: 'BBFILE_COLLECTIONS += "big"\n' }], {
      'blob.bin': randomBytes(32 * 1024 * 1024),
    });
    writeFileSync(world.gitconfig, `${readFileSync(world.gitconfig, 'utf8')}[url "${big.bare}"]\n\tinsteadOf = ${big.url}\n`);
    const dir = makeProject(world, `repos:\n  big:\n    url: ${big.url}\ntargets:\n  t: { image: core-image-base, machine: qemux86-64 }\n`);
    const layers = path.join(dir, 'layers');
    const child = spawn(process.execPath, [CLI, 'sync'], {
      cwd: dir,
      env: { ...world.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(existsSync(layers) && readdirSync(layers).some((e) => e.startsWith('.big.partial-')))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const sent = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(Date.now() - sent).toBeLessThan(3000);
    expect(stderr).toContain('yoctoforge: error: interrupted by SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(spawnSync('pgrep', ['-f', `${big.bare}`]).status, 'a git process still reads the upstream').toBe(1);
    expect(existsSync(path.join(layers, '.yoctoforge-sync.lock'))).toBe(false);
    expect(existsSync(path.join(dir, 'layers.lock.yaml'))).toBe(false);
    const again = runCli(['sync'], { cwd: dir, env: world.env });
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(layers).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('takes over the lock and git locks of a sync that died', async () => {
    const dir = makeProject(world, seedManifest(world));
    await syncLayers(await loadProject(dir));
    const layers = path.join(dir, 'layers');
    writeFileSync(path.join(layers, '.yoctoforge-sync.lock'), '999999\n');
    writeFileSync(path.join(layers, 'poky', '.git', 'index.lock'), '');
    mkdirSync(path.join(layers, '.poky.partial-999999'));
    // force real git work in poky: move the pin
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      seedManifest(world).replace(
        '    layers: [meta, meta-poky, meta-yocto-bsp]',
        `    commit: ${world.upstreams.poky!.commits[0]}\n    layers: [meta, meta-poky, meta-yocto-bsp]`,
      ),
    );
    const result = await syncLayers(await loadProject(dir));
    expect(result.repos.find((r) => r.name === 'poky')?.action).toBe('updated');
    expect(readdirSync(layers).filter((e) => e.startsWith('.'))).toEqual([]);
  });

  it('refuses to run beside a live sync', async () => {
    const dir = makeProject(world, seedManifest(world));
    mkdirSync(path.join(dir, 'layers'));
    writeFileSync(path.join(dir, 'layers', '.yoctoforge-sync.lock'), `${process.ppid}\n`);
    await expect(syncLayers(await loadProject(dir))).rejects.toThrow(EnvironmentError);
  });

  it('keeps a half-written lock from ever being seen: the lock is replaced atomically', async () => {
    const dir = makeProject(world, seedManifest(world));
    await syncLayers(await loadProject(dir));
    const lockFile = path.join(dir, 'layers.lock.yaml');
    const before = statSync(lockFile).ino;
    utimesSync(lockFile, new Date(0), new Date(0));
    await syncLayers(await loadProject(dir), { update: true });
    // unchanged content: not rewritten at all
    expect(statSync(lockFile).mtimeMs).toBe(0);
    expect(statSync(lockFile).ino).toBe(before);
  });

  it('reports a repo that cannot be reached in one line per repo', () => {
    const dir = makeProject(
      world,
      `repos:\n  ghost:\n    url: https://git.example.invalid/does-not-exist\ntargets:\n  t: { image: core-image-base, machine: qemux86-64 }\n`,
    );
    const cli = runCli(['sync'], { cwd: dir, env: world.env });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^yoctoforge: error: sync incomplete: ghost not at the wanted commit/);
    expect(cli.stderr).toMatch(/ghost: clone of https:\/\/git\.example\.invalid\/does-not-exist failed: /);
    expect(existsSync(path.join(dir, 'layers', 'ghost'))).toBe(false);
  });
});
