import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerArgv, type RunSpec } from '../../src/engine/container.js';
import { buildEnvSeries, buildEnvTag, chooseBaseImage } from '../../src/engine/image.js';
import { tempDir } from '../helpers/git-fixtures.js';

const spec: RunSpec = {
  engine: 'docker',
  envImage: 'yoctoforge-buildenv:0123456789abcdef',
  user: { uid: 1234, gid: 2345 },
  name: 'yoctoforge-pi-42',
  mounts: [
    '/home/u/proj',
    '/home/u/proj/layers',
    '/home/u/proj/build',
    '/home/u/.cache/yoctoforge/downloads',
    '/home/u/.cache/yoctoforge/sstate-cache',
  ],
  workdir: '/home/u/proj/build/pi',
  env: { BB_NO_NETWORK: '1' },
  script: 'bitbake core-image-base',
  tty: false,
};

describe('container command lines', () => {
  it('Docker: the host uid/gid, same-path mounts (nested ones folded), --init, --rm, a name to stop it by', () => {
    expect(containerArgv(spec, {})).toEqual([
      'run',
      '--rm',
      '--init',
      '--name',
      'yoctoforge-pi-42',
      '--workdir',
      '/home/u/proj/build/pi',
      '--user',
      '1234:2345',
      '-i',
      '--volume',
      '/home/u/proj:/home/u/proj',
      '--volume',
      '/home/u/.cache/yoctoforge/downloads:/home/u/.cache/yoctoforge/downloads',
      '--volume',
      '/home/u/.cache/yoctoforge/sstate-cache:/home/u/.cache/yoctoforge/sstate-cache',
      '--env',
      'BB_NO_NETWORK=1',
      'yoctoforge-buildenv:0123456789abcdef',
      'bash',
      '-c',
      'bitbake core-image-base',
    ]);
  });

  it('Podman (rootless): --userns=keep-id keeps the host uid inside, no --user, labels off for the mounts', () => {
    const argv = containerArgv({ ...spec, engine: 'podman', rootless: true }, {});
    expect(argv.slice(0, 11)).toEqual([
      'run',
      '--rm',
      '--init',
      '--name',
      'yoctoforge-pi-42',
      '--workdir',
      '/home/u/proj/build/pi',
      '--security-opt',
      'label=disable',
      '--userns=keep-id',
      '-i',
    ]);
    expect(argv).not.toContain('--user');
  });

  it('Podman run by root: no keep-id (rootless only), the build user as --user', () => {
    const argv = containerArgv({ ...spec, engine: 'podman', rootless: false }, {});
    expect(argv).not.toContain('--userns=keep-id');
    expect(argv.slice(7, 12)).toEqual(['--security-opt', 'label=disable', '--user', '1234:2345', '-i']);
  });

  it('never privileged, never the engine socket; an SSH agent only when there is one', () => {
    const dir = tempDir('agent');
    const socket = path.join(dir, 'agent.sock');
    writeFileSync(socket, '');
    for (const engine of ['docker', 'podman'] as const) {
      const argv = containerArgv({ ...spec, engine }, { SSH_AUTH_SOCK: socket });
      expect(argv.join(' ')).not.toMatch(/--privileged|docker\.sock|podman\.sock|--cap-add/);
      expect(argv).toContain(`${socket}:/run/yoctoforge/ssh-agent.sock`);
      expect(argv).toContain('SSH_AUTH_SOCK=/run/yoctoforge/ssh-agent.sock');
    }
    expect(containerArgv(spec, { SSH_AUTH_SOCK: path.join(dir, 'gone.sock') }).join(' ')).not.toContain('ssh-agent');
    rmSync(dir, { recursive: true, force: true });
  });

  it('an interactive shell gets a terminal', () => {
    expect(containerArgv({ ...spec, tty: true }, {})).toContain('-it');
  });
});

describe('build environment image', () => {
  const dir = tempDir('dockerdir');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is tagged by the content of docker/, the base image and the build ids', async () => {
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM x\n');
    writeFileSync(path.join(dir, 'sub', 'helper.sh'), 'echo hi\n');
    const user = { uid: 1000, gid: 1000 };
    const tag = await buildEnvTag('debian:12', user, dir);
    expect(tag).toMatch(/^yoctoforge-buildenv:[0-9a-f]{16}$/);
    expect(await buildEnvTag('debian:12', user, dir)).toBe(tag);
    expect(await buildEnvTag('ubuntu:24.04', user, dir)).not.toBe(tag);
    expect(await buildEnvTag('debian:12', { uid: 1001, gid: 1000 }, dir)).not.toBe(tag);
    // another release's host packages make another image
    expect(await buildEnvTag('debian:12', user, dir, 'wrynose')).not.toBe(tag);
    expect(await buildEnvTag('debian:12', user, dir, 'scarthgap')).toBe(tag);
    writeFileSync(path.join(dir, 'sub', 'helper.sh'), 'echo hello\n');
    expect(await buildEnvTag('debian:12', user, dir)).not.toBe(tag);
  });

  it('has a host-package list for every release it knows, and falls back to the default one', async () => {
    expect(await buildEnvSeries('wrynose')).toBe('wrynose');
    expect(await buildEnvSeries('scarthgap')).toBe('scarthgap');
    expect(await buildEnvSeries('styhead')).toBe('scarthgap');
  });

  it('takes the base image from the flag, then the manifest, then YOCTOFORGE_BASE_IMAGE, then Debian 12', () => {
    const saved = process.env.YOCTOFORGE_BASE_IMAGE;
    delete process.env.YOCTOFORGE_BASE_IMAGE;
    expect(chooseBaseImage(undefined, undefined)).toBe('debian:12');
    process.env.YOCTOFORGE_BASE_IMAGE = 'local/debian:12';
    expect(chooseBaseImage(undefined, undefined)).toBe('local/debian:12');
    expect(chooseBaseImage(undefined, 'site/ubuntu:22.04')).toBe('site/ubuntu:22.04');
    expect(chooseBaseImage('cli/img:1', 'site/ubuntu:22.04')).toBe('cli/img:1');
    if (saved === undefined) delete process.env.YOCTOFORGE_BASE_IMAGE;
    else process.env.YOCTOFORGE_BASE_IMAGE = saved;
  });
});
