// Run as root, yoctoforge hands the build to an unprivileged user. What changes owner is only what
// yoctoforge created (and the target's build directory, never through a link); system
// directories are never caches; nothing holding an engine socket is mounted.
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMountsHoldNoEngineSocket, containerArgv } from '../../src/engine/container.js';
import { prepareWritableDirs } from '../../src/engine/workspace.js';
import { projectPaths } from '../../src/manifest/paths.js';
import type { Project } from '../../src/manifest/load.js';
import { tempDir } from '../helpers/git-fixtures.js';

const isRoot = process.getuid?.() === 0;
const user = { uid: 1000, gid: 1000 };

describe.runIf(isRoot)('handing the build to another user (as root)', () => {
  it('a link in the build directory to a root-owned file outside: the file keeps its owner and mode', async () => {
    const root = tempDir('own');
    const secret = path.join(root, 'secret');
    writeFileSync(secret, 'root only\n');
    chmodSync(secret, 0o600);
    const build = path.join(root, 'project', 'build', 't');
    mkdirSync(build, { recursive: true });
    symlinkSync(secret, path.join(build, 'link'));
    symlinkSync(root, path.join(build, 'dirlink'));
    await prepareWritableDirs([{ dir: build, what: 'build directory', own: true }], user);
    expect(statSync(secret).uid).toBe(0);
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(statSync(root).uid).toBe(0);
    expect(statSync(build).uid).toBe(1000);
  });

  it('an existing root-owned tree named as a cache is refused with the fix, and keeps its owner', async () => {
    const tree = path.join(tempDir('own'), 'tree');
    mkdirSync(path.join(tree, 'deep'), { recursive: true });
    writeFileSync(path.join(tree, 'deep', 'f'), 'x');
    await expect(prepareWritableDirs([{ dir: tree, what: 'downloads cache' }], user)).rejects.toThrow(
      /downloads cache .*tree belongs to 0:0 and BitBake runs as 1000:1000 .*`chown -R 1000:1000 .*tree`/,
    );
    expect(statSync(tree).uid).toBe(0);
    expect(statSync(path.join(tree, 'deep', 'f')).uid).toBe(0);
  });

  it('directories yoctoforge creates are handed over, their existing parents are not', async () => {
    const parent = tempDir('own');
    chmodSync(parent, 0o755);
    const cache = path.join(parent, 'a', 'b', 'downloads');
    await prepareWritableDirs([{ dir: cache, what: 'downloads cache' }], user);
    for (const d of [cache, path.dirname(cache), path.join(parent, 'a')]) expect(statSync(d).uid).toBe(1000);
    expect(statSync(parent).uid).toBe(0);
  });

  it('a cache under /root is refused up front with the reason and the fix', async () => {
    const dir = path.join('/root', `.yf-hostile-${process.pid}`, 'downloads');
    await expect(prepareWritableDirs([{ dir, what: 'downloads cache' }], user)).rejects.toThrow(
      /is under \/root, which BitBake \(running as 1000:1000; it refuses root\) cannot enter: .*\/var\/cache\/yoctoforge/,
    );
  });

  it('the default caches of root are outside /root', () => {
    const project = { dir: '/srv/p', manifest: { repos: {}, targets: {} } } as unknown as Project;
    const paths = projectPaths(project, {});
    expect(paths.cacheRoot).toBe('/var/cache/yoctoforge');
  });
});

describe('system directories are never caches or build directories', () => {
  const cases = [
    '/',
    '/etc',
    '/etc/yf',
    '/var/run',
    '/run/yf',
    '/proc/sys/yf/x',
    '/proc/yf',
    '/sys/kernel',
    '/dev/shm/x',
    '/usr',
    '/root',
    '/var/lib/docker/x',
  ];
  for (const dir of cases) {
    it(`${dir} is refused before anything is created`, async () => {
      const started = Date.now();
      await expect(prepareWritableDirs([{ dir, what: 'downloads cache' }], user)).rejects.toThrow(
        /is (under the system directory \S+|a system directory)/,
      );
      expect(Date.now() - started).toBeLessThan(2000);
    });
  }

  it('a link to a system directory is refused too', async () => {
    const link = path.join(tempDir('sys'), 'cache');
    symlinkSync('/etc', link);
    await expect(prepareWritableDirs([{ dir: path.join(link, 'dl'), what: 'downloads cache' }], user)).rejects.toThrow(
      /under the system directory \/etc/,
    );
  });

  it('a cache that is a file is one line naming it', async () => {
    const file = path.join(tempDir('file'), 'cache');
    writeFileSync(file, '');
    await expect(prepareWritableDirs([{ dir: file, what: 'sstate cache' }], user)).rejects.toThrow(
      /^sstate cache .*cache is not a directory$/,
    );
  });
});

describe('nothing that holds an engine socket is mounted', () => {
  const spec = { engine: 'docker' as const, image: 'img', user, name: 'n', workdir: '/w', env: {}, script: 'true', tty: false };
  it('a mount holding the socket named by DOCKER_HOST is refused', () => {
    const dir = tempDir('sock');
    const socket = path.join(dir, 'run', 'engine.sock');
    mkdirSync(path.dirname(socket));
    writeFileSync(socket, '');
    expect(() => containerArgv({ ...spec, mounts: ['/w', dir] }, { DOCKER_HOST: `unix://${socket}` })).toThrow(
      /holds the container engine's socket/,
    );
    expect(() => containerArgv({ ...spec, mounts: ['/w', path.join(dir, 'other')] }, { DOCKER_HOST: `unix://${socket}` })).not.toThrow();
  });
  it.runIf(statSync('/var/run/docker.sock', { throwIfNoEntry: false }) !== undefined)(
    '/var/run (a link to /run) is refused: it holds docker.sock',
    () => {
      expect(() => checkMountsHoldNoEngineSocket(['/var/run'], {})).toThrow(/\/var\/run holds the container engine's socket/);
    },
  );
});
