import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderConfText } from '../../src/conf/render.js';
import { runSpecFor, type PreparedContext } from '../../src/commands/prepare.js';
import { containerArgv } from '../../src/engine/container.js';
import { projectPaths } from '../../src/manifest/paths.js';
import { isInside } from '../../src/util/fs.js';
import { checkLayers } from '../../src/layers/check.js';
import { syncLayers } from '../../src/layers/sync.js';
import { readLock } from '../../src/lock/lock.js';
import { loadProject } from '../../src/manifest/load.js';
import { resolveTarget } from '../../src/manifest/target.js';
import {
  addInsteadOf,
  git,
  layerConf,
  makeFixtureWorld,
  makeProject,
  makeUpstreamFromDir,
  runCli,
  seedManifest,
  tempDir,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';

let world: FixtureWorld;
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => world.cleanup());

const head = (dir: string): string => git(dir, 'rev-parse', 'HEAD');
const tree = (dir: string): string => git(dir, 'rev-parse', 'HEAD^{tree}');

/** A project whose own folder meta-mine is a layer, beside the seed's four remote repos. */
function localProject(extraRepo = '  mine:\n    path: meta-mine\n'): string {
  const manifest = seedManifest(world).replace(/^repos:\n/m, `repos:\n${extraRepo}`);
  const dir = makeProject(world, manifest);
  mkdirSync(path.join(dir, 'meta-mine', 'conf'), { recursive: true });
  writeFileSync(path.join(dir, 'meta-mine', 'conf', 'layer.conf'), layerConf('mine', { depends: 'core' }));
  return dir;
}

describe('local repos (path: in the project)', () => {
  it('are used in place: locked without a commit, found by the layer check, in bblayers.conf, never touched by sync --force', async () => {
    const dir = localProject();
    // the project is a git repository of its own with uncommitted work in the local layer
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'project');
    writeFileSync(path.join(dir, 'meta-mine', 'conf', 'layer.conf'), `${layerConf('mine', { depends: 'core' })}# edited\n`);

    const result = await syncLayers(await loadProject(dir));
    expect(result.repos.find((r) => r.name === 'mine')).toMatchObject({ action: 'local', detail: 'used in place (meta-mine)' });
    expect(existsSync(path.join(dir, 'layers', 'mine'))).toBe(false);
    const lockText = readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8');
    expect(lockText).toMatch(/^local:\n {2}mine:\n {4}path: "meta-mine"\n/m);
    expect((await readLock(await loadProject(dir)))?.repos.mine).toBeUndefined();

    for (const args of [
      ['sync', '--force'],
      ['sync', '--update', '--force'],
      ['sync', '--locked'],
    ]) {
      const r = runCli(args, { cwd: dir, env: world.env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(readFileSync(path.join(dir, 'meta-mine', 'conf', 'layer.conf'), 'utf8')).toMatch(/# edited\n$/);
    }

    const project = await loadProject(dir);
    const layers = await checkLayers(project, resolveTarget(project, 'rpi-docker-image'));
    expect(layers.layers.find((l) => l.repo === 'mine')?.dir).toBe(path.join(dir, 'meta-mine'));
    const conf = await renderConfText(project, resolveTarget(project, 'rpi-docker-image'), layers);
    // an absolute, normalised path from the project folder, made the way the layers folder's is (fixed Python, the path a value)
    expect(conf.bblayersConf).toContain('  ${YOCTOFORGE_PROJECT_DIR}/meta-mine \\\n');
    expect(conf.bblayersConf).toContain('\nYOCTOFORGE_PROJECT_FROM_TOPDIR = "../.."\n');
    expect(conf.bblayersConf.split('\n').filter((l) => l.includes('${@'))).toEqual([
      `YOCTOFORGE_LAYERS_DIR := "\${@os.path.normpath(os.path.join(d.getVar('TOPDIR'), d.getVar('YOCTOFORGE_LAYERS_FROM_TOPDIR')))}"`,
      `YOCTOFORGE_PROJECT_DIR := "\${@os.path.normpath(os.path.join(d.getVar('TOPDIR'), d.getVar('YOCTOFORGE_PROJECT_FROM_TOPDIR')))}"`,
    ]);

    // the container mounts the project at its own path: the local layer is there, at the path bblayers.conf names
    const ctx = {
      project,
      paths: projectPaths(project),
      engine: 'docker',
      envImage: 'yoctoforge-env:test',
      user: { uid: 1000, gid: 1000 },
      target: resolveTarget(project, 'rpi-docker-image'),
      buildDir: projectPaths(project).buildDir('rpi-docker-image'),
      layers,
    } as unknown as PreparedContext;
    const argv = containerArgv(runSpecFor(ctx, 'true'), {});
    const volumes = argv.flatMap((a, i) => (argv[i - 1] === '--volume' ? [a.split(':')[0]!] : []));
    expect(volumes).toContain(dir);
    for (const layer of layers.layers)
      expect(
        volumes.some((v) => isInside(layer.dir, v)),
        layer.dir,
      ).toBe(true);

    const status = runCli(['status', '--json'], { cwd: dir, env: world.env });
    expect(status.code, status.stderr).toBe(0);
    const mine = (JSON.parse(status.stdout) as { repos: Array<{ repo: string; local?: boolean; changed: string[] }> }).repos.find(
      (r) => r.repo === 'mine',
    );
    expect(mine).toMatchObject({ local: true, present: true, dir: 'meta-mine', changed: ['conf/layer.conf'] });
    const human = runCli(['status'], { cwd: dir, env: world.env });
    expect(human.stdout).toMatch(/^ {2}mine\s+local \(meta-mine\), dirty \(1 changed\)$/m);
    const kas = runCli(['export', 'kas', 'rpi-docker-image'], { cwd: dir, env: world.env });
    expect(kas.code, kas.stderr).toBe(0);
    expect(kas.stdout).toMatch(/^ {2}mine:\n {4}path: meta-mine\n/m);
    expect(`${kas.stdout}${kas.stderr}`).toMatch(/repos\.mine\.path: kas reads a relative path from KAS_WORK_DIR/);
    const setup = runCli(['export', 'bitbake-setup', 'rpi-docker-image'], { cwd: dir, env: world.env });
    expect(setup.code, setup.stderr).toBe(0);
    expect(`${setup.stdout}${setup.stderr}`).toMatch(/repos\.mine: a local repo \(path: meta-mine\)/);
    expect(setup.stdout).not.toMatch(/"mine"/);
    const show = runCli(['show', 'rpi-docker-image'], { cwd: dir, env: world.env });
    expect(show.stdout).toMatch(/^ {2}mine {2}local \(meta-mine\)$/m);
  });

  it('refuse a path outside the project, through a symlink, with .., or missing: one line naming file:line:key, exit 2', () => {
    const outside = tempDir('outside');
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      ['    path: ../elsewhere\n', () => undefined, /layers\.yaml:\d+:\d+: repos\.mine\.path: expected a relative path inside the project/],
      ['    path: /etc\n', () => undefined, /repos\.mine\.path: expected a relative path inside the project/],
      [
        '    path: meta-gone\n',
        () => undefined,
        /layers\.yaml:\d+:\d+: repos\.mine\.path: expected an existing directory in the project, found nothing at meta-gone/,
      ],
      [
        '    path: meta-link\n',
        (dir) => symlinkSync(outside, path.join(dir, 'meta-link')),
        /layers\.yaml:\d+:\d+: repos\.mine\.path: expected a directory inside the project, but meta-link leads outside it through a symlink/,
      ],
      [
        '    url: ./meta-mine\n',
        () => undefined,
        /repos\.mine\.url: expected a git URL; a folder of this project is a local repo: write `path: FOLDER`/,
      ],
      [
        '    path: meta-mine\n    branch: scarthgap\n',
        () => undefined,
        /repos\.mine\.path: expected a local repo \(path:\) is used as it is/,
      ],
    ];
    for (const [entry, prepare, message] of cases) {
      const dir = localProject(`  mine:\n${entry}`);
      prepare(dir);
      const r = runCli(['layers'], { cwd: dir, env: world.env });
      expect(r.code, entry).toBe(2);
      expect(r.stderr, entry).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

/** An upstream with one file the patches change, reachable as https://git.example.invalid/<name>. */
function patchUpstream(name: string): { url: string; base: string } {
  const src = tempDir('patch-src');
  mkdirSync(path.join(src, 'conf'), { recursive: true });
  writeFileSync(path.join(src, 'conf', 'layer.conf'), layerConf(name.replace(/-/g, ''), { depends: 'core' }));
  writeFileSync(path.join(src, 'README'), 'line one\nline two\nline three\n');
  const up = makeUpstreamFromDir(world.root, name, src);
  addInsteadOf(world, up);
  return { url: up.url, base: up.commits[0]! };
}

/** A `git format-patch` file changing README of the upstream (made in a scratch clone, with a fixed author date). */
function formatPatch(url: string, from: string, to: string, message: string): string {
  const work = tempDir('patch-work');
  git(work, 'clone', '-q', url, 'w');
  const w = path.join(work, 'w');
  writeFileSync(path.join(w, 'README'), readFileSync(path.join(w, 'README'), 'utf8').replace(from, to));
  git(w, 'commit', '-q', '-a', '-m', message, '--date', '2024-05-01T10:00:00Z');
  return git(w, 'format-patch', '-1', '--stdout');
}

function patchedProject(name: string, url: string, patches: string[], files: Record<string, string>): string {
  const manifest = seedManifest(world).replace(/^repos:\n/m, `repos:\n  ${name}:\n    url: ${url}\n    patches: [${patches.join(', ')}]\n`);
  const dir = makeProject(world, manifest);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('patches', () => {
  it('applies format-patch files and plain diffs in order, locks their hashes, re-syncs as a no-op and re-applies a changed patch', async () => {
    const { url, base } = patchUpstream('meta-patched');
    const mbox = formatPatch(url, 'line one', 'line ONE', 'Shout line one');
    const diff =
      'diff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1,3 +1,3 @@\n line ONE\n-line two\n+line TWO\n line three\n';
    const dir = patchedProject('patched', url, ['patches/patched', 'fixes/two.diff'], {
      'patches/patched/0001-shout.patch': mbox,
      'patches/patched/notes.txt': 'not a patch',
      'fixes/two.diff': diff,
    });
    // no user.name anywhere: the identity is ours
    const bare = path.join(world.root, 'gitconfig-nouser');
    writeFileSync(bare, readFileSync(world.gitconfig, 'utf8').replace(/\[user\][^[]*/, ''));
    const env = { ...world.env, GIT_CONFIG_GLOBAL: bare };
    const first = runCli(['sync'], { cwd: dir, env });
    expect(first.code, first.stderr).toBe(0);
    const checkout = path.join(dir, 'layers', 'patched');
    expect(readFileSync(path.join(checkout, 'README'), 'utf8')).toBe('line ONE\nline TWO\nline three\n');
    expect(git(checkout, 'log', '--format=%s|%an|%cn', `${base}..HEAD`).split('\n')).toEqual([
      'Apply two.diff|yoctoforge|yoctoforge',
      'Shout line one|Fixture|yoctoforge',
    ]);
    const patched = head(checkout);
    const lock = await readLock(await loadProject(dir));
    expect(lock?.repos.patched).toMatchObject({
      commit: base,
      patched,
      patches: [
        { path: 'patches/patched/0001-shout.patch', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown },
        { path: 'fixes/two.diff', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown },
      ],
    });

    // the same patches on the same base give the same commit on another checkout
    const twin = patchedProject('patched', url, ['patches/patched', 'fixes/two.diff'], {
      'patches/patched/0001-shout.patch': mbox,
      'fixes/two.diff': diff,
    });
    expect(runCli(['sync'], { cwd: twin, env }).code).toBe(0);
    expect(head(path.join(twin, 'layers', 'patched'))).toBe(patched);

    const again = await syncLayers(await loadProject(dir));
    expect(again.lockWritten).toBe(false);
    expect(again.repos.find((r) => r.name === 'patched')).toMatchObject({ action: 'up-to-date', patched });
    expect(head(checkout)).toBe(patched);
    expect(runCli(['sync', '--locked'], { cwd: dir, env }).code).toBe(0);
    const updated = await syncLayers(await loadProject(dir), { update: true });
    expect(updated.repos.find((r) => r.name === 'patched')).toMatchObject({ action: 'up-to-date', patched });

    writeFileSync(path.join(dir, 'fixes', 'two.diff'), diff.replace(/line TWO/, 'line 2'));
    const status = JSON.parse(runCli(['status', '--json'], { cwd: dir, env }).stdout) as {
      repos: Array<{ repo: string; patches?: object }>;
    };
    expect(status.repos.find((r) => r.repo === 'patched')?.patches).toEqual({ files: 2, applied: true, changedSinceSync: true });
    const locked = runCli(['sync', '--locked'], { cwd: dir, env });
    expect(locked.code).toBe(2);
    expect(locked.stderr).toMatch(/the patches of patched are not the ones layers\.lock\.yaml records/);
    const resync = await syncLayers(await loadProject(dir));
    expect(resync.lockWritten).toBe(true);
    expect(readFileSync(path.join(checkout, 'README'), 'utf8')).toBe('line ONE\nline 2\nline three\n');
    expect(git(checkout, 'rev-parse', 'HEAD~2')).toBe(base);
    expect((await readLock(await loadProject(dir)))?.repos.patched?.patched).toBe(head(checkout));

    const show = JSON.parse(runCli(['show', 'rpi-docker-image', '--json'], { cwd: dir, env }).stdout) as { repos: Record<string, object> };
    expect(show.repos.patched).toEqual({ url, patches: ['patches/patched/0001-shout.patch', 'fixes/two.diff'] });
  });

  it('a patch that does not apply: one line naming the patch and the repo, exit 1, the checkout left at the base commit', () => {
    const { url, base } = patchUpstream('meta-failing');
    const good = formatPatch(url, 'line one', 'line ONE', 'Good');
    const bad = formatPatch(url, 'line three', 'line 3', 'Bad').replace(/^ line three$/m, ' line thirty');
    const dir = patchedProject('failing', url, ['p'], {
      'p/0001-good.patch': good,
      'p/0002-bad.patch': bad.replace(/-line three/, '-line nothing'),
    });
    const r = runCli(['sync'], { cwd: dir, env: world.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\s*failing: patch p\/0002-bad\.patch does not apply to failing \(.+\); failing is back at [0-9a-f]{12}$/m);
    const checkout = path.join(dir, 'layers', 'failing');
    expect(head(checkout)).toBe(base);
    expect(git(checkout, 'status', '--porcelain')).toBe('');
    expect(existsSync(path.join(checkout, '.git', 'rebase-apply'))).toBe(false);
    expect(existsSync(path.join(dir, 'layers.lock.yaml'))).toBe(false);
  });

  it('never applies patches on top of a dirty checkout', async () => {
    const { url } = patchUpstream('meta-dirty');
    const p1 = formatPatch(url, 'line one', 'line ONE', 'One');
    const dir = patchedProject('dirty', url, ['one.patch'], { 'one.patch': p1 });
    expect(runCli(['sync'], { cwd: dir, env: world.env }).code).toBe(0);
    const checkout = path.join(dir, 'layers', 'dirty');
    const before = head(checkout);
    writeFileSync(path.join(checkout, 'README'), 'my own work\n');
    writeFileSync(path.join(dir, 'one.patch'), formatPatch(url, 'line two', 'line TWO', 'Two'));
    const r = runCli(['sync'], { cwd: dir, env: world.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dirty: has uncommitted changes \(README\)/);
    expect(head(checkout)).toBe(before);
    expect(readFileSync(path.join(checkout, 'README'), 'utf8')).toBe('my own work\n');
  });

  it('bundle carries local layers and patch files; init --from-bundle then sync reproduces the same patched tree', () => {
    const { url } = patchUpstream('meta-bundled');
    const p1 = formatPatch(url, 'line one', 'line ONE', 'One');
    const dir = patchedProject('bundled', url, ['patches/one.patch'], { 'patches/one.patch': p1 });
    const withLocal = readFileSync(path.join(dir, 'layers.yaml'), 'utf8').replace(/^repos:\n/m, 'repos:\n  mine:\n    path: meta-mine\n');
    writeFileSync(path.join(dir, 'layers.yaml'), withLocal);
    mkdirSync(path.join(dir, 'meta-mine', 'conf'), { recursive: true });
    writeFileSync(path.join(dir, 'meta-mine', 'conf', 'layer.conf'), layerConf('mine', { depends: 'core' }));
    const env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') };
    expect(runCli(['sync'], { cwd: dir, env }).code).toBe(0);
    const out = path.join(world.root, 'patched.bundle.tar.gz');
    const b = runCli(['bundle', '-o', out], { cwd: dir, env });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/project \(2 files\)/);

    const target = path.join(tempDir('restore'), 'project');
    const r = runCli(['init', target, '--from-bundle', out], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(target, 'meta-mine', 'conf', 'layer.conf'), 'utf8')).toBe(
      readFileSync(path.join(dir, 'meta-mine', 'conf', 'layer.conf'), 'utf8'),
    );
    expect(readFileSync(path.join(target, 'patches', 'one.patch'), 'utf8')).toBe(p1);
    const s = runCli(['sync', '--locked'], { cwd: target, env });
    expect(s.code, s.stderr).toBe(0);
    expect(tree(path.join(target, 'layers', 'bundled'))).toBe(tree(path.join(dir, 'layers', 'bundled')));
    expect(head(path.join(target, 'layers', 'bundled'))).toBe(head(path.join(dir, 'layers', 'bundled')));
    expect(readFileSync(path.join(target, 'layers.lock.yaml'), 'utf8')).toBe(readFileSync(path.join(dir, 'layers.lock.yaml'), 'utf8'));
  });
});

/**
 * A real upstream commit of meta-raspberrypi (its scarthgap branch), as `git format-patch` wrote
 * it, applied onto its parent: the tree must be the commit's own. Reads a bare snapshot of
 * https://github.com/agherzan/meta-raspberrypi from YOCTOFORGE_META_RASPBERRYPI_GIT.
 */
const realRepo = process.env.YOCTOFORGE_META_RASPBERRYPI_GIT;
describe.skipIf(!realRepo)('patches from a real upstream (YOCTOFORGE_META_RASPBERRYPI_GIT)', () => {
  if (!realRepo) console.log('skipped: set YOCTOFORGE_META_RASPBERRYPI_GIT to a git directory of meta-raspberrypi');
  it('a format-patch of a scarthgap commit applied on its parent gives that commit tree', () => {
    const commits = git(realRepo!, 'rev-list', '--no-merges', '--max-count=3', 'scarthgap').split('\n');
    const upstream = path.join(world.root, 'upstream', 'real-rpi.git');
    git(world.root, 'clone', '-q', '--bare', '--single-branch', '--branch', 'scarthgap', realRepo!, upstream);
    const url = 'https://git.example.invalid/real-rpi';
    writeFileSync(world.gitconfig, `${readFileSync(world.gitconfig, 'utf8')}[url "${upstream}"]\n\tinsteadOf = ${url}\n`);
    for (const commit of commits) {
      const parent = git(realRepo!, 'rev-parse', `${commit}^`);
      const patch = git(realRepo!, 'format-patch', '-1', '--stdout', commit);
      const manifest = seedManifest(world).replace(
        /^repos:\n/m,
        `repos:\n  real:\n    url: ${url}\n    branch: scarthgap\n    commit: ${parent}\n    patches: [upstream.patch]\n`,
      );
      const dir = makeProject(world, manifest);
      writeFileSync(path.join(dir, 'upstream.patch'), `${patch}\n`);
      const r = runCli(['sync'], { cwd: dir, env: world.env });
      expect(r.code, r.stderr).toBe(0);
      const checkout = path.join(dir, 'layers', 'real');
      expect(tree(checkout), commit).toBe(git(realRepo!, 'rev-parse', `${commit}^{tree}`));
      expect(git(checkout, 'log', '-1', '--format=%an <%ae> %aI %s')).toBe(
        git(realRepo!, 'log', '-1', '--format=%an <%ae> %aI %s', commit),
      );
    }
  });
});
