// `import kas` builds what kas builds (issue 13) and reads hostile kas input safely (issue 10):
// each case is one kas behaviour, checked through the CLI on real git repositories. kas's
// behaviour is the reference (kas 5.4's repos.py, includehandler.py and libcmds.py; the
// differential harness in differential.test.ts compares the two tools on real kas files).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Manifest } from '../../src/manifest/schema.js';
import { CLI, type FixtureWorld, git, makeFixtureWorld, runCli, tempDir } from '../helpers/git-fixtures.js';

let world: FixtureWorld;
const temps: string[] = [];
beforeAll(() => {
  world = makeFixtureWorld();
});
afterAll(() => {
  world.cleanup();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  temps.push(d);
  return d;
}

function write(root: string, file: string, text: string): string {
  const full = path.join(root, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

/** poky and meta-openembedded of the fixture world, as a kas `repos:` block. */
function pokyRepos(extra = ''): string {
  const u = world.upstreams;
  return `repos:
  poky:
    url: ${u.poky!.url}
    branch: scarthgap
    layers:
      meta:
      meta-poky:
${extra}`;
}

interface Imported {
  code: number;
  stdout: string;
  stderr: string;
  manifest: Manifest;
  project: string;
}

function importFiles(files: string[], cwd?: string): Imported {
  const project = dir('kas-fid-proj');
  const r = runCli(['import', 'kas', ...files, '-o', path.join(project, 'layers.yaml')], { cwd: cwd ?? project, env: world.env });
  let manifest = {} as Manifest;
  // uniqueKeys: false, as the CLI reads it: the yaml library's own duplicate check compares every
  // pair of keys (80 s for the 100,000 variables of the linear-time case below)
  if (r.code === 0) manifest = parse(readFileSync(path.join(project, 'layers.yaml'), 'utf8'), { uniqueKeys: false });
  return { ...r, manifest, project };
}

/** import + sync + config; the rendered local.conf. */
function build(
  files: string[],
): Imported & { localConf: string; bblayersConf: string; lock: { repos: Record<string, { commit: string }> } } {
  const imported = importFiles(files);
  expect(imported.code, imported.stderr).toBe(0);
  for (const step of [['sync'], ['config']]) {
    const r = runCli(step, { cwd: imported.project, env: world.env });
    expect(r.code, `${step[0]}: ${r.stderr}`).toBe(0);
  }
  const target = readdirSync(path.join(imported.project, 'build'))[0]!;
  const conf = (f: string) => readFileSync(path.join(imported.project, 'build', target, 'conf', f), 'utf8');
  const lock = parse(readFileSync(path.join(imported.project, 'layers.lock.yaml'), 'utf8'));
  return { ...imported, localConf: conf('local.conf'), bblayersConf: conf('bblayers.conf'), lock };
}

describe('import kas: hostile input (issue 10)', () => {
  /** Runs the CLI with a time limit: these inputs used to hang or grow without bound. */
  function bounded(args: string[], cwd: string): { code: number | null; stderr: string; ms: number } {
    const start = Date.now();
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...world.env, CI: 'true' }, encoding: 'utf8', timeout: 20_000 });
    return { code: r.status, stderr: r.stderr, ms: Date.now() - start };
  }

  it('an include of /dev/zero is refused as a special file, at once', () => {
    const d = dir('kas-zero');
    write(d, 'top.yml', 'header:\n  version: 14\n  includes:\n    - /dev/zero\nmachine: qemux86-64\n');
    const r = bounded(['import', 'kas', 'top.yml', '-o', 'layers.yaml'], d);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\/dev\/zero.*not a regular file/);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a FIFO as include or as the kas file is refused without waiting for a writer', () => {
    const d = dir('kas-fifo');
    expect(spawnSync('mkfifo', [path.join(d, 'pipe.yml')]).status).toBe(0);
    write(d, 'top.yml', 'header:\n  version: 14\n  includes:\n    - pipe.yml\n');
    for (const file of ['top.yml', 'pipe.yml']) {
      const r = bounded(['import', 'kas', file, '-o', 'layers.yaml'], d);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/pipe\.yml.*not a regular file/);
    }
  });

  it('a kas file larger than the limit is refused with its size', () => {
    const d = dir('kas-big');
    write(d, 'big.yml', `header:\n  version: 14\n# ${'x'.repeat(17 * 1024 * 1024)}\n`);
    const r = bounded(['import', 'kas', 'big.yml', '-o', 'layers.yaml'], d);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/big\.yml.*(larger than|MiB)/);
  });

  it('files that include each other twice per level are read once each (linear, not exponential)', () => {
    const d = dir('kas-exp');
    const levels = 40;
    for (let i = 0; i < levels; i++) {
      const next = i + 1 < levels ? `  includes:\n    - f${i + 1}.yml\n    - f${i + 1}.yml\n` : '';
      write(d, `f${i}.yml`, `header:\n  version: 14\n${next}local_conf_header:\n  l${i}: |\n    V${i} = "${i}"\n`);
    }
    write(
      d,
      'top.yml',
      `header:\n  version: 14\n  includes:\n    - f0.yml\n    - f0.yml\nmachine: qemux86-64\ntarget: core-image-minimal\n${pokyRepos()}`,
    );
    const r = bounded(['import', 'kas', 'top.yml', '-o', 'layers.yaml'], d);
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(10_000);
    const text = readFileSync(path.join(d, 'layers.yaml'), 'utf8');
    expect(text).toContain('V39');
  });
});

describe('import kas builds what kas builds (issue 13)', () => {
  it('layers: {} is a repository without layers (bitbake beside openembedded-core)', () => {
    const d = dir('kas-nolayers');
    const u = world.upstreams;
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 19\nmachine: qemux86-64\ndistro: poky\ntarget: core-image-minimal\n${pokyRepos(`  meta-openembedded:\n    url: ${u['meta-openembedded']!.url}\n    branch: scarthgap\n    layers: {}\n`)}`,
    );
    const r = importFiles([top]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.manifest.repos['meta-openembedded']!.layers).toEqual([]);
  });

  it('a repository without url is the git repository that holds the kas file (its root, not the file folder)', () => {
    const repo = dir('kas-this');
    write(repo, 'conf/layer.conf', 'BBFILE_COLLECTIONS += "this"\n');
    const file = write(repo, 'ci/base.yml', `header:\n  version: 14\nmachine: qemux86-64\n${pokyRepos('  this-layer:\n')}`);
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'x');
    const r = importFiles([file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.manifest.repos['this-layer']!.url).toBe(repo);
  });

  it('full ref names: branch refs/heads/X is branch X, tag refs/tags/Y is tag Y', () => {
    const d = dir('kas-refs');
    const u = world.upstreams;
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 15\nmachine: qemux86-64\nrepos:\n  poky:\n    url: ${u.poky!.url}\n    branch: refs/heads/scarthgap\n    layers:\n      meta:\n  meta-openembedded:\n    url: ${u['meta-openembedded']!.url}\n    tag: refs/tags/v1.0\n    layers:\n      meta-oe:\n`,
    );
    const r = importFiles([top]);
    expect(r.code, r.stderr).toBe(0);
    const repos = r.manifest.repos;
    expect(repos.poky!.branch ?? r.manifest.series).toBe('scarthgap');
    expect(repos['meta-openembedded']!.tag).toBe('v1.0');
  });

  it('no distro: DISTRO ??= "nodistro" whatever the format; machine and distro stay weak defaults after the header', () => {
    const d = dir('kas-weak');
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 14\ntarget: core-image-minimal\nlocal_conf_header:\n  a: |\n    MACHINE ?= "qemuarm64"\n${pokyRepos()}`,
    );
    const b = build([top]);
    expect(b.localConf).toMatch(/^DISTRO \?\?= "nodistro"$/m);
    expect(b.localConf).toMatch(/^MACHINE \?\?= "qemux86-64"$/m);
    expect(b.localConf).not.toMatch(/^(MACHINE|DISTRO) = /m);
    // the header's line comes before kas's weak defaults, so it wins as in kas
    expect(b.localConf.indexOf('MACHINE ?= "qemuarm64"')).toBeLessThan(b.localConf.indexOf('MACHINE ??= "qemux86-64"'));
    expect(b.stdout).not.toMatch(/distro: not set; kas format 14 means poky/);
  });

  it('distro: "" is carried (kas writes DISTRO ??= "")', () => {
    const d = dir('kas-emptydistro');
    const top = write(d, 'top.yml', `header:\n  version: 14\nmachine: qemux86-64\ndistro: ""\n${pokyRepos()}`);
    const b = build([top]);
    expect(b.localConf).toMatch(/^DISTRO \?\?= ""$/m);
  });

  it('conf lines keep kas order: a later = wins over an earlier +=, and CONF_VERSION from a header is the header value', () => {
    const d = dir('kas-order');
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 14\nmachine: qemux86-64\ndistro: poky\nlocal_conf_header:\n  a: |\n    IMAGE_FSTYPES += "tar.zst"\n  b: |\n    IMAGE_FSTYPES = "wic"\n  c: |\n    CONF_VERSION = "1"\n${pokyRepos()}`,
    );
    const b = build([top]);
    const lines = b.localConf.split('\n');
    const plus = lines.indexOf('IMAGE_FSTYPES += "tar.zst"');
    const assign = lines.findIndex((l) => /^IMAGE_FSTYPES = "wic"$/.test(l));
    expect(plus).toBeGreaterThanOrEqual(0);
    expect(assign).toBeGreaterThan(plus);
    expect(lines.filter((l) => /^CONF_VERSION\b/.test(l))).toEqual(['CONF_VERSION = "1"']);
    // poky's sample defaults are not added to a kas build
    expect(b.localConf).not.toMatch(/PACKAGE_CLASSES/);
  });

  it('overrides: repos.X.commit pins, commit: null follows the branch head, url is replaced', () => {
    const d = dir('kas-overrides');
    const u = world.upstreams;
    const [first, second] = u.poky!.commits;
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 14\nmachine: qemux86-64\nrepos:\n  poky:\n    url: ${u.poky!.url}\n    branch: scarthgap\n    commit: ${first}\n    layers:\n      meta:\n  meta-openembedded:\n    url: https://example.invalid/moved\n    branch: scarthgap\n    layers:\n      meta-oe:\noverrides:\n  repos:\n    poky:\n      commit: null\n    meta-openembedded:\n      url: ${u['meta-openembedded']!.url}\n      commit: ${u['meta-openembedded']!.commits[0]}\n`,
    );
    const r = importFiles([top]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.manifest.repos.poky!.commit).toBeUndefined();
    expect(r.manifest.repos['meta-openembedded']).toMatchObject({
      url: u['meta-openembedded']!.url,
      commit: u['meta-openembedded']!.commits[0],
    });
    expect(second).toBeDefined();
  });

  it("a kas lock file (FILE.lock.yml) wins over the file's refspec commit", () => {
    const d = dir('kas-lock');
    const u = world.upstreams;
    const [first, second] = u.poky!.commits;
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 8\nmachine: qemux86-64\nrepos:\n  poky:\n    url: ${u.poky!.url}\n    refspec: ${first}\n    layers:\n      meta:\n`,
    );
    write(d, 'top.lock.yml', `header:\n  version: 14\noverrides:\n  repos:\n    poky:\n      commit: ${second}\n`);
    const r = importFiles([top]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.manifest.repos.poky!.commit).toBe(second);
  });

  it('YAML merge keys (<<: *anchor) are resolved as kas resolves them', () => {
    const d = dir('kas-merge');
    const u = world.upstreams;
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 14\nmachine: qemux86-64\nrepos:\n  poky: &base\n    url: ${u.poky!.url}\n    branch: scarthgap\n    layers:\n      meta:\n  meta-openembedded:\n    <<: *base\n    url: ${u['meta-openembedded']!.url}\n    layers:\n      meta-oe:\n`,
    );
    const r = importFiles([top]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/<</);
    expect(r.manifest.repos['meta-openembedded']!.layers).toEqual(['meta-oe']);
    expect(r.manifest.repos['meta-openembedded']!.branch ?? r.manifest.series).toBe('scarthgap');
  });

  it('a short commit id is resolved in the clone as kas resolves it: the lock holds the full id', () => {
    const d = dir('kas-short');
    const u = world.upstreams;
    const [first] = u.poky!.commits;
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 14\nmachine: qemux86-64\nrepos:\n  poky:\n    url: ${u.poky!.url}\n    branch: scarthgap\n    commit: ${first!.slice(0, 10)}\n    layers:\n      meta:\n`,
    );
    const r = build([top]);
    expect(r.manifest.repos.poky!.commit).toBe(first!.slice(0, 10));
    expect(r.stdout).toMatch(/every kas setting was carried over/);
    expect(r.lock.repos.poky!.commit).toBe(first);
    expect(git(path.join(r.project, 'layers', 'poky'), 'rev-parse', 'HEAD')).toBe(first);
  });

  it('a short commit id that names several commits, or none, is refused by sync with the key', () => {
    // 1,500 empty commits: some share their first 4 hex digits (fixed dates make the ids fixed)
    const upstream = dir('kas-ambiguous-up');
    git(upstream, 'init', '--quiet', '--initial-branch=main');
    const stream = Array.from(
      { length: 1500 },
      (_, i) => `commit refs/heads/main\ncommitter T <t@example.com> ${1_700_000_000 + i} +0000\ndata ${String(i).length}\n${i}\n`,
    ).join('\n');
    execFileSync('git', ['fast-import', '--quiet'], { cwd: upstream, input: stream });
    const byPrefix = new Map<string, number>();
    for (const id of git(upstream, 'rev-list', 'main').split('\n')) byPrefix.set(id.slice(0, 4), (byPrefix.get(id.slice(0, 4)) ?? 0) + 1);
    const ambiguous = [...byPrefix].find(([, n]) => n > 1)![0];
    const unknown = ['0000', '1111', '2222', 'dead', 'beef', 'face'].find((p) => !byPrefix.has(p))!;
    for (const [pin, message] of [
      [ambiguous, new RegExp(`repos\\.extra\\.commit: "${ambiguous}" is ambiguous`)],
      [unknown, new RegExp(`repos\\.extra\\.commit: no commit of .* starts with "${unknown}"`)],
    ] as const) {
      const top = write(
        dir('kas-ambiguous'),
        'top.yml',
        `header:\n  version: 14\nmachine: qemux86-64\n${pokyRepos(`  extra:\n    url: ${upstream}\n    branch: main\n    commit: "${pin}"\n    layers:\n      meta-extra:\n`)}`,
      );
      const imported = importFiles([top]);
      expect(imported.code, imported.stderr).toBe(0);
      const sync = runCli(['sync'], { cwd: imported.project, env: world.env });
      expect(sync.code).not.toBe(0);
      expect(sync.stdout + sync.stderr).toMatch(message);
    }
  });

  it('a tag and a commit that disagree are refused by sync, on every run, as kas refuses them', () => {
    const upstream = dir('kas-tagpin-up');
    git(upstream, 'init', '--quiet', '--initial-branch=main');
    git(upstream, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'one');
    git(upstream, 'tag', 'v1');
    git(upstream, '-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '--quiet', '--allow-empty', '-m', 'two');
    const second = git(upstream, 'rev-parse', 'HEAD');
    const top = write(
      dir('kas-tagpin'),
      'top.yml',
      `header:\n  version: 14\nmachine: qemux86-64\n${pokyRepos(`  extra:\n    url: ${upstream}\n    tag: v1\n    commit: ${second}\n    layers:\n      meta-extra:\n`)}`,
    );
    const imported = importFiles([top]);
    expect(imported.code, imported.stderr).toBe(0);
    for (let run = 0; run < 2; run++) {
      const sync = runCli(['sync'], { cwd: imported.project, env: world.env });
      expect(sync.code).not.toBe(0);
      expect(sync.stdout + sync.stderr).toMatch(/repos\.extra: tag "v1" is at [0-9a-f]{40}, not at commit/);
    }
  });

  it('input kas rejects is refused with file, line and key', () => {
    const d = dir('kas-reject');
    const u = world.upstreams;
    const cases: Array<[string, string, RegExp]> = [
      [
        'noref.yml',
        `header:\n  version: 14\nrepos:\n  poky:\n    url: ${u.poky!.url}\n`,
        /noref\.yml:4:.*repos\.poky.*no commit, tag or branch/,
      ],
      [
        'mixed.yml',
        `header:\n  version: 14\nrepos:\n  poky:\n    url: ${u.poky!.url}\n    refspec: scarthgap\n    commit: ${u.poky!.commits[0]}\n`,
        /mixed\.yml:\d+:.*repos\.poky.*refspec.*commit/,
      ],
      ['list.yml', `header:\n  version: 14\nlocal_conf_header:\n  a:\n    - X = "1"\n${pokyRepos()}`, /list\.yml:4:.*local_conf_header\.a/],
    ];
    for (const [name, text, message] of cases) {
      const r = importFiles([write(d, name, text)]);
      expect(r.code, `${name}: ${r.stdout}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('target: [] (kas runs no image) is said as such; signed: false is no loss', () => {
    const d = dir('kas-small');
    const top = write(d, 'top.yml', `header:\n  version: 19\nmachine: qemux86-64\ntarget: []\n${pokyRepos('    signed: false\n')}`);
    const r = importFiles([top]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/signed/);
    expect(r.stdout + r.stderr).not.toMatch(/only multiconfig/);
    expect(r.stdout).toMatch(/target: \[\]/);
  });

  it('comments stay with the assignment they describe', () => {
    const d = dir('kas-comments');
    const top = write(
      d,
      'top.yml',
      `header:\n  version: 14\nmachine: qemux86-64\nlocal_conf_header:\n  a: |\n    # why: the board has 512 MB\n    IMAGE_ROOTFS_EXTRA_SPACE = "1024"\n${pokyRepos()}`,
    );
    const b = build([top]);
    const lines = b.localConf.split('\n');
    const value = lines.findIndex((l) => l.startsWith('IMAGE_ROOTFS_EXTRA_SPACE'));
    expect(lines[value - 1]).toBe('# why: the board has 512 MB');
  });

  it('an error names the kas file it comes from', () => {
    const d = dir('kas-errfile');
    const top = write(d, 'top.yml', `header:\n  version: 14\nmachine: "bad machine"\n${pokyRepos()}`);
    const r = importFiles([top]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/top\.yml:3:.*machine/);
  });

  it('a 100,000-line header imports in linear time', () => {
    const d = dir('kas-long');
    const lines = Array.from({ length: 100_000 }, (_, i) => `    VAR_${i} = "value ${i}"`).join('\n');
    const top = write(d, 'long.yml', `header:\n  version: 14\nmachine: qemux86-64\nlocal_conf_header:\n  a: |\n${lines}\n${pokyRepos()}`);
    const start = Date.now();
    const r = importFiles([top]);
    expect(r.code, r.stderr).toBe(0);
    // An absolute bound with a wide margin on both sides, not a ratio of two short runs (a ratio
    // failed CI on a loaded machine): the quadratic reader took 8 to 16 s for 16,000 lines, which
    // is 5 to 10 minutes for 100,000; the linear one takes 3 s here.
    expect(Date.now() - start).toBeLessThan(60_000);
  }, 120_000);
});
