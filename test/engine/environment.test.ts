// What reaches the build environment, read from inside a real Docker container: the default
// passthrough (proxies, GIT_PROXY_COMMAND, BB_NUMBER_THREADS, PARALLEL_MAKE) and the manifest's
// `env:`, and nothing else of the caller's environment.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvironment, DEFAULT_PASSTHROUGH } from '../../src/engine/container.js';
import type { InputError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/load.js';
import {
  addInsteadOf,
  makeFixtureWorld,
  makeProject,
  makeUpstreamFromDir,
  REPO_ROOT,
  runCli,
  type FixtureWorld,
} from '../helpers/git-fixtures.js';

const BASE_IMAGE = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
const dockerReady = spawnSync('docker', ['image', 'inspect', BASE_IMAGE], { stdio: 'ignore' }).status === 0;

describe('buildEnvironment', () => {
  it('passes the defaults the caller has, the manifest names, and adds those to BitBake passthrough', () => {
    const env = buildEnvironment(
      { TOKEN: null, SITE: 'lab-1', THREADS_NOTE: 4, ABSENT: null },
      { https_proxy: 'http://proxy:3128', NO_PROXY: 'localhost', TOKEN: 's3cret', HOME: '/root', SECRET_OF_CALLER: 'x' },
    );
    expect(env).toEqual({
      https_proxy: 'http://proxy:3128',
      NO_PROXY: 'localhost',
      TOKEN: 's3cret',
      SITE: 'lab-1',
      THREADS_NOTE: '4',
      BB_ENV_PASSTHROUGH_ADDITIONS: 'TOKEN SITE THREADS_NOTE ABSENT',
    });
  });

  it("the caller's value wins over the manifest's", () => {
    expect(buildEnvironment({ SITE: 'lab-1' }, { SITE: 'lab-2' }).SITE).toBe('lab-2');
  });

  it('rejects names the environment owns and values that are not one line', () => {
    const problems = (text: string): string => {
      try {
        parseManifest(text, 'layers.yaml');
        return '';
      } catch (error) {
        return (error as InputError).details.join('\n');
      }
    };
    const base = 'repos:\n  poky:\n    url: x\ntargets:\n  t:\n    image: core-image-base\n';
    expect(problems(`${base}env:\n  PATH: /evil\n`)).toMatch(/env\.PATH: expected a name the build environment does not set itself/);
    expect(problems(`${base}env:\n  1BAD: x\n`)).toMatch(/env\.1BAD/);
    expect(problems(`${base}env:\n  OK: "a\\nb"\n`)).toMatch(/env\.OK: .*(one line of text|without control characters or line breaks)/);
    expect(parseManifest(`${base}env:\n  OK: ~\n  N: 8\n`, 'layers.yaml').env).toEqual({ OK: null, N: 8 });
  });
});

if (!dockerReady) {
  describe('the container environment', () => {
    it.skip(`skipped: no Docker engine with the base image ${BASE_IMAGE} (run scripts/test-host-setup.sh)`, () => {});
  });
} else {
  describe('the container environment', () => {
    let world: FixtureWorld;
    let project: string;
    let env: NodeJS.ProcessEnv;
    beforeAll(() => {
      world = makeFixtureWorld();
      const poky = makeUpstreamFromDir(world.root, 'poky-standin', path.join(REPO_ROOT, 'test', 'fixtures', 'build', 'poky'));
      addInsteadOf(world, poky);
      // No proxy or BitBake variable of this machine may leak into the comparison.
      env = Object.fromEntries(
        Object.entries(world.env).filter(([k]) => !(DEFAULT_PASSTHROUGH as readonly string[]).includes(k) && k !== 'SSH_AUTH_SOCK'),
      );
      env.YOCTOFORGE_CACHE_DIR = path.join(world.root, 'cache');
      project = makeProject(
        world,
        `repos:
  poky:
    url: ${poky.url}
    layers: [meta]
build_env:
  engine: docker
  base_image: ${BASE_IMAGE}
env:
  MY_TOKEN: ~
  SITE: lab-1
  UNSET_HERE: ~
targets:
  pi:
    image: core-image-base
    machine: raspberrypi4-64
`,
      );
      const r = runCli(['sync'], { cwd: project, env });
      if (r.code !== 0) throw new Error(r.stderr);
    }, 600_000);
    afterAll(() => world?.cleanup());

    function containerEnv(extra: NodeJS.ProcessEnv): Map<string, string> {
      const r = runCli(['shell', '--', 'env', '-0'], { cwd: project, env: { ...env, ...extra } });
      expect(r.code, r.stderr).toBe(0);
      return new Map(
        r.stdout
          .split('\0')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
      );
    }

    it('sees exactly the passthrough defaults and env: names on top of its own variables', () => {
      const bare = containerEnv({});
      const expected = {
        http_proxy: 'http://proxy.example:3128',
        HTTPS_PROXY: 'http://proxy.example:3128',
        no_proxy: 'localhost,.example',
        GIT_PROXY_COMMAND: '/usr/local/bin/git-proxy',
        BB_NUMBER_THREADS: '6',
        PARALLEL_MAKE: '-j 6',
        MY_TOKEN: 'tok-123',
      };
      const given = containerEnv({ ...expected, NOT_FOR_THE_BUILD: 'secret' });
      const added = Object.fromEntries([...given].filter(([k, v]) => bare.get(k) !== v && k !== 'HOSTNAME'));
      expect(added).toEqual(expected);
      // Present in both runs: the manifest's own value, and BitBake's passthrough of the env: names.
      expect(bare.get('SITE')).toBe('lab-1');
      expect(bare.get('BB_ENV_PASSTHROUGH_ADDITIONS')).toBe('MY_TOKEN SITE UNSET_HERE');
      expect(bare.has('UNSET_HERE')).toBe(false);
      expect(given.has('NOT_FOR_THE_BUILD')).toBe(false);
    }, 600_000);
  });
}
