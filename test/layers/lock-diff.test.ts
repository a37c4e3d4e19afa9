import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceUpstream, git, makeFixtureWorld, makeProject, runCli, seedManifest, type FixtureWorld } from '../helpers/git-fixtures.js';

describe('yoctoforge lock diff', () => {
  let world: FixtureWorld;
  beforeAll(() => {
    world = makeFixtureWorld();
  });
  afterAll(() => world.cleanup());

  it('names the repos that moved, from which commit to which, with the commits in between (the nightly bump)', () => {
    const dir = makeProject(world, seedManifest(world));
    expect(runCli(['sync'], { cwd: dir, env: world.env }).code).toBe(0);
    // the project is a git repository with the lock committed, as the generated workflow expects
    git(dir, 'init', '-q');
    git(dir, 'add', 'layers.yaml', 'layers.lock.yaml');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'lock');
    const up = world.upstreams['meta-raspberrypi']!;
    const before = readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8');
    const oldCommit = /meta-raspberrypi:\n\s+url: .*\n(?:\s+branch: .*\n)?\s+commit: "?([0-9a-f]{40})/.exec(before)![1]!;
    advanceUpstream(world.root, up, 'rpi: enable the second UART');
    const newCommit = advanceUpstream(world.root, up, 'rpi: bump firmware');

    let r = runCli(['lock', 'diff'], { cwd: dir, env: world.env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('no repo moved between HEAD:layers.lock.yaml and layers.lock.yaml');

    expect(runCli(['sync', '--update'], { cwd: dir, env: world.env }).code).toBe(0);
    r = runCli(['lock', 'diff', '--exit-code'], { cwd: dir, env: world.env });
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('1 of 4 repos changed between HEAD:layers.lock.yaml and layers.lock.yaml:');
    expect(lines[1]).toBe(`  meta-raspberrypi: ${oldCommit.slice(0, 12)} -> ${newCommit.slice(0, 12)} (2 new commits)`);
    expect(lines[2]).toBe(`      ${newCommit.slice(0, 7)} meta-raspberrypi: rpi: bump firmware`);
    expect(lines[3]).toMatch(/^ {6}[0-9a-f]{7} meta-raspberrypi: rpi: enable the second UART$/);
    expect(lines.slice(4).join('')).toBe('');

    // two files, and JSON
    const saved = path.join(dir, 'old.lock.yaml');
    copyFileSync(path.join(dir, 'layers.lock.yaml'), saved);
    r = runCli(['lock', 'diff', 'HEAD', 'old.lock.yaml', '--json'], { cwd: dir, env: world.env });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { repos: Array<{ repo: string; change: string; ahead?: number; log?: string[] }> };
    const rpi = json.repos.find((x) => x.repo === 'meta-raspberrypi')!;
    expect(rpi).toMatchObject({ change: 'moved', from: oldCommit, to: newCommit, ahead: 2, behind: 0 });
    expect(json.repos.filter((x) => x.change === 'unchanged')).toHaveLength(3);
  });

  it('says clearly when an argument is neither a file nor a revision', () => {
    const dir = makeProject(world, seedManifest(world));
    const r = runCli(['lock', 'diff', 'no-such-thing', 'layers.lock.yaml'], { cwd: dir, env: world.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^yoctoforge: error: no-such-thing is neither a lock file nor a git revision holding layers\.lock\.yaml \(.+\)$/m,
    );
  });
});
