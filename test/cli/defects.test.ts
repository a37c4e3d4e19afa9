// The defects of issue 12, each run through the built CLI on the git fixtures as a user meets them.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeFixtureWorld, makeProject, runCli, seedManifest, tempDir, type FixtureWorld } from '../helpers/git-fixtures.js';

const isRoot = process.getuid?.() === 0;
let world: FixtureWorld;
let env: NodeJS.ProcessEnv;
let synced: string;

beforeAll(() => {
  world = makeFixtureWorld();
  // As root, engine none runs the command as the build user (1000), who must reach the project.
  chmodSync(world.root, 0o755);
  env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') };
  synced = makeProject(world, seedManifest(world));
  const r = runCli(['sync'], { cwd: synced, env });
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(() => world.cleanup());

describe('sync flags', () => {
  it.each([['abc'], ['-3'], ['0'], ['1.5']])('-j %s is refused with exit 2 before any work', (jobs) => {
    const r = runCli(['sync', '-j', jobs], { cwd: synced, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-j, --jobs <n>.*expected a whole number from 1 to 32/);
  });

  it('--shallow with --blobless is refused', () => {
    const r = runCli(['sync', '--shallow', '--blobless'], { cwd: synced, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'--shallow' cannot be used with option '--blobless'|'--blobless' cannot be used with option '--shallow'/);
  });

  it('a repo that fails is reported once, in the error, not also as a step summary', () => {
    const dir = makeProject(
      world,
      seedManifest(world).replace(world.upstreams['meta-raspberrypi']!.url, 'https://git.example.invalid/no-such-repo'),
    );
    const r = runCli(['sync'], { cwd: dir, env });
    expect(r.code).toBe(1);
    const both = `${r.stdout}${r.stderr}`;
    expect(both.match(/clone of/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/meta-raspberrypi: failed \(see below\)/);
    expect(r.stderr).toMatch(/^ {2}meta-raspberrypi: clone of .*no-such-repo failed/m);
  });
});

describe('-C and init', () => {
  it('-C dir init sub creates dir/sub, not ./sub', () => {
    const base = tempDir('dash-c');
    const cwd = tempDir('cwd');
    const r = runCli(['-C', base, 'init', 'sub', '--yes'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(base, 'sub', 'layers.yaml'))).toBe(true);
    expect(existsSync(path.join(cwd, 'sub'))).toBe(false);
  });

  it('init --machine sets the machine; a bad one is refused with exit 2', () => {
    const dir = tempDir('init-machine');
    const r = runCli(['init', dir, '--yes', '--machine', 'raspberrypi5']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'layers.yaml'), 'utf8')).toMatch(/^ {4}machine: raspberrypi5$/m);
    const bad = runCli(['init', tempDir('init-bad'), '--machine', 'pi"; evil']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/machine/);
  });

  it.runIf(existsSync('/usr/bin/script'))('on a terminal init asks for the machine, and Enter keeps the default', () => {
    const ask = (answer: string): string => {
      const dir = tempDir('init-tty');
      // script(1) gives the CLI a real pseudo-terminal; the answer is typed into it.
      const r = spawnSync('script', ['-qec', `${process.execPath} ${CLI} init ${dir}`, '/dev/null'], {
        input: `${answer}\n`,
        encoding: 'utf8',
        env: { ...process.env, CI: '' },
      });
      expect(r.status, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/MACHINE .*\[raspberrypi4-64\]: /);
      return readFileSync(path.join(dir, 'layers.yaml'), 'utf8');
    };
    expect(ask('qemuarm64')).toMatch(/^ {4}machine: qemuarm64$/m);
    expect(ask('')).toMatch(/^ {4}machine: raspberrypi4-64$/m);
  });
});

describe('engine choice', () => {
  it('a bad YOCTOFORGE_ENGINE is named as such, not as an --engine flag', () => {
    const r = runCli(['shell', '--', 'true'], { cwd: synced, env: { ...env, YOCTOFORGE_ENGINE: 'bogus' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^yoctoforge: error: YOCTOFORGE_ENGINE=bogus: expected docker, podman or none$/m);
    expect(r.stderr).not.toContain('--engine bogus');
  });
});

describe('shell -- CMD (engine none)', () => {
  it("stdout is the command's alone; yoctoforge's progress goes to stderr", () => {
    const r = runCli(['shell', '--engine', 'none', '--', 'echo', 'hello'], { cwd: synced, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toMatch(/Render conf/);
  });

  it('the exit code of the command is the exit code of shell, also for a builtin', () => {
    expect(runCli(['shell', '--engine', 'none', '--', 'exit', '7'], { cwd: synced, env }).code).toBe(7);
    expect(runCli(['shell', '--engine', 'none', '--', 'sh', '-c', 'exit 5'], { cwd: synced, env }).code).toBe(5);
  });

  it.runIf(isRoot)('as root, the command runs as the build user it announces', () => {
    const r = runCli(['shell', '--engine', 'none', '--', 'id', '-u'], { cwd: synced, env });
    expect(r.code, r.stderr).toBe(0);
    const announced = /running BitBake as (\d+):(\d+)/.exec(r.stderr);
    expect(announced, r.stderr).not.toBeNull();
    expect(r.stdout.trim()).toBe(announced![1]);
  });
});

describe('exit codes of flags', () => {
  it('an unknown option exits 2 (commander) and a missing project directory does not create it', () => {
    const missing = path.join(tempDir('missing'), 'nope');
    mkdirSync(path.dirname(missing), { recursive: true });
    const r = runCli(['-C', missing, 'sync']);
    expect(r.code).toBe(2);
    expect(existsSync(missing)).toBe(false);
  });
});
