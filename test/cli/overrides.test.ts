import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnottyParser } from '../../src/bitbake/knotty.js';
import { readReport } from '../../src/bitbake/report.js';
import { loadProject } from '../../src/manifest/load.js';
import { loadOverrides } from '../../src/manifest/overrides.js';
import { resolveTarget } from '../../src/manifest/target.js';
import { assembleReport } from '../../src/report/build-report.js';
import { makeFixtureWorld, makeProject, runCli, seedManifest, type FixtureWorld } from '../helpers/git-fixtures.js';

let world: FixtureWorld;
let synced: string;
beforeAll(() => {
  world = makeFixtureWorld();
  synced = makeProject(world, seedManifest(world));
  expect(runCli(['sync'], { cwd: synced, env: world.env }).code).toBe(0);
});
afterAll(() => world.cleanup());

const LOCAL_CONF = 'build/rpi-docker-image/conf/local.conf';
const cli = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { cwd: dir, env: { ...world.env, ...env } });

describe('overrides', () => {
  it('--machine, --set and variables reach local.conf, with their origin in its header', () => {
    const result = cli(synced, [
      'config',
      '--machine',
      'raspberrypi5',
      '--set',
      'packages=docker,htop',
      '--set',
      'variables.IMAGE_ROOTFS_EXTRA_SPACE=1024',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const conf = readFileSync(path.join(synced, LOCAL_CONF), 'utf8');
    expect(conf).toMatch(/^MACHINE = "raspberrypi5"$/m);
    expect(conf).toMatch(/^IMAGE_INSTALL:append = " docker htop"$/m);
    expect(conf).toMatch(/^IMAGE_ROOTFS_EXTRA_SPACE = "1024"$/m);
    expect(conf).toMatch(/^# MACHINE from --machine$/m);
    expect(conf).toMatch(/^# IMAGE_INSTALL from --set packages$/m);
    expect(conf).toMatch(/^# IMAGE_ROOTFS_EXTRA_SPACE from --set variables.IMAGE_ROOTFS_EXTRA_SPACE$/m);
    // the manifest's own values are not listed as overrides
    expect(conf).not.toMatch(/^# DISTRO from/m);
    // without the flags the conf goes back to the manifest's, with no override lines
    expect(cli(synced, ['config']).code).toBe(0);
    const plain = readFileSync(path.join(synced, LOCAL_CONF), 'utf8');
    expect(plain).toMatch(/^MACHINE = "raspberrypi4-64"$/m);
    expect(plain).not.toContain('Not from layers.yaml');
  });

  it('precedence: manifest < layers.local.yaml < environment < command line', async () => {
    const dir = makeProject(world, seedManifest(world).replace('targets:\n', 'defaults:\n  variables: { FROM_DEFAULTS: "1" }\ntargets:\n'));
    writeFileSync(
      path.join(dir, 'layers.local.yaml'),
      'defaults:\n  init_manager: sysvinit\ntargets:\n  rpi-docker-image:\n    machine: raspberrypi3-64\n    distro: poky-altcfg\n    image_fstypes: [wic]\n    variables: { FROM_FILE: "2" }\n',
    );
    const project = await loadProject(dir);
    const target = (env: NodeJS.ProcessEnv, flags = {}) =>
      loadOverrides(project, flags, env).then((o) => resolveTarget(project, undefined, o.forTarget));

    const fromFile = await target({});
    expect(fromFile.machine).toBe('raspberrypi3-64');
    expect(fromFile.distro).toBe('poky-altcfg');
    expect(fromFile.imageFstypes).toEqual(['wic']);
    // as kas merges files: the target's own init_manager (layers.yaml) wins over the file's defaults
    expect(fromFile.initManager).toBe('systemd');
    expect(fromFile.variables).toEqual({ FROM_DEFAULTS: '1', FROM_FILE: '2' });
    expect(fromFile.origins).toMatchObject({
      machine: 'layers.local.yaml: targets.rpi-docker-image',
      init_manager: 'layers.yaml: targets.rpi-docker-image',
      'variables.FROM_DEFAULTS': 'layers.yaml: defaults',
    });

    const fromEnv = await target({
      YOCTOFORGE_MACHINE: 'raspberrypi4',
      YOCTOFORGE_SET_INIT_MANAGER: 'mdev-busybox',
      YOCTOFORGE_SET_VARIABLES_FROM_ENV: '3',
    });
    expect(fromEnv).toMatchObject({ machine: 'raspberrypi4', distro: 'poky-altcfg', initManager: 'mdev-busybox' });
    expect(fromEnv.origins).toMatchObject({
      machine: 'YOCTOFORGE_MACHINE',
      init_manager: 'YOCTOFORGE_SET_INIT_MANAGER',
      'variables.FROM_ENV': 'YOCTOFORGE_SET_VARIABLES_FROM_ENV',
    });

    const fromFlags = await target({ YOCTOFORGE_MACHINE: 'raspberrypi4' }, { machine: 'raspberrypi5', set: ['distro=poky-tiny'] });
    expect(fromFlags).toMatchObject({ machine: 'raspberrypi5', distro: 'poky-tiny' });
    expect(fromFlags.overridden).toEqual(
      [
        { setting: 'machine', value: 'raspberrypi5', origin: '--machine' },
        { setting: 'distro', value: 'poky-tiny', origin: '--set distro' },
        { setting: 'image_fstypes', value: ['wic'], origin: 'layers.local.yaml: targets.rpi-docker-image' },
        { setting: 'variables.FROM_FILE', value: '2', origin: 'layers.local.yaml: targets.rpi-docker-image' },
      ].sort((a, b) => Object.keys(fromFlags.origins).indexOf(a.setting) - Object.keys(fromFlags.origins).indexOf(b.setting)),
    );

    // -f names the files instead of layers.local.yaml
    writeFileSync(path.join(dir, 'pi5.yaml'), 'targets:\n  rpi-docker-image: { machine: raspberrypi5 }\n');
    const explicit = await loadOverrides(project, { files: [path.join(dir, 'pi5.yaml')] }, {});
    expect(explicit.files).toEqual(['pi5.yaml']);
    const t = resolveTarget(project, undefined, explicit.forTarget);
    expect(t.machine).toBe('raspberrypi5');
    expect(t.distro).toBe('poky');
  });

  it('report.json lists the values that did not come from layers.yaml, with their origin', async () => {
    const project = await loadProject(synced);
    const overrides = await loadOverrides(project, { machine: 'raspberrypi5' }, { YOCTOFORGE_SET_INIT_MANAGER: 'sysvinit' });
    const target = resolveTarget(project, undefined, overrides.forTarget);
    const buildDir = path.join(synced, 'build', 'report-check');
    const run = {
      projectDir: synced,
      buildDir,
      target,
      engine: 'none',
      dryRun: false,
      bitbakeArgs: [target.image],
      buildsImage: true,
      startedAt: new Date(),
      logFile: path.join(buildDir, 'x.log'),
      progress: new KnottyParser().progress,
    };
    mkdirSync(buildDir, { recursive: true });
    await assembleReport(run, 'failed');
    const report = await readReport(path.join(buildDir, 'report.json'));
    expect(report.machine).toBe('raspberrypi5');
    expect(report.overrides).toEqual([
      { setting: 'machine', value: 'raspberrypi5', origin: '--machine' },
      { setting: 'init_manager', value: 'sysvinit', origin: 'YOCTOFORGE_SET_INIT_MANAGER' },
    ]);
    // a build without overrides has no overrides key at all
    await assembleReport({ ...run, target: resolveTarget(project) }, 'failed');
    expect(await readReport(path.join(buildDir, 'report.json'))).not.toHaveProperty('overrides');
  });

  it('refuses values that would inject conf syntax, naming the flag, with exit 2 and no conf written', () => {
    const dir = makeProject(world, seedManifest(world));
    const hostile: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [
        ['--machine', 'x"\nINHERIT += "foo'],
        {},
        /^yoctoforge: error: --machine: expected a machine name .*, found "x\\"\\nINHERIT \+= \\"foo"\n$/,
      ],
      [['--distro', 'poky" ${@os.system("id")}'], {}, /^yoctoforge: error: --distro: expected a distro name/],
      [
        ['--set', 'variables.FOO=${@os.system(chr(105)+chr(100))}'],
        {},
        /^yoctoforge: error: --set variables.FOO: expected no `\$` except `\$\{VARIABLE\}` references/,
      ],
      [['--set', 'variables.FOO=a"\nINHERIT += "b'], {}, /^yoctoforge: error: --set variables.FOO: expected printable text without quotes/],
      [['--set', 'variables.foo"=x=1'], {}, /^yoctoforge: error: --set variables.foo": expected a BitBake variable name/],
      [['--set', 'packages=docker,"evil'], {}, /^yoctoforge: error: --set packages: expected a recipe or package name .*, found "\\"evil"/],
      [
        ['--set', 'local_conf=INHERIT += "foo"'],
        {},
        /^yoctoforge: error: --set local_conf: local_conf cannot be set from the command line or the environment/,
      ],
      [
        ['--set', 'nope=1'],
        {},
        /^yoctoforge: error: --set nope: unknown target setting "nope" \(settable: image, machine, distro, init_manager,/,
      ],
      [['--set', 'machine'], {}, /^yoctoforge: error: --set "machine": expected KEY=VALUE/],
      [[], { YOCTOFORGE_MACHINE: 'rpi\nINHERIT += "x"' }, /^yoctoforge: error: YOCTOFORGE_MACHINE: expected a machine name/],
      [
        [],
        { YOCTOFORGE_SET_INIT_MANAGER: 'bogus' },
        /^yoctoforge: error: YOCTOFORGE_SET_INIT_MANAGER: expected one of "systemd", "sysvinit", "mdev-busybox", "none", found "bogus"/,
      ],
      [[], { YOCTOFORGE_SET_BBLAYERS_CONF: 'x' }, /^yoctoforge: error: YOCTOFORGE_SET_BBLAYERS_CONF: bblayers_conf cannot be set/],
    ];
    for (const [args, env, message] of hostile) {
      const result = cli(dir, ['config', ...args], env);
      expect(result.code, `${args.join(' ')} ${JSON.stringify(env)}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr.trimEnd().split('\n'), 'one line').toHaveLength(1);
      expect(existsSync(path.join(dir, 'build')), 'no conf written').toBe(false);
    }
  }, 240_000);

  it('an override file is checked like the manifest: file, line, key; only target settings; known targets', () => {
    const dir = makeProject(world, seedManifest(world));
    const write = (text: string) => writeFileSync(path.join(dir, 'layers.local.yaml'), text);
    write('targets:\n  rpi-docker-image:\n    machine: "x\\"\\nINHERIT += \\"foo"\n');
    let result = cli(dir, ['config']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /layers\.local\.yaml:3:14: targets\.rpi-docker-image\.machine: (expected a machine name|expected text without control characters or line breaks)/,
    );
    write('repos:\n  poky: { url: https://example.invalid/fork }\n');
    result = cli(dir, ['config']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/layers\.local\.yaml:1:1: repos: unknown key "repos"/);
    write('targets:\n  typo-image: { machine: raspberrypi5 }\n');
    result = cli(dir, ['show']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/layers\.local\.yaml: targets\.typo-image: no target "typo-image" in layers\.yaml/);
    result = cli(dir, ['show', '-f', 'missing.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/-f missing\.yaml: cannot read the override file \(ENOENT\)/);
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
  });

  it('an override file whose name holds a newline still makes a one-line header comment', () => {
    const name = 'odd\nINHERIT += "foo".yaml';
    writeFileSync(path.join(synced, name), 'targets:\n  rpi-docker-image: { machine: raspberrypi5 }\n');
    const result = cli(synced, ['config', '-f', name]);
    expect(result.code, result.stderr).toBe(0);
    const conf = readFileSync(path.join(synced, LOCAL_CONF), 'utf8');
    expect(conf).toMatch(/^# MACHINE from odd\?INHERIT \+= "foo"\.yaml: targets\.rpi-docker-image$/m);
    expect(conf).not.toMatch(/^INHERIT/m);
    expect(cli(synced, ['config']).code).toBe(0);
  });

  it('show: every value with its origin, as a table, JSON and YAML', () => {
    const dir = makeProject(world, seedManifest(world));
    writeFileSync(path.join(dir, 'layers.local.yaml'), 'targets:\n  rpi-docker-image: { init_manager: sysvinit }\n');
    const table = cli(dir, ['show', '--machine', 'raspberrypi5'], { YOCTOFORGE_SET_PACKAGES: 'docker' });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^override files: layers\.local\.yaml$/m);
    expect(table.stdout).toMatch(/^machine +raspberrypi5 +--machine$/m);
    expect(table.stdout).toMatch(/^init_manager +sysvinit +layers\.local\.yaml: targets\.rpi-docker-image$/m);
    expect(table.stdout).toMatch(/^packages +docker +YOCTOFORGE_SET_PACKAGES$/m);
    expect(table.stdout).toMatch(/^image +core-image-base +layers\.yaml: targets\.rpi-docker-image$/m);

    const json = JSON.parse(cli(dir, ['show', '--json', '--set', 'variables.FOO=bar']).stdout) as {
      settings: Record<string, unknown>;
      origins: Record<string, string>;
    };
    expect(json.settings).toMatchObject({ machine: 'raspberrypi4-64', init_manager: 'sysvinit', variables: { FOO: 'bar' } });
    expect(json.origins).toMatchObject({ machine: 'layers.yaml: targets.rpi-docker-image', 'variables.FOO': '--set variables.FOO' });

    // a target without a distro shows poky, the built-in default
    const noDistro = makeProject(world, seedManifest(world).replace('    distro: poky\n', ''));
    const yaml = cli(noDistro, ['show', '--yaml']);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout).toContain('    # from yoctoforge default\n    distro: poky\n');
    expect(yaml.stdout).toContain('    # from layers.yaml: targets.rpi-docker-image\n    machine: raspberrypi4-64\n');
  });
});
