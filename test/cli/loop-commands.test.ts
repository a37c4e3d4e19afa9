// foreach, clean and build's words (targets, -c TASK, recipes, -- BitBake arguments) on the git
// fixtures, through the built CLI, with a poky whose `bitbake` records how it was called.
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addInsteadOf,
  layerConf,
  makeFixtureWorld,
  makeProject,
  makeUpstream,
  runCli,
  tempDir,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';

let world: FixtureWorld;
let env: NodeJS.ProcessEnv;
let project: string;

beforeAll(() => {
  world = makeFixtureWorld();
  chmodSync(world.root, 0o755);
  // A poky whose oe-init-build-env puts a recording `bitbake` first on PATH.
  const recorder = '#!/bin/sh\necho "$@" > bitbake-args\necho "NOTE: recorder ran bitbake $*"\n';
  const poky = makeUpstream(
    world.root,
    'poky-recorder',
    [{ path: 'meta', conf: layerConf('core', { priority: 5, version: '15', coreNames: 'scarthgap' }) }],
    {
      // found by content as BitBake (bin/bitbake and lib/bb); the recorder on PATH is what runs
      'bitbake/bin/bitbake': '#!/bin/sh\nexit 99\n',
      'bitbake/lib/bb/__init__.py': '__version__ = "2.8.1"\n',
      'oe-init-build-env': `bin=$(mktemp -d)\nprintf '%s' '${recorder}' > "$bin/bitbake"\nchmod +x "$bin/bitbake"\nexport PATH="$bin:$PATH"\nmkdir -p "$1" && cd "$1"\n`,
    },
  );
  addInsteadOf(world, poky);
  env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache'), YOCTOFORGE_MIN_FREE_GIB: '0' };
  project = makeProject(
    world,
    `version: 1
series: scarthgap
repos:
  poky:
    url: ${poky.url}
    layers: [meta]
  meta-raspberrypi:
    url: ${world.upstreams['meta-raspberrypi']!.url}
build_env:
  engine: none
targets:
  pi:
    image: core-image-base
    machine: raspberrypi4-64
  pi5:
    image: core-image-minimal
    machine: raspberrypi5
`,
  );
  const r = runCli(['sync'], { cwd: project, env });
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => world.cleanup());

describe('yoctoforge foreach', () => {
  it('runs a program in every checkout, in manifest order, with the repo in the environment', () => {
    const r = runCli(['foreach', '--', 'sh', '-c', 'echo "$YOCTOFORGE_REPO $(pwd) $YOCTOFORGE_REPO_URL"'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      `poky ${path.join(project, 'layers', 'poky')} https://git.example.invalid/poky-recorder`,
      `meta-raspberrypi ${path.join(project, 'layers', 'meta-raspberrypi')} ${world.upstreams['meta-raspberrypi']!.url}`,
    ]);
    expect(r.stderr).toMatch(/== poky \(layers\/poky\)/);
  });

  it('takes one quoted shell command line, and reports the repos where it failed (exit 1)', () => {
    const r = runCli(['foreach', 'git rev-parse --abbrev-ref HEAD >/dev/null && test "$YOCTOFORGE_REPO" != poky'], { cwd: project, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the command failed in 1 repo\n {2}poky: exit 1\n/);
  });

  it('--stop-on-error stops at the first failing repo', () => {
    const r = runCli(['foreach', '--stop-on-error', '--', 'sh', '-c', 'echo $YOCTOFORGE_REPO; exit 3'], { cwd: project, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('poky\n');
  });

  it('needs a command (exit 2)', () => {
    expect(runCli(['foreach'], { cwd: project, env }).code).toBe(2);
  });
});

describe('yoctoforge clean', () => {
  it("removes the target's tmp/, cache/ and artifacts/ and keeps conf, logs and report", () => {
    const build = path.join(project, 'build', 'pi');
    for (const d of ['tmp/work/x', 'cache', 'artifacts', 'conf', 'logs']) mkdirSync(path.join(build, d), { recursive: true });
    writeFileSync(path.join(build, 'report.json'), '{}');
    // A read-only directory, as BitBake's Go module cache leaves them.
    mkdirSync(path.join(build, 'tmp', 'work', 'x', 'pkg', 'mod'), { recursive: true });
    writeFileSync(path.join(build, 'tmp', 'work', 'x', 'pkg', 'mod', 'f'), 'x');
    chmodSync(path.join(build, 'tmp', 'work', 'x', 'pkg', 'mod'), 0o555);
    chmodSync(path.join(build, 'tmp', 'work', 'x', 'pkg'), 0o555);
    const r = runCli(['clean', 'pi'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed build\/pi\/tmp, build\/pi\/cache, build\/pi\/artifacts/);
    for (const d of ['tmp', 'cache', 'artifacts']) expect(existsSync(path.join(build, d))).toBe(false);
    for (const d of ['conf', 'logs', 'report.json']) expect(existsSync(path.join(build, d))).toBe(true);
  });

  it('never follows a symlink out of the build directory', () => {
    const outside = tempDir('outside');
    writeFileSync(path.join(outside, 'precious'), 'keep me');
    const build = path.join(project, 'build', 'pi');
    mkdirSync(build, { recursive: true });
    symlinkSync(outside, path.join(build, 'tmp'));
    const r = runCli(['clean', 'pi'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('keep me');
    expect(existsSync(path.join(build, 'tmp'))).toBe(false);
  });

  it('refuses while the target is being built (exit 3), then --all removes the whole directory', () => {
    const build = path.join(project, 'build', 'pi');
    mkdirSync(path.join(build, 'conf'), { recursive: true });
    // pid 1 is alive: a build holds the lock
    writeFileSync(path.join(build, '.yoctoforge-build.lock'), '1\n');
    const busy = runCli(['clean', 'pi', '--all'], { cwd: project, env });
    expect(busy.code).toBe(3);
    expect(existsSync(path.join(build, 'conf'))).toBe(true);
    writeFileSync(path.join(build, '.yoctoforge-build.lock'), '999999999\n');
    const r = runCli(['clean', 'pi', '--all'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(build)).toBe(false);
    expect(existsSync(path.join(project, 'layers', 'poky'))).toBe(true);
  });

  it('an unknown target is refused (exit 2) and nothing is removed', () => {
    const r = runCli(['clean', 'nope', '--all'], { cwd: project, env });
    expect(r.code).toBe(2);
    expect(existsSync(path.join(project, 'layers'))).toBe(true);
  });

  it('--sstate runs bitbake -c cleansstate RECIPE... in the build environment', () => {
    const r = runCli(['clean', 'pi', '--sstate', 'busybox', 'virtual/kernel'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(project, 'build', 'pi', 'bitbake-args'), 'utf8')).toBe('-c cleansstate busybox virtual/kernel\n');
    expect(r.stdout).toContain('NOTE: recorder ran bitbake -c cleansstate busybox virtual/kernel');
  });

  it('--sstate refuses what is not a recipe name (exit 2)', () => {
    const r = runCli(['clean', 'pi', '--sstate', '-k'], { cwd: project, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sstate -k: expected a recipe name/);
  });
});

describe('yoctoforge build TARGET... [-c TASK] [RECIPE...] [-- BITBAKE-ARGS]', () => {
  const args = (target: string): string => readFileSync(path.join(project, 'build', target, 'bitbake-args'), 'utf8');
  const report = (target: string): Record<string, unknown> =>
    JSON.parse(readFileSync(path.join(project, 'build', target, 'report.json'), 'utf8')) as Record<string, unknown>;

  it('-c TASK, recipes and BitBake arguments reach bitbake, and the report says what ran', () => {
    const r = runCli(['build', 'pi', '-c', 'compile', 'busybox', 'virtual/kernel', '--', '-k', '-DD'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(args('pi')).toBe('-c compile busybox virtual/kernel -k -DD\n');
    expect(report('pi')).toMatchObject({ result: 'success', bitbake: 'bitbake -c compile busybox virtual/kernel -k -DD', artifacts: [] });
    expect(r.stdout).toMatch(/BitBake -c compile busybox virtual\/kernel -k -DD: /);
  });

  it('-c TASK alone runs the task of the image', () => {
    const r = runCli(['build', 'pi5', '-c', 'populate_sdk'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(args('pi5')).toBe('-c populate_sdk core-image-minimal\n');
  });

  it('several targets are built one after the other, each in its own directory, with one summary', () => {
    const r = runCli(['build', 'pi', 'pi5', '-c', 'fetch'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expect(args('pi')).toBe('-c fetch core-image-base\n');
    expect(args('pi5')).toBe('-c fetch core-image-minimal\n');
    expect(r.stdout).toMatch(/summary:\n.* {2}pi {3}success in .*\n.* {2}pi5 {2}success in /);
  });

  it('refuses a task or recipe that is no name (exit 2), and --dry-run with -c', () => {
    expect(runCli(['build', 'pi', '-c', 'x;y'], { cwd: project, env }).code).toBe(2);
    const bad = runCli(['build', 'pi', '$(reboot)'], { cwd: project, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a target of layers.yaml \(pi, pi5\) nor a recipe name/);
    expect(runCli(['build', 'pi', '--dry-run', '-c', 'fetch'], { cwd: project, env }).code).toBe(2);
  });
});

// status and show: test/cli/status.test.ts and test/cli/overrides.test.ts (the override-aware versions)
