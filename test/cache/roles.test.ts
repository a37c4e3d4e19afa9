// The cache.shared section: validated like every manifest value, and rendered into local.conf per
// role (developers read through a local hash server, CI reports to the team's), with credentials
// passed into the container by name and never written anywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderConfText } from '../../src/conf/render.js';
import { containerArgv } from '../../src/engine/container.js';
import { checkLayers } from '../../src/layers/check.js';
import { syncLayers } from '../../src/layers/sync.js';
import { loadProject, parseManifest } from '../../src/manifest/load.js';
import { cacheSettings } from '../../src/manifest/shared-cache.js';
import { resolveTarget } from '../../src/manifest/target.js';
import { makeFixtureWorld, makeProject, seedManifest, type FixtureWorld } from '../helpers/git-fixtures.js';

const SHARED =
  'cache:\n  shared:\n    sstate_url: https://sstate.example.com/scarthgap/\n    hashserve: hashserv.example.com:8686\n    publish: builder@sstate.example.com:/srv/sstate\n';
const base = 'repos:\n  poky:\n    url: https://git.example.invalid/poky\ntargets:\n  t:\n    image: core-image-base\n';

describe('cache.shared in the manifest', () => {
  it('is checked like every value that reaches the conf', () => {
    const bad: [string, string, RegExp][] = [
      ['a quote in the mirror URL', "cache:\n  shared:\n    sstate_url: 'https://a\"b'\n", /sstate_url/],
      ['inline python in the URL', 'cache:\n  shared:\n    sstate_url: "https://x/${@os.system(1)}"\n', /sstate_url/],
      ['credentials in the URL', 'cache:\n  shared:\n    sstate_url: "https://user:pw@x/sstate"\n', /sstate_url/],
      ['auto as the shared server', 'cache:\n  shared:\n    hashserve: auto\n', /network address/],
      ['an unknown role', 'cache:\n  shared:\n    role: admin\n', /role/],
      ['both kinds of hash server', 'cache:\n  hashserve: "a:1"\n  shared:\n    hashserve: "b:2"\n', /leave cache.hashserve/],
      ['an unknown key (a password)', 'cache:\n  shared:\n    password: x\n', /password/],
    ];
    for (const [what, cache, message] of bad) {
      let problems = '';
      try {
        parseManifest(`${cache}${base}`, 'layers.yaml');
      } catch (error) {
        problems = [(error as Error).message, ...((error as { details?: string[] }).details ?? [])].join('\n');
      }
      expect(problems, what).toMatch(message);
    }
  });

  it('gives developers a local hash server reading the team one, CI the team one itself', () => {
    const manifest = parseManifest(`${SHARED}${base}`, 'layers.yaml');
    const mirror = 'file://.* https://sstate.example.com/scarthgap/PATH;downloadfilename=PATH';
    expect(cacheSettings(manifest, {})).toEqual({
      role: 'read-only',
      hashserve: 'auto',
      hashserveUpstream: 'hashserv.example.com:8686',
      sstateMirrors: [mirror],
      passEnvironment: [],
    });
    const ci = { YOCTOFORGE_CACHE_ROLE: 'read-write', BB_HASHSERVE_USERNAME: 'ci', BB_HASHSERVE_PASSWORD: 's3cret' };
    expect(cacheSettings(manifest, ci)).toEqual({
      role: 'read-write',
      hashserve: 'hashserv.example.com:8686',
      sstateMirrors: [mirror],
      passEnvironment: ['BB_HASHSERVE_USERNAME', 'BB_HASHSERVE_PASSWORD'],
    });
    // the manifest's role is the default, the environment wins, nonsense is refused
    const rw = parseManifest(`${SHARED}    role: read-write\n${base}`, 'layers.yaml');
    expect(cacheSettings(rw, {}).role).toBe('read-write');
    expect(cacheSettings(rw, { YOCTOFORGE_CACHE_ROLE: 'read-only' }).role).toBe('read-only');
    expect(() => cacheSettings(rw, { YOCTOFORGE_CACHE_ROLE: 'writer' })).toThrow(/read-only or read-write/);
  });

  it('passes secrets to the container by name only', () => {
    const argv = containerArgv(
      {
        engine: 'docker',
        envImage: 'img',
        user: { uid: 1000, gid: 1000 },
        name: 'n',
        mounts: [],
        workdir: '/w',
        env: { A: '1' },
        passEnvironment: ['BB_HASHSERVE_PASSWORD'],
        script: 'true',
        tty: false,
      },
      {},
    );
    expect(argv).toContain('BB_HASHSERVE_PASSWORD');
    expect(argv.join(' ')).not.toMatch(/BB_HASHSERVE_PASSWORD=/);
  });
});

describe('local.conf per role', () => {
  let world: FixtureWorld;
  beforeAll(() => {
    world = makeFixtureWorld();
  });
  afterAll(() => world.cleanup());

  it('renders SSTATE_MIRRORS, BB_HASHSERVE and its upstream by role, never a credential', async () => {
    const project = await loadProject(makeProject(world, seedManifest(world, SHARED)));
    await syncLayers(project);
    const target = resolveTarget(project);
    const layers = await checkLayers(project, target);
    const env = { YOCTOFORGE_CACHE_DIR: '/var/cache/yoctoforge', BB_HASHSERVE_USERNAME: 'ci', BB_HASHSERVE_PASSWORD: 's3cret-token' };
    const developer = (await renderConfText(project, target, layers, env)).localConf;
    expect(developer).toContain('BB_HASHSERVE = "auto"');
    expect(developer).toContain('BB_HASHSERVE_UPSTREAM = "hashserv.example.com:8686"');
    expect(developer).toContain('PERSISTENT_DIR = "/var/cache/yoctoforge/persistent"');
    expect(developer).toContain('    file://.* https://sstate.example.com/scarthgap/PATH;downloadfilename=PATH \\');
    const ci = (await renderConfText(project, target, layers, { ...env, YOCTOFORGE_CACHE_ROLE: 'read-write' })).localConf;
    expect(ci).toContain('BB_HASHSERVE = "hashserv.example.com:8686"');
    expect(ci).not.toContain('BB_HASHSERVE_UPSTREAM');
    expect(ci).not.toContain('PERSISTENT_DIR');
    expect(ci).toContain('file://.* https://sstate.example.com/scarthgap/PATH;downloadfilename=PATH');
    for (const text of [developer, ci]) {
      expect(text).not.toContain('s3cret-token');
      expect(text).not.toMatch(/BB_HASHSERVE_(USERNAME|PASSWORD)\s*[?:+.]*=/);
    }
  });
});
