import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderConfText } from '../../src/conf/render.js';
import { InputError } from '../../src/errors.js';
import { checkLayers, type LayerCheckResult } from '../../src/layers/check.js';
import { syncLayers } from '../../src/layers/sync.js';
import { loadProject, parseManifest, type Project } from '../../src/manifest/load.js';
import { projectPaths } from '../../src/manifest/paths.js';
import type { Manifest } from '../../src/manifest/schema.js';
import { resolveTarget } from '../../src/manifest/target.js';
import { makeFixtureWorld, makeProject, runCli, seedManifest, type FixtureWorld } from '../helpers/git-fixtures.js';

/*
 * Every manifest value that reaches local.conf or bblayers.conf, set to every hostile value of a
 * generated corpus: either the manifest is refused (InputError, exit 2), or the rendered confs
 * still hold only plain assignments of the variables yoctoforge writes, and inline Python
 * `${@...}` only as the fixed text of the templates.
 */

/** The only inline Python the renderer writes: fixed text, whatever the manifest says (the layers path reaches it as a variable). */
const FIXED_PYTHON = `YOCTOFORGE_LAYERS_DIR := "\${@os.path.normpath(os.path.join(d.getVar('TOPDIR'), d.getVar('YOCTOFORGE_LAYERS_FROM_TOPDIR')))}"`;

/** Pieces of BitBake, Python and shell syntax, and characters that end or split a conf line. */
const SYNTAX = [
  `'+str(os.system('touch /tmp/PWNED'))+'`,
  '${@os.system("id")}',
  '${@bb.utils.which(d, "sh")}',
  '${TOPDIR}',
  '$HOME',
  '"',
  "'",
  '\\',
  '\n',
  '\r',
  '\u0000',
  '\u001b[31m',
  '" \nINHERIT += "evil',
  '\nINHERIT += "evil"\n',
  '$(id)',
  '`id`',
  ';reboot',
  '|sh',
  '&&id',
  ' ',
  '\t',
  ':',
  '#',
  '(',
  ')',
  '+',
  '=',
  'é',
];
/** each piece alone, after a word, inside a word and inside an absolute path */
const CORPUS = SYNTAX.flatMap((s) => [s, `l${s}`, `a${s}b`, `/x/${s}/y`]);

type Setter = (m: Manifest, value: string) => void;
const target = (m: Manifest): NonNullable<Manifest['targets'][string]> => Object.values(m.targets)[0]!;
/** Every manifest value that reaches a conf (the raw local_conf/bblayers_conf sections are verbatim by design). */
const FIELDS: Record<string, Setter> = {
  layers_dir: (m, v) => (m.layers_dir = v),
  build_dir: (m, v) => (m.build_dir = v),
  'cache.dir': (m, v) => (m.cache = { ...m.cache, dir: v }),
  'cache.downloads': (m, v) => (m.cache = { ...m.cache, downloads: v }),
  'cache.sstate': (m, v) => (m.cache = { ...m.cache, sstate: v }),
  'cache.hashserve': (m, v) => (m.cache = { ...m.cache, hashserve: v }),
  'cache.hashserve_upstream': (m, v) => (m.cache = { ...m.cache, hashserve_upstream: v }),
  'cache.sstate_mirrors': (m, v) => (m.cache = { ...m.cache, sstate_mirrors: [v] }),
  'targets key': (m, v) => (m.targets = { [v]: target(m) }),
  machine: (m, v) => (target(m).machine = v),
  distro: (m, v) => (target(m).distro = v),
  init_manager: (m, v) => (target(m).init_manager = v as never),
  distro_features: (m, v) => (target(m).distro_features = ['virtualization', v]),
  image_features: (m, v) => (target(m).image_features = [v]),
  packages: (m, v) => (target(m).packages = [v]),
  license_flags_accepted: (m, v) => (target(m).license_flags_accepted = [v]),
  image_fstypes: (m, v) => (target(m).image_fstypes = [v]),
  'variables key': (m, v) => (target(m).variables = { [v]: '1' }),
  'variables value': (m, v) => (target(m).variables = { FOO: v }),
  'users.name': (m, v) => (target(m).users = [{ name: v }]),
  'users.shell': (m, v) => (target(m).users = [{ name: 'pi', shell: v }]),
  'users.home': (m, v) => (target(m).users = [{ name: 'pi', home: v }]),
  'users.password_hash': (m, v) => (target(m).users = [{ name: 'pi', password_hash: v }]),
  'users.groups': (m, v) => (target(m).users = [{ name: 'pi', groups: [v] }]),
  'groups.name': (m, v) => (target(m).groups = [{ name: v }]),
  'groups.members': (m, v) => (target(m).groups = [{ name: 'g', members: [v] }]),
};

/** Logical lines: a trailing backslash continues a line. */
function logicalLines(text: string): string[] {
  return text
    .replace(/\\\n/g, '\u0001')
    .split('\n')
    .map((l) => l.replace(/\u0001/g, '\\\n'));
}

/** Variable name and operator of every assignment; inline Python lines whole. Fails on a line that is neither, a comment nor blank. */
function assignments(text: string, file: string): string[] {
  expect(text, `${file} has a control character`).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  const out: string[] = [];
  for (const line of logicalLines(text)) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.includes('${@')) {
      out.push(line);
      continue;
    }
    const m = /^([A-Za-z0-9_${}:.+-]+) (=|\?=|\?\?=|:=|\+=) "((?:[^"\\\n]|\\\n|\\\$)*)"$/.exec(line);
    expect(m, `${file}: not a plain assignment: ${JSON.stringify(line)}`).not.toBeNull();
    out.push(`${m![1]} ${m![2]}`);
  }
  return out;
}

let world: FixtureWorld;
let base: Project;
let baseLayers: LayerCheckResult;
const env = { XDG_CACHE_HOME: '/var/cache' } as NodeJS.ProcessEnv;

beforeAll(async () => {
  world = makeFixtureWorld();
  base = await loadProject(makeProject(world, seedManifest(world)));
  await syncLayers(base);
  baseLayers = await checkLayers(base, resolveTarget(base));
});
afterAll(() => world.cleanup());

/** The confs of the seed project with one value changed, or the InputError that refuses it. */
async function renderWith(set: Setter, value: string): Promise<{ localConf: string; bblayersConf: string } | InputError> {
  const manifest = structuredClone(base.manifest);
  set(manifest, value);
  try {
    const text = stringify(manifest);
    const project: Project = { ...base, manifest: parseManifest(text, base.manifestFile), manifestText: text };
    const t = resolveTarget(project);
    // the layers checked out for the seed project, where this manifest's layers_dir puts them
    const layersDir = projectPaths(project, env).layersDir;
    const from = projectPaths(base, env).layersDir;
    const layers = {
      ...baseLayers,
      layers: baseLayers.layers.map((l) => ({ ...l, dir: path.join(layersDir, path.relative(from, l.dir)) })),
    };
    return await renderConfText(project, t, layers, env);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
}

describe('hostile manifest values never reach a conf as syntax', () => {
  it('the seed project renders plain assignments only (the baseline)', async () => {
    const text = (await renderWith(() => undefined, '')) as { localConf: string; bblayersConf: string };
    expect(assignments(text.localConf, 'local.conf').filter((a) => a.includes('${@'))).toEqual([]);
    expect(assignments(text.bblayersConf, 'bblayers.conf').filter((a) => a.includes('${@'))).toEqual([FIXED_PYTHON]);
  });

  for (const [field, set] of Object.entries(FIELDS)) {
    it(`${field}: ${CORPUS.length} hostile values are refused or stay plain values`, async () => {
      const baseline = (await renderWith(() => undefined, '')) as { localConf: string; bblayersConf: string };
      const allowed = new Set([...assignments(baseline.localConf, 'local.conf'), ...assignments(baseline.bblayersConf, 'bblayers.conf')]);
      // the names a full target can add besides the seed's
      for (const extra of ['EXTRA_IMAGE_FEATURES:append =', 'PERSISTENT_DIR =', 'BB_HASHSERVE_UPSTREAM =', 'SSTATE_MIRRORS =', 'FOO ='])
        allowed.add(extra);
      let refused = 0;
      for (const value of CORPUS) {
        const result = await renderWith(set, value);
        if (result instanceof InputError) {
          refused++;
          expect(result.exitCode).toBe(2);
          continue;
        }
        for (const [file, text] of [
          ['local.conf', result.localConf],
          ['bblayers.conf', result.bblayersConf],
        ] as const) {
          for (const a of assignments(text, file)) {
            // a variables key is the user's own variable name, checked by the schema
            if (field === 'variables key' && a === `${value} =`) continue;
            // inline Python lines must be the baseline's, character for character
            expect(allowed.has(a), `${field} = ${JSON.stringify(value)} made ${file} say ${a}`).toBe(true);
          }
        }
      }
      expect(refused).toBeGreaterThan(0);
    });
  }

  it('`yoctoforge config` refuses the reported layers_dir with exit 2, naming it, and writes no conf', async () => {
    const dir = makeProject(world, seedManifest(world).replace('repos:', `layers_dir: "l'+str(os.system('touch /tmp/PWNED'))+'"\nrepos:`));
    const r = runCli(['config'], { cwd: dir, env: world.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^yoctoforge: error: invalid manifest .*\n.*layers_dir: expected a path/);
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
  });
});
