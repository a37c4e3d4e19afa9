import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectStatus } from '../../src/commands/status.js';
import { advanceUpstream, git, makeFixtureWorld, makeProject, runCli, seedManifest, type FixtureWorld } from '../helpers/git-fixtures.js';

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => world.cleanup());

const cli = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { cwd: dir, env: { ...world.env, ...env } });
const statusOf = (dir: string, args: string[] = []): ProjectStatus => {
  const result = cli(dir, ['status', '--json', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ProjectStatus;
};

describe('status', () => {
  it('tells clean, dirty, local commits and branch checkouts apart, against the lock and the fetched branch head', () => {
    const dir = makeProject(world, seedManifest(world));
    expect(cli(dir, ['sync']).code).toBe(0);
    const layer = (name: string) => path.join(dir, 'layers', name);
    const u = world.upstreams;

    appendFileSync(path.join(layer('meta-openembedded'), 'README'), 'local edit\n');
    writeFileSync(path.join(layer('meta-openembedded'), 'scratch.txt'), 'x\n');
    appendFileSync(path.join(layer('meta-raspberrypi'), 'README'), 'fix\n');
    git(layer('meta-raspberrypi'), 'commit', '-q', '-am', 'a local fix');
    git(layer('meta-virtualization'), 'checkout', '-q', '-b', 'work');
    advanceUpstream(world.root, u['meta-virtualization']!);
    git(layer('meta-virtualization'), 'fetch', '-q', 'origin', '+refs/heads/scarthgap:refs/remotes/origin/scarthgap');

    const status = statusOf(dir);
    const repo = (name: string) => status.repos.find((r) => r.repo === name)!;
    expect(repo('poky')).toMatchObject({
      present: true,
      detached: true,
      head: u.poky!.commits[1],
      changed: [],
      untracked: 0,
      localCommits: 0,
      lock: { against: 'lock', ahead: 0, behind: 0 },
      upstream: { against: 'origin/scarthgap', ahead: 0, behind: 0 },
    });
    expect(repo('meta-openembedded')).toMatchObject({ changed: ['README'], untracked: 1, localCommits: 0, lock: { ahead: 0, behind: 0 } });
    expect(repo('meta-raspberrypi')).toMatchObject({
      detached: true,
      changed: [],
      localCommits: 1,
      lock: { ahead: 1, behind: 0 },
      upstream: { ahead: 1, behind: 0 },
    });
    expect(repo('meta-virtualization')).toMatchObject({
      detached: false,
      branch: 'work',
      localCommits: 0,
      lock: { ahead: 0, behind: 0 },
      upstream: { against: 'origin/scarthgap', ahead: 0, behind: 1 },
    });

    const text = cli(dir, ['status']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}poky +detached at [0-9a-f]{12}, clean, at the lock, at origin\/scarthgap$/m);
    expect(text.stdout).toMatch(
      /^ {2}meta-openembedded +detached at [0-9a-f]{12}, dirty \(1 changed: README\), 1 untracked, at the lock, at origin\/scarthgap$/m,
    );
    expect(text.stdout).toMatch(
      /^ {2}meta-raspberrypi +detached at [0-9a-f]{12}, clean, 1 local commit, 1 ahead of the lock, 1 ahead of origin\/scarthgap$/m,
    );
    expect(text.stdout).toMatch(
      /^ {2}meta-virtualization +on branch work at [0-9a-f]{12}, clean, at the lock, 1 behind origin\/scarthgap$/m,
    );
  }, 240_000);

  it("a target's conf: missing, current, stale after an edit or under an override; the last build from report.json", () => {
    const dir = makeProject(world, seedManifest(world));
    const before = statusOf(dir);
    expect(before.repos.every((r) => !r.present)).toBe(true);
    expect(before.targets[0]).toMatchObject({ target: 'rpi-docker-image', conf: { state: 'unknown' } });
    expect(before.targets[0]!.lastBuild).toBeUndefined();

    expect(cli(dir, ['sync']).code).toBe(0);
    expect(statusOf(dir).targets[0]!.conf).toEqual({
      state: 'missing',
      differing: ['build/rpi-docker-image/conf/local.conf', 'build/rpi-docker-image/conf/bblayers.conf'],
    });
    expect(cli(dir, ['config']).code).toBe(0);
    expect(statusOf(dir).targets[0]!.conf).toEqual({ state: 'current', differing: [] });
    // the conf rendered with another machine is stale for the plain target, and current under the same flag
    expect(statusOf(dir, ['--machine', 'raspberrypi5']).targets[0]!.conf.state).toBe('stale');
    appendFileSync(path.join(dir, 'build/rpi-docker-image/conf/local.conf'), 'EXTRA = "1"\n');
    expect(statusOf(dir).targets[0]!.conf).toEqual({ state: 'stale', differing: ['build/rpi-docker-image/conf/local.conf'] });
    expect(cli(dir, ['config', '--machine', 'raspberrypi5']).code).toBe(0);
    expect(statusOf(dir, ['--machine', 'raspberrypi5']).targets[0]!.conf.state).toBe('current');
    expect(statusOf(dir).targets[0]!.conf.state).toBe('stale');

    mkdirSync(path.join(dir, 'build/rpi-docker-image'), { recursive: true });
    const image = 'build/rpi-docker-image/tmp/deploy/images/raspberrypi4-64/core-image-base-raspberrypi4-64.rootfs-20261123.wic.bz2';
    writeFileSync(
      path.join(dir, 'build/rpi-docker-image/report.json'),
      JSON.stringify({
        version: 1,
        target: 'rpi-docker-image',
        image: 'core-image-base',
        machine: 'raspberrypi4-64',
        distro: 'poky',
        mode: 'build',
        result: 'success',
        startedAt: '2026-11-23T10:00:00.000Z',
        finishedAt: '2026-11-23T11:02:05.000Z',
        durationSeconds: 3725,
        engine: 'docker',
        layers: [],
        failures: [],
        warnings: 0,
        artifacts: [
          { path: image, type: 'wic.bz2', size: 1 },
          { path: `${image}.bmap`, type: 'wic.bmap', size: 1 },
        ],
        log: 'build/rpi-docker-image/logs/x.log',
      }),
    );
    expect(statusOf(dir).targets[0]!.lastBuild).toEqual({
      result: 'success',
      mode: 'build',
      finishedAt: '2026-11-23T11:02:05.000Z',
      durationSeconds: 3725,
      image: 'core-image-base',
      diskImage: image,
    });
    const text = cli(dir, ['status']).stdout;
    expect(text).toMatch(
      /^ {2}rpi-docker-image {2}conf stale \(build\/rpi-docker-image\/conf\/local\.conf: run `yoctoforge config rpi-docker-image`\); last build success at 2026-11-23T11:02:05\.000Z \(.+\), core-image-base → build\/.*\.wic\.bz2$/m,
    );
  }, 240_000);
});
