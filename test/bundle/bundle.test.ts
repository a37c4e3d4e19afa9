import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeFixtureWorld, makeProject, runCli, seedManifest, tempDir, type FixtureWorld } from '../helpers/git-fixtures.js';

let world: FixtureWorld;
let project: string;
let bundle: string;
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** No insteadOf mirrors: the fixture URLs (git.example.invalid) cannot be reached at all. */
function offlineEnv(root: string): NodeJS.ProcessEnv {
  const gitconfig = path.join(root, 'offline.gitconfig');
  writeFileSync(gitconfig, '[user]\n\tname = Offline\n\temail = offline@example.invalid\n');
  return {
    ...process.env,
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    YOCTOFORGE_CACHE_DIR: path.join(root, 'cache'),
  };
}

beforeAll(() => {
  world = makeFixtureWorld();
  project = makeProject(world, seedManifest(world));
  const env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') };
  expect(runCli(['sync'], { cwd: project, env }).code).toBe(0);
  expect(runCli(['config'], { cwd: project, env }).code).toBe(0);
  bundle = path.join(world.root, 'rpi.bundle.tar.gz');
  const r = runCli(['bundle', '-o', bundle], { cwd: project, env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => world.cleanup());

describe('yoctoforge bundle', () => {
  it('lists what went in and how large each part is', () => {
    const r = runCli(['bundle', '-o', path.join(world.root, 'again.tar.gz')], {
      cwd: project,
      env: { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') },
    });
    expect(r.code, r.stderr).toBe(0);
    for (const name of ['poky', 'meta-openembedded', 'meta-raspberrypi', 'meta-virtualization'])
      expect(r.stdout).toMatch(new RegExp(`repos/${name}\\.bundle\\s+[\\d.]+ (B|KiB)`));
    expect(r.stdout).toMatch(/ conf\s+[\d.]+ KiB/);
    expect(r.stdout).toMatch(/ docker\s+[\d.]+ KiB/);
    expect(r.stdout).toMatch(/wrote .*again\.tar\.gz \([\d.]+ KiB\)/);
  });

  it('is deterministic: the same lock and inputs give the same bytes', () => {
    const second = path.join(world.root, 'second.tar.gz');
    expect(
      runCli(['bundle', '-o', second], { cwd: project, env: { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') } }).code,
    ).toBe(0);
    expect(sha(second)).toBe(sha(bundle));
    const shallow1 = path.join(world.root, 'shallow1.tar.gz');
    const shallow2 = path.join(world.root, 'shallow2.tar.gz');
    for (const out of [shallow1, shallow2])
      expect(
        runCli(['bundle', '--shallow', '-o', out], {
          cwd: project,
          env: { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') },
        }).code,
      ).toBe(0);
    expect(sha(shallow1)).toBe(sha(shallow2));
  });

  it('restores into an empty folder with the network unreachable; config then renders byte-identical conf files', () => {
    for (const [kind, file] of [
      ['full', bundle],
      ['shallow', path.join(world.root, 'shallow1.tar.gz')],
    ] as const) {
      const target = path.join(tempDir('yf-restore-'), 'project');
      const env = offlineEnv(path.dirname(target));
      const r = runCli(['init', target, '--from-bundle', file], { env });
      expect(r.code, `${kind}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/restored .* without the network/);
      for (const name of ['poky', 'meta-openembedded', 'meta-raspberrypi', 'meta-virtualization']) {
        const dir = path.join(target, 'layers', name);
        expect(git(dir, 'rev-parse', 'HEAD')).toBe(git(path.join(project, 'layers', name), 'rev-parse', 'HEAD'));
        expect(git(dir, 'config', '--get', 'remote.origin.url')).toBe(world.upstreams[name]!.url);
        if (kind === 'full')
          expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe(git(path.join(project, 'layers', name), 'rev-list', '--count', 'HEAD'));
        else expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe('1');
      }
      expect(readFileSync(path.join(target, 'layers.lock.yaml'), 'utf8')).toBe(
        readFileSync(path.join(project, 'layers.lock.yaml'), 'utf8'),
      );
      // sync --locked finds everything at the lock without the network; config renders the same conf
      expect(runCli(['sync', '--locked'], { cwd: target, env }).code).toBe(0);
      const c = runCli(['config'], { cwd: target, env: { ...env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') } });
      expect(c.code, c.stderr).toBe(0);
      for (const f of ['local.conf', 'bblayers.conf']) {
        expect(readFileSync(path.join(target, 'build', 'rpi-docker-image', 'conf', f), 'utf8'), f).toBe(
          readFileSync(path.join(project, 'build', 'rpi-docker-image', 'conf', f), 'utf8'),
        );
      }
    }
  });

  it('carries DL_DIR downloads; the restored project builds from them with PREMIRRORS and no network', () => {
    const cache = path.join(world.root, 'dl-cache');
    const dl = path.join(cache, 'downloads');
    mkdirSync(path.join(dl, 'git2', 'github.com.example.tool.git'), { recursive: true });
    writeFileSync(path.join(dl, 'hello-1.0.tar.gz'), 'source archive');
    writeFileSync(path.join(dl, 'hello-1.0.tar.gz.done'), '');
    writeFileSync(path.join(dl, 'git2_github.com.example.tool.git.tar.gz'), 'mirror tarball');
    const out = path.join(world.root, 'with-downloads.tar.gz');
    const r = runCli(['bundle', '--downloads', '-o', out], { cwd: project, env: { ...world.env, YOCTOFORGE_CACHE_DIR: cache } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/downloads \(2 files\)/);
    const target = path.join(tempDir('yf-restore-dl-'), 'p');
    const env = offlineEnv(path.dirname(target));
    expect(runCli(['init', target, '--from-bundle', out], { env }).code).toBe(0);
    expect(readdirSync(path.join(target, 'bundle-downloads')).sort()).toEqual([
      'git2_github.com.example.tool.git.tar.gz',
      'hello-1.0.tar.gz',
    ]);
    expect(runCli(['config'], { cwd: target, env }).code).toBe(0);
    const conf = readFileSync(path.join(target, 'build', 'rpi-docker-image', 'conf', 'local.conf'), 'utf8');
    expect(conf).toContain('    https://.*/.* file://${TOPDIR}/../../bundle-downloads/ \\');
    expect(conf).toContain('    git://.*/.* file://${TOPDIR}/../../bundle-downloads/ \\');
    expect(conf).toMatch(/^BB_NO_NETWORK = "1"$/m);
  });

  describe('refuses', () => {
    it('a layer with uncommitted changes, and a stale lock', () => {
      const env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') };
      const dirty = makeProject(world, seedManifest(world));
      expect(runCli(['sync'], { cwd: dirty, env }).code).toBe(0);
      writeFileSync(path.join(dirty, 'layers', 'meta-raspberrypi', 'conf', 'layer.conf'), '# local change\n', { flag: 'a' });
      let r = runCli(['bundle', '-o', path.join(dirty, 'x.tar.gz')], { cwd: dirty, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^yoctoforge: error: meta-raspberrypi has uncommitted changes \(1 files\): a bundle holds only committed, locked work/m,
      );
      expect(existsSync(path.join(dirty, 'x.tar.gz'))).toBe(false);
      const unlocked = makeProject(world, seedManifest(world));
      r = runCli(['bundle'], { cwd: unlocked, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/has no layers\.lock\.yaml: run `yoctoforge sync` before bundling/);
    });

    it('a truncated archive', () => {
      const cut = path.join(world.root, 'cut.tar.gz');
      writeFileSync(cut, readFileSync(bundle).subarray(0, Math.floor(readFileSync(bundle).length / 2)));
      const root = tempDir('yf-cut-');
      const target = path.join(root, 'p');
      const r = runCli(['init', target, '--from-bundle', cut], { env: offlineEnv(root) });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^yoctoforge: error: .*cut\.tar\.gz is truncated or not a yoctoforge bundle \(.+\)$/m);
      expect(existsSync(target) ? readdirSync(target) : []).toEqual([]);
    });

    const repack = (name: string, edit: (root: string) => void): string => {
      const work = tempDir('yf-repack-');
      execFileSync('tar', ['-xzf', bundle, '-C', work]);
      edit(path.join(work, 'yoctoforge-bundle'));
      const out = path.join(world.root, name);
      execFileSync('tar', ['-czf', out, '-C', work, 'yoctoforge-bundle']);
      return out;
    };
    const restoreFails = (file: string, pattern: RegExp): void => {
      const target = path.join(tempDir('yf-bad-'), 'p');
      const r = runCli(['init', target, '--from-bundle', file], { env: offlineEnv(path.dirname(target)) });
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(existsSync(path.join(target, 'layers.yaml'))).toBe(false);
    };

    it('a tampered archive (a file changed, one added)', () => {
      restoreFails(
        repack('tampered.tar.gz', (root) =>
          writeFileSync(path.join(root, 'layers.yaml'), `${readFileSync(path.join(root, 'layers.yaml'), 'utf8')}# sneaky\n`),
        ),
        /has been modified: layers\.yaml does not match its checksum/,
      );
      restoreFails(
        repack('added.tar.gz', (root) => writeFileSync(path.join(root, 'docker', 'extra.sh'), 'echo hi\n')),
        /has been modified: docker\/extra\.sh is not in its SHA256SUMS/,
      );
    });

    it('an archive from a newer format version', () => {
      restoreFails(
        repack('newer.tar.gz', (root) => {
          const info = JSON.parse(readFileSync(path.join(root, 'bundle.json'), 'utf8')) as { format: number };
          info.format = 99;
          writeFileSync(path.join(root, 'bundle.json'), JSON.stringify(info));
          const sums = readFileSync(path.join(root, 'SHA256SUMS'), 'utf8').replace(
            /^[0-9a-f]{64}(?= {2}bundle\.json$)/m,
            createHash('sha256').update(JSON.stringify(info)).digest('hex'),
          );
          writeFileSync(path.join(root, 'SHA256SUMS'), sums);
        }),
        /was made by a newer yoctoforge \(bundle format 99; this one reads up to 1\): upgrade yoctoforge/,
      );
    });

    it('entries that would escape the folder: ../ paths and a symlink pointing outside', () => {
      const work = tempDir('yf-evil-');
      mkdirSync(path.join(work, 'yoctoforge-bundle'));
      writeFileSync(path.join(work, 'evil.txt'), 'pwned');
      const dotdot = path.join(world.root, 'dotdot.tar.gz');
      // GNU tar keeps ../ in member names with -P
      execFileSync('tar', ['-czPf', dotdot, '-C', path.join(work, 'yoctoforge-bundle'), '../evil.txt']);
      restoreFails(dotdot, /holds an entry that would land outside the project \(\.\.\/evil\.txt\); refusing it/);
      symlinkSync('/etc', path.join(work, 'yoctoforge-bundle', 'etc-link'));
      const link = path.join(world.root, 'symlink.tar.gz');
      execFileSync('tar', ['-czf', link, '-C', work, 'yoctoforge-bundle']);
      restoreFails(link, /holds a link \(yoctoforge-bundle\/etc-link\): a yoctoforge bundle has only files and directories; refusing it/);
      expect(existsSync(path.join(path.dirname(work), 'evil.txt'))).toBe(false);
    });

    it('overwriting existing files unless --force', () => {
      const target = path.join(tempDir('yf-exist-'), 'p');
      const env = offlineEnv(path.dirname(target));
      expect(runCli(['init', target, '--from-bundle', bundle], { env }).code).toBe(0);
      writeFileSync(path.join(target, 'layers.yaml'), `${readFileSync(path.join(target, 'layers.yaml'), 'utf8')}# my edit\n`);
      let r = runCli(['sync', '--from-bundle', bundle], { cwd: target, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^yoctoforge: error: restoring would overwrite layers\.yaml differs from the bundle's; nothing was changed \(--force overwrites\)$/m,
      );
      expect(readFileSync(path.join(target, 'layers.yaml'), 'utf8')).toMatch(/# my edit\n$/);
      r = runCli(['sync', '--from-bundle', bundle, '--force'], { cwd: target, env });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(path.join(target, 'layers.yaml'), 'utf8')).not.toMatch(/# my edit/);
      expect(r.stdout).toMatch(/poky: kept at [0-9a-f]{12}/);
    });

    it.skipIf(process.getuid?.() !== 0)('a restore that does not fit on the disk (a small tmpfs)', () => {
      const mnt = tempDir('yf-small-');
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(readFileSync(bundle).length * 1.5)}`, 'tmpfs', mnt]);
      try {
        const r = runCli(['init', path.join(mnt, 'p'), '--from-bundle', bundle], { env: offlineEnv(world.root) });
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(
          /^yoctoforge: error: not enough disk space in .*: restoring needs about [\d.]+ (?:B|[KMGT]iB), [\d.]+ (?:B|[KMGT]iB) are free$/m,
        );
      } finally {
        spawnSync('umount', [mnt]);
        rmSync(mnt, { recursive: true, force: true });
      }
    });
  });
});
