// A bundle is someone else's file: restoring one may never run code from it, write or delete
// outside the folder restored into, or replace what the user changed; its origin can be checked
// before anything is unpacked. Each attack below is a forged archive whose checksums match.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addInsteadOf,
  git,
  layerConf,
  makeFixtureWorld,
  makeUpstreamFromDir,
  runCli,
  tempDir,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';
import { forgeBundle, snapshot, syncedProject } from './helpers.js';

let world: FixtureWorld;
let project: { dir: string; env: NodeJS.ProcessEnv };
let full: string;
let shallow: string;
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(() => {
  world = makeFixtureWorld();
  project = syncedProject(world);
  full = path.join(world.root, 'full.tar.gz');
  shallow = path.join(world.root, 'shallow.tar.gz');
  for (const [out, extra] of [
    [full, []],
    [shallow, ['--shallow']],
  ] as const) {
    const r = runCli(['bundle', ...extra, '-o', out], { cwd: project.dir, env: project.env });
    expect(r.code, r.stderr).toBe(0);
  }
});
afterAll(() => world.cleanup());

function restore(
  bundle: string,
  args: string[] = [],
  into = path.join(tempDir('restore'), 'p'),
): { code: number; stderr: string; stdout: string; into: string } {
  return { ...runCli(['init', into, '--from-bundle', bundle, ...args], { env: project.env }), into };
}

/** The lines an attacker's command would leave behind. */
function marker(): string {
  return path.join(tempDir('pwn'), 'PWNED');
}

describe('restoring a bundle runs nothing from it', () => {
  it('a mirror with an executable hooks/post-checkout and core.fsmonitor in its config: neither runs, now or at a later sync', () => {
    const pwned = marker();
    const forged = forgeBundle(shallow, (root) => {
      const mirror = path.join(root, 'repos', 'poky.git');
      mkdirSync(path.join(mirror, 'hooks'), { recursive: true });
      writeFileSync(path.join(mirror, 'hooks', 'post-checkout'), `#!/bin/sh\necho hook >> ${pwned}\n`);
      chmodSync(path.join(mirror, 'hooks', 'post-checkout'), 0o755);
      writeFileSync(
        path.join(mirror, 'config'),
        `[core]\n\trepositoryformatversion = 0\n\tbare = true\n\tfsmonitor = "echo fsmonitor >> ${pwned}; false"\n[alias]\n\tstatus = !echo alias >> ${pwned}\n`,
      );
      writeFileSync(path.join(mirror, 'objects', 'info-alternates-ignored'), 'x');
    });
    const r = restore(forged);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(pwned), 'the bundle ran a command during restore').toBe(false);
    const checkout = path.join(r.into, 'layers', 'poky');
    expect(readFileSync(path.join(checkout, '.git', 'config'), 'utf8')).not.toMatch(/fsmonitor|alias/);
    expect(existsSync(path.join(checkout, '.git', 'hooks', 'post-checkout'))).toBe(false);
    git(checkout, 'status', '--porcelain');
    expect(runCli(['sync'], { cwd: r.into, env: project.env }).code).toBe(0);
    expect(existsSync(pwned), 'the bundle ran a command at a later sync').toBe(false);
  });

  it('a repos/NAME.bundle that is a repository directory, not a git bundle file, is refused', () => {
    const forged = forgeBundle(full, (root) => {
      const fake = path.join(root, 'repos', 'poky.bundle');
      rmSync(fake);
      execFileSync('git', ['clone', '-q', '--bare', world.upstreams.poky!.bare, fake]);
    });
    const r = restore(forged);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^yoctoforge: error: the bundle's repos\/poky\.bundle is not a git bundle file$/m);
  });
});

describe('restoring a bundle writes and deletes only inside the folder restored into', () => {
  for (const layersDir of ['../outside', '/tmp/yf-hostile-abs', 'a/../../outside']) {
    it(`layers_dir: ${layersDir} in the bundle's manifest is refused, with and without --force, and nothing outside changes`, () => {
      const base = tempDir('confine');
      const outside = layersDir.startsWith('/') ? layersDir : path.join(base, 'outside');
      mkdirSync(path.join(outside, 'poky'), { recursive: true });
      writeFileSync(path.join(outside, 'poky', 'precious'), 'mine\n');
      const before = snapshot(outside);
      const forged = forgeBundle(full, (root) => {
        const manifest = path.join(root, 'layers.yaml');
        writeFileSync(
          manifest,
          readFileSync(manifest, 'utf8').replace(/^version: 1$/m, `version: 1\nlayers_dir: ${JSON.stringify(layersDir)}`),
        );
      });
      for (const args of [[], ['--force']]) {
        const r = restore(forged, args, path.join(base, 'p'));
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/lies outside .*a bundle restores only into the folder it is restored into/);
        expect(snapshot(outside)).toBe(before);
      }
      rmSync(path.join(outside), { recursive: true, force: true });
    });
  }

  it('a lock entry named ../../../victim deletes nothing outside (and is refused)', () => {
    const base = tempDir('victim');
    mkdirSync(path.join(base, 'victim.git'));
    writeFileSync(path.join(base, 'victim.git', 'HEAD'), 'precious\n');
    const forged = forgeBundle(full, (root) => {
      const lock = path.join(root, 'layers.lock.yaml');
      writeFileSync(lock, readFileSync(lock, 'utf8').replace(/^ {2}poky:$/m, `  "../../../victim":`));
      const info = JSON.parse(readFileSync(path.join(root, 'bundle.json'), 'utf8'));
      info.repos['../../../victim'] = info.repos.poky;
      writeFileSync(path.join(root, 'bundle.json'), JSON.stringify(info));
    });
    const r = restore(forged, ['--force'], path.join(base, 'a', 'b', 'p'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a yoctoforge lock file: repos\.\.\.\/\.\.\/\.\.\/victim: .*repository name|bundle\.json/);
    expect(readFileSync(path.join(base, 'victim.git', 'HEAD'), 'utf8')).toBe('precious\n');
  });

  it('layers_dir through a symbolic link inside the project is refused (sync --from-bundle --force)', () => {
    const base = tempDir('link');
    const elsewhere = path.join(base, 'elsewhere');
    mkdirSync(path.join(elsewhere, 'poky'), { recursive: true });
    writeFileSync(path.join(elsewhere, 'poky', 'precious'), 'mine\n');
    const into = path.join(base, 'p');
    mkdirSync(into);
    symlinkSync(elsewhere, path.join(into, 'layers'));
    const r = runCli(['sync', '--from-bundle', full, '--force'], { cwd: into, env: project.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layers is a symbolic link; a bundle restores only into real folders/);
    expect(readFileSync(path.join(elsewhere, 'poky', 'precious'), 'utf8')).toBe('mine\n');
  });
});

describe("a bundle's description and origin", () => {
  for (const [what, change, message] of [
    [
      'a missing field',
      (info: Record<string, unknown>) => delete info.repos,
      /bundle\.json is not a yoctoforge bundle description: repos: missing/,
    ],
    [
      'an unknown field',
      (info: Record<string, unknown>) => (info.hooks = ['x']),
      /bundle\.json is not a yoctoforge bundle description: \(top level\): unknown field "hooks"/,
    ],
    [
      'a wrong type',
      (info: Record<string, unknown>) => (info.downloads = 'yes'),
      /bundle\.json is not a yoctoforge bundle description: downloads: /,
    ],
  ] as const) {
    it(`bundle.json with ${what}: one line, exit 2`, () => {
      const forged = forgeBundle(full, (root) => {
        const info = JSON.parse(readFileSync(path.join(root, 'bundle.json'), 'utf8')) as Record<string, unknown>;
        change(info);
        writeFileSync(path.join(root, 'bundle.json'), JSON.stringify(info));
      });
      const r = restore(forged);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }

  it('--expect-sha256: a mismatch unpacks nothing; the right sum restores', () => {
    const wrong = restore(full, ['--expect-sha256', '0'.repeat(64)]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/has SHA-256 [0-9a-f]{64}, not the expected 0{64}; nothing was unpacked/);
    expect(existsSync(wrong.into) ? readdirSync(wrong.into) : []).toEqual([]);
    const right = restore(full, ['--expect-sha256', sha(full).toUpperCase()]);
    expect(right.code, right.stderr).toBe(0);
  });

  const gpg = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!gpg)('--signature: a detached signature made with a key of the keyring verifies; a tampered archive does not', () => {
    const home = tempDir('gnupg');
    chmodSync(home, 0o700);
    const env = { ...process.env, GNUPGHOME: home };
    execFileSync(
      'gpg',
      ['--batch', '--passphrase', '', '--quick-gen-key', 'Bundle Signer <signer@example.invalid>', 'ed25519', 'sign', 'never'],
      { env, stdio: 'ignore' },
    );
    const sig = `${full}.sig`;
    execFileSync('gpg', ['--batch', '--yes', '--detach-sign', '--output', sig, full], { env, stdio: 'ignore' });
    const good = runCli(['init', path.join(tempDir('signed'), 'p'), '--from-bundle', full, '--signature', sig], {
      env: { ...project.env, GNUPGHOME: home },
    });
    expect(good.code, good.stderr).toBe(0);
    const tampered = path.join(world.root, 'tampered.tar.gz');
    writeFileSync(tampered, Buffer.concat([readFileSync(full), Buffer.from([0])]));
    const into = path.join(tempDir('signed'), 'p');
    const bad = runCli(['init', into, '--from-bundle', tampered, '--signature', sig], { env: { ...project.env, GNUPGHOME: home } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a valid signature of .*tampered\.tar\.gz \(.*\); nothing was unpacked/);
    expect(existsSync(into) ? readdirSync(into) : []).toEqual([]);
  });

  it('a FIFO given as the bundle is refused at once', () => {
    const fifo = path.join(tempDir('fifo'), 'bundle.tar.gz');
    execFileSync('mkfifo', [fifo]);
    const r = restore(fifo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a regular file/);
  });
});

describe('sync --from-bundle and what the user changed', () => {
  it('a restored download the user changed is not replaced without --force', () => {
    const dl = path.join(world.root, 'dl');
    mkdirSync(dl, { recursive: true });
    writeFileSync(path.join(dl, 'src-1.0.tar.gz'), 'original source\n');
    const withDownloads = path.join(world.root, 'dl.tar.gz');
    const b = runCli(['bundle', '--downloads', '-o', withDownloads], { cwd: project.dir, env: { ...project.env, YOCTOFORGE_DL_DIR: dl } });
    expect(b.code, b.stderr).toBe(0);
    const r = restore(withDownloads);
    expect(r.code, r.stderr).toBe(0);
    const restored = path.join(r.into, 'bundle-downloads', 'src-1.0.tar.gz');
    writeFileSync(restored, 'patched by the user\n');
    const again = runCli(['sync', '--from-bundle', withDownloads], { cwd: r.into, env: project.env });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(
      /restoring would overwrite bundle-downloads\/src-1\.0\.tar\.gz differs from the bundle's; nothing was changed/,
    );
    expect(readFileSync(restored, 'utf8')).toBe('patched by the user\n');
    expect(runCli(['sync', '--from-bundle', withDownloads, '--force'], { cwd: r.into, env: project.env }).code).toBe(0);
    expect(readFileSync(restored, 'utf8')).toBe('original source\n');
  });
});

describe('bundle --shallow is deterministic', () => {
  it('two checkouts of the same lock whose packs differ (a shallow clone repacked, a full clone) give byte-identical bundles', () => {
    // similar files, so that which deltas a pack holds depends on how it was packed
    const src = path.join(world.root, 'det-src');
    mkdirSync(path.join(src, 'conf'), { recursive: true });
    writeFileSync(path.join(src, 'conf', 'layer.conf'), layerConf('detlayer', { depends: 'core' }));
    const base = Array.from({ length: 400 }, (_, i) => `line ${i} of a recipe that looks like every other recipe\n`).join('');
    for (let i = 0; i < 60; i++) writeFileSync(path.join(src, `recipe-${i}.bb`), `${base}SRCREV = "${i}"\n${base.slice(i * 50)}`);
    addInsteadOf(world, makeUpstreamFromDir(world.root, 'meta-det', src));
    const extra = `  meta-det:\n    url: ${world.upstreams['meta-det']!.url}\n`;
    const a = syncedProject(world, '', extra);
    const b = syncedProject(world, '', extra, ['--shallow']);
    git(path.join(b.dir, 'layers', 'meta-det'), 'repack', '-q', '-a', '-d', '-f', '--window=250', '--depth=3');
    const outA = path.join(world.root, 'det-a.tar.gz');
    const outB = path.join(world.root, 'det-b.tar.gz');
    const ra = runCli(['bundle', '--shallow', '-o', outA], { cwd: a.dir, env: a.env });
    expect(ra.code, ra.stderr).toBe(0);
    const rb = runCli(['bundle', '--shallow', '-o', outB], { cwd: b.dir, env: b.env });
    expect(rb.code, rb.stderr).toBe(0);
    expect(sha(outA)).toBe(sha(outB));
  });
});
