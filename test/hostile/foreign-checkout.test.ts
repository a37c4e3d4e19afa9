// A manifest that points layers_dir at a repository the user works in: sync must not change its
// origin, fetch into it or move it, even with --force; the checkouts yoctoforge made keep working.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeFixtureWorld, makeProject, runCli, type FixtureWorld } from '../helpers/git-fixtures.js';
import { pokyManifest, syncedProject } from './helpers.js';

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => world.cleanup());

describe('a checkout yoctoforge did not create', () => {
  it('is never modified: not its origin, not its refs, not its work tree (with or without --force)', () => {
    const mine = path.join(world.root, 'work-area');
    const repo = path.join(mine, 'poky');
    mkdirSync(repo, { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(repo, 'notes.txt'), 'my work\n');
    git(repo, 'add', '-A');
    git(repo, '-c', 'user.name=me', '-c', 'user.email=me@example.invalid', 'commit', '-q', '-m', 'mine');
    git(repo, 'remote', 'add', 'origin', 'https://example.invalid/my-own.git');
    writeFileSync(path.join(repo, 'notes.txt'), 'my work, uncommitted\n');
    const before = {
      config: readFileSync(path.join(repo, '.git', 'config'), 'utf8'),
      refs: git(repo, 'for-each-ref'),
      head: git(repo, 'rev-parse', 'HEAD'),
    };
    const project = makeProject(world, pokyManifest(world, `layers_dir: ${JSON.stringify(mine)}\n`));
    const env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') };
    for (const args of [['sync'], ['sync', '--force']]) {
      const r = runCli(args, { cwd: project, env });
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toMatch(/poky: .*is a git repository yoctoforge did not create .*left untouched/);
      expect(readFileSync(path.join(repo, '.git', 'config'), 'utf8')).toBe(before.config);
      expect(git(repo, 'for-each-ref')).toBe(before.refs);
      expect(git(repo, 'rev-parse', 'HEAD')).toBe(before.head);
      expect(readFileSync(path.join(repo, 'notes.txt'), 'utf8')).toBe('my work, uncommitted\n');
    }
  });

  it('the checkouts yoctoforge made still move, also those made before the marker existed', () => {
    const { dir, env } = syncedProject(world);
    const checkout = path.join(dir, 'layers', 'poky');
    git(checkout, 'config', '--unset', 'yoctoforge.created');
    const older = world.upstreams.poky!.commits[0]!;
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      readFileSync(path.join(dir, 'layers.yaml'), 'utf8').replace(
        'layers: [meta, meta-poky]',
        `layers: [meta, meta-poky]\n    commit: ${older}`,
      ),
    );
    const r = runCli(['sync'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(git(checkout, 'rev-parse', 'HEAD')).toBe(older);
    expect(git(checkout, 'config', '--get', 'yoctoforge.created')).toBe('true');
  });
});
