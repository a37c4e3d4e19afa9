// The containerised build end to end with a real Docker engine: the build-environment image is
// built from docker/ on the locally made base image, and a stand-in `bitbake` inside a fixture
// poky replays recorded BitBake output, so engine, uid mapping, mounts, progress parsing, logs,
// artifacts, report and signals are all exercised for real.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUser } from '../../src/engine/engine.js';
import { ensureBuildEnvImage } from '../../src/engine/image.js';
import {
  addInsteadOf,
  CLI,
  makeFixtureWorld,
  makeProject,
  makeUpstreamFromDir,
  REPO_ROOT,
  runCli,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';

const BASE_IMAGE = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
const dockerReady = spawnSync('docker', ['image', 'inspect', BASE_IMAGE], { stdio: 'ignore' }).status === 0;
const isRoot = process.getuid?.() === 0;

let world: FixtureWorld;
let env: NodeJS.ProcessEnv;

function manifest(image: string, extra = ''): string {
  return `repos:
  poky:
    url: ${world.upstreams.poky!.url}
    layers: [meta]
build_env:
  engine: docker
  base_image: ${BASE_IMAGE}
targets:
  pi:
    image: ${image}
    machine: raspberrypi4-64
    packages: [docker, ntp-utils${extra}]
    image_fstypes: [wic.bz2, wic.bmap]
`;
}

function project(image: string, extra = ''): string {
  return makeProject(world, manifest(image, extra));
}

function report(dir: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(dir, 'build', 'pi', 'report.json'), 'utf8')) as Record<string, any>;
}

function leftoverContainers(): string {
  return spawnSync('docker', ['ps', '-a', '--filter', 'name=yoctoforge-', '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout.trim();
}

if (!dockerReady) {
  describe('containerised build', () => {
    it.skip(`skipped: no Docker engine with the base image ${BASE_IMAGE} (run scripts/test-host-setup.sh)`, () => {});
  });
} else {
  beforeAll(async () => {
    world = makeFixtureWorld();
    world.upstreams.poky = makeUpstreamFromDir(world.root, 'poky-standin', path.join(REPO_ROOT, 'test', 'fixtures', 'build', 'poky'));
    world.upstreams.poky.url = 'https://git.example.invalid/poky-standin';
    addInsteadOf(world, world.upstreams.poky);
    env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache'), YOCTOFORGE_MIN_FREE_GIB: '1' };
    // The first build of the environment installs the Yocto host packages (a minute or two):
    // done here, under the hook timeout, rather than inside the first test.
    await ensureBuildEnvImage('docker', { baseImage: BASE_IMAGE, user: buildUser(world.root), series: 'scarthgap' });
  });
  afterAll(() => world?.cleanup());

  describe('containerised build', () => {
    it('builds in the container as a non-root uid, logs, parses progress, links artifacts and writes report.json', () => {
      const dir = project('yf-image-ok');
      const r = runCli(['build'], { cwd: dir, env });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/Build environment: yoctoforge-buildenv:[0-9a-f]{16} (built|up to date) \(docker\)/);
      expect(r.stdout).toMatch(/task 2 of 15: yf-hello-native:do_fetch/);
      expect(r.stdout).toMatch(/sstate: wanted 6, local 0, mirrors 0, missed 6 \(0% match\)/);
      expect(r.stdout).toMatch(/built yf-image-ok for raspberrypi4-64/);
      const rep = report(dir);
      expect(rep).toMatchObject({
        target: 'pi',
        image: 'yf-image-ok',
        machine: 'raspberrypi4-64',
        result: 'success',
        mode: 'build',
        engine: 'docker',
      });
      expect(rep.tasks).toEqual({ attempted: 15, succeeded: 15, failed: 0, total: 15 });
      expect(rep.sstate).toMatchObject({ wanted: 6, missed: 6 });
      expect(rep.layers).toEqual([{ repo: 'poky', url: world.upstreams.poky!.url, commit: world.upstreams.poky!.commits[0] }]);
      expect(rep.artifacts.map((a: { type: string }) => a.type).sort()).toEqual(['manifest', 'wic.bmap', 'wic.bz2']);
      for (const a of rep.artifacts as Array<{ path: string; size: number }>) {
        expect(a.path).toMatch(/^build\/pi\/tmp\/deploy\/images\/raspberrypi4-64\/yf-image-ok-raspberrypi4-64\.rootfs-\d{14}\./);
        expect(statSync(path.join(dir, a.path)).size).toBe(a.size);
      }
      const links = readdirSync(path.join(dir, 'build', 'pi', 'artifacts'));
      expect(links.length).toBe(3);
      expect(lstatSync(path.join(dir, 'build', 'pi', 'artifacts', links[0]!)).isSymbolicLink()).toBe(true);
      // BitBake never runs as root: the files it wrote belong to the build user
      const deployed = path.join(dir, rep.artifacts[0].path);
      expect(statSync(deployed).uid).toBe(isRoot ? 1000 : process.getuid!());
      const log = readFileSync(path.join(dir, rep.log), 'utf8');
      expect(log).toContain('NOTE: Tasks Summary: Attempted 15 tasks');
      expect(leftoverContainers()).toBe('');
      // what `yoctoforge report` compares: image size, installed packages, slowest tasks (buildstats)
      expect(rep.imageSize).toBe(rep.artifacts.find((a: { type: string }) => a.type === 'wic.bz2').size);
      expect(rep.packages).toEqual([
        { name: 'base-files', arch: 'raspberrypi4_64', version: '3.0.14' },
        { name: 'docker-moby', arch: 'cortexa72', version: '25.0.3' },
      ]);
      expect(
        rep.slowestTasks.map((t: { recipe: string; task: string; seconds: number; start: number }) => [
          t.recipe,
          t.task,
          t.seconds,
          t.start,
        ]),
      ).toEqual([
        ['linux-raspberrypi-6.6.63+git-r0', 'do_compile', 61.5, 10],
        ['docker-moby-25.0.3+git-r0', 'do_compile', 40.25, 12],
        ['quilt-native-0.67-r0', 'do_fetch', 0.5, 0],
      ]);
    });

    it('under GitHub Actions: grouped steps, ::error:: annotations and a Markdown step summary', () => {
      const dir = project('yf-image-ok');
      const summary = path.join(dir, 'step-summary.md');
      const gha = { ...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
      const r = runCli(['build'], { cwd: dir, env: gha });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/^::group::Sync layers\n(.*\n)*?::endgroup::$/m);
      expect(r.stdout).toMatch(/^::group::BitBake yf-image-ok\n/m);
      const md = readFileSync(summary, 'utf8');
      expect(md).toMatch(/^### ✅ yoctoforge build of `pi`: success$/m);
      expect(md).toMatch(/^\| packages \| 2 \|$/m);
      expect(md).toMatch(
        /^\| `build\/pi\/tmp\/deploy\/images\/raspberrypi4-64\/yf-image-ok-raspberrypi4-64\.rootfs-\d{14}\.wic\.bz2` \| [\d.]+ KiB \|$/m,
      );
      const failing = project('yf-image-fail');
      const f = runCli(['build'], { cwd: failing, env: { ...gha, GITHUB_STEP_SUMMARY: path.join(failing, 'summary.md') } });
      expect(f.code).toBe(1);
      expect(f.stderr).toMatch(/^::error::BitBake failed: quilt-native:do_fetch$/m);
      expect(readFileSync(path.join(failing, 'summary.md'), 'utf8')).toMatch(/^\| failed \| quilt-native:do_fetch/m);
    });

    it('--dry-run resolves the task graph and checks every requested package is in it', () => {
      const dir = project('yf-image-ok');
      const r = runCli(['build', 'pi', '--dry-run'], { cwd: dir, env });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/yf-image-ok for raspberrypi4-64: 406 recipes in the task graph/);
      expect(r.stdout).toMatch(/ok\s+docker \(from docker-ce, docker-moby\)/);
      expect(r.stdout).toMatch(/ok\s+ntp-utils \(from ntp\)/);
      const rep = report(dir);
      expect(rep.mode).toBe('dry-run');
      expect(rep.graph.packages['ntp-utils']).toEqual({ providers: ['ntp'], inGraph: true });
      expect(readdirSync(path.join(dir, 'build', 'pi', 'logs')).some((f) => f.endsWith('-dry-run.log'))).toBe(true);

      const missing = runCli(['build', 'pi', '--dry-run'], {
        cwd: project('yf-image-ok', ', python3-docker-compose, no-such-package'),
        env,
      });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(
        /^yoctoforge: error: 2 requested package\(s\) not in the task graph of yf-image-ok: python3-docker-compose, no-such-package/m,
      );
      expect(missing.stderr).toContain('no-such-package: no recipe in the enabled layers provides it');
    });

    it('a failing task names recipe, task, host log path and last lines, and exits 1', () => {
      const dir = project('yf-image-fail');
      const r = runCli(['build'], { cwd: dir, env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^yoctoforge: error: BitBake failed: quilt-native:do_fetch\n/m);
      const logPath = path.join(dir, 'build', 'pi', 'tmp', 'work', 'x86_64-linux', 'quilt-native', '0.67', 'temp', 'log.do_fetch.971');
      expect(r.stderr).toContain(`log: ${logPath}`);
      expect(existsSync(logPath)).toBe(true);
      expect(r.stderr).toMatch(/\| ERROR: quilt-native-0\.67-r0 do_fetch: Bitbake Fetcher Error/);
      expect(report(dir)).toMatchObject({ result: 'failed', failures: [{ recipe: 'quilt-native', task: 'do_fetch' }] });
    });

    it('a parse error is one clear message', () => {
      const r = runCli(['build'], { cwd: project('yf-image-parse-error'), env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^yoctoforge: error: BitBake could not parse the metadata: ParseError at .*broken_1\.0\.bb:5: Unparsed lines/m,
      );
    });

    it('SIGTERM stops the container and exits 130; a second build of the same target is refused meanwhile', async () => {
      const dir = project('yf-image-slow');
      const child = spawn(process.execPath, [CLI, 'build'], { cwd: dir, env: { ...env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const started = path.join(dir, 'build', 'pi', 'bitbake-started');
      const deadline = Date.now() + 300_000;
      while (!existsSync(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(started)).toBe(true);

      const second = runCli(['build'], { cwd: dir, env });
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(/^yoctoforge: error: target pi is already being built \(yoctoforge pid \d+\)/m);

      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(130);
      expect(stderr).toMatch(/interrupted by SIGTERM; the build container yoctoforge-pi-\d+ was stopped/);
      expect(leftoverContainers()).toBe('');
      expect(report(dir).result).toBe('interrupted');
      expect(existsSync(path.join(dir, 'build', 'pi', '.yoctoforge-build.lock'))).toBe(false);
    });

    it('shell runs a command in the same environment, as the build user', () => {
      const dir = project('yf-image-ok');
      expect(runCli(['sync'], { cwd: dir, env }).code).toBe(0);
      const r = runCli(['shell', '--', 'sh', '-c', 'id -u; echo "$BUILDDIR"; bitbake --version'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toContain(String(isRoot ? 1000 : process.getuid!()));
      expect(lines).toContain(path.join(dir, 'build', 'pi'));
      expect(r.stdout).toContain('BitBake Build Tool Core version 2.8.1');
    });

    it('refuses a build without the disk space it needs, before starting', () => {
      const r = runCli(['build'], { cwd: project('yf-image-ok'), env: { ...env, YOCTOFORGE_MIN_FREE_GIB: '100000' } });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /^yoctoforge: error: not enough disk space: build directory \(.*\): [\d.]+ [GT]iB free, needs about 97\.66 TiB/m,
      );
    });

    const podmanReady = spawnSync('podman', ['image', 'exists', `localhost/${BASE_IMAGE}`], { stdio: 'ignore' }).status === 0;
    it.runIf(podmanReady)(
      'builds with Podman too: same argv shape, same uid mapping, same artifacts',
      () => {
        // This sandbox lacks CAP_SYS_RESOURCE: Podman must not set rlimits or a pids limit here.
        const conf = path.join(world.root, 'containers.conf');
        writeFileSync(conf, '[containers]\ndefault_ulimits = []\npids_limit = 0\n');
        const dir = project('yf-image-ok');
        const r = runCli(['build', '--engine', 'podman', '--base-image', `localhost/${BASE_IMAGE}`], {
          cwd: dir,
          env: { ...env, CONTAINERS_CONF: conf },
        });
        expect(r.code, r.stderr + r.stdout.slice(-2000)).toBe(0);
        expect(r.stdout).toMatch(/Build environment: yoctoforge-buildenv:[0-9a-f]{16} (built|up to date) \(podman\)/);
        const rep = report(dir);
        expect(rep).toMatchObject({ result: 'success', engine: 'podman', tasks: { attempted: 15, failed: 0 } });
        expect(statSync(path.join(dir, rep.artifacts[0].path)).uid).toBe(isRoot ? 1000 : process.getuid!());
        expect(
          spawnSync('podman', ['ps', '-a', '--filter', 'name=yoctoforge-', '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout.trim(),
        ).toBe('');
      },
      900_000,
    );

    it.runIf(isRoot)('--engine none as root runs BitBake on the host as the build user it announces', () => {
      // That user (1000) must reach the project: a private temporary directory would stop it.
      chmodSync(world.root, 0o755);
      const dir = project('yf-image-ok');
      const r = runCli(['build', '--engine', 'none'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/running BitBake as 1000:1000/);
      expect(r.stderr).not.toMatch(/Do not use Bitbake as root/);
      const deployed = path.join(dir, report(dir).artifacts[0].path);
      expect(statSync(deployed).uid).toBe(1000);
    });
  });
}
