import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { resolveTarget } from '../../src/manifest/target.js';
import { runCli, tempDir } from '../helpers/git-fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function fresh(): string {
  const d = tempDir('init');
  dirs.push(d);
  return d;
}

describe('yoctoforge init', () => {
  it('--series wrynose writes the layout without poky: bitbake (no layers, 2.18), openembedded-core and meta-yocto at the registry URLs', () => {
    const dir = fresh();
    const result = runCli(['init', dir, '--yes', '--series', 'wrynose']);
    expect(result.code, result.stderr).toBe(0);
    const manifest = parseManifest(readFileSync(path.join(dir, 'layers.yaml'), 'utf8'), 'layers.yaml');
    expect(manifest.series).toBe('wrynose');
    expect(manifest.bitbake).toBe('bitbake');
    expect(manifest.repos).toEqual({
      bitbake: { url: 'https://git.openembedded.org/bitbake', branch: '2.18', layers: [] },
      'openembedded-core': { url: 'https://git.openembedded.org/openembedded-core', layers: ['meta'] },
      'meta-yocto': { url: 'https://git.yoctoproject.org/meta-yocto', layers: ['meta-poky', 'meta-yocto-bsp'] },
      'meta-openembedded': {
        url: 'https://github.com/openembedded/meta-openembedded',
        layers: ['meta-oe', 'meta-python', 'meta-networking', 'meta-filesystems'],
      },
      'meta-raspberrypi': { url: 'https://github.com/agherzan/meta-raspberrypi' },
      'meta-virtualization': { url: 'https://git.yoctoproject.org/meta-virtualization' },
    });
    expect(manifest.targets['rpi-docker-image']?.packages).toEqual(['docker', 'ntp-utils']);
  });

  it('refuses a series it does not know, naming the ones it does (exit 2, nothing written)', () => {
    const dir = fresh();
    const result = runCli(['init', dir, '--yes', '--series', 'kirkstone']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('yoctoforge: error: --series kirkstone: not a release yoctoforge knows (scarthgap, wrynose)\n');
    expect(existsSync(path.join(dir, 'layers.yaml'))).toBe(false);
    // commander wraps help to the terminal width: words may be split across lines
    expect(runCli(['init', '--help']).stdout).toMatch(/--series <name>\s+Yocto release: scarthgap or wrynose\s+\(default\s+scarthgap\)/);
  });

  it('scaffolds the seed build: scarthgap, four repos, Raspberry Pi 4 with Docker and NTP on systemd', () => {
    const dir = fresh();
    const result = runCli(['init', dir, '--yes']);
    expect(result.code, result.stderr).toBe(0);
    const text = readFileSync(path.join(dir, 'layers.yaml'), 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=/);
    const manifest = parseManifest(text, 'layers.yaml');
    expect(manifest.series).toBe('scarthgap');
    expect(Object.fromEntries(Object.entries(manifest.repos).map(([k, v]) => [k, v.url]))).toEqual({
      poky: 'https://git.yoctoproject.org/poky',
      'meta-openembedded': 'https://github.com/openembedded/meta-openembedded',
      'meta-raspberrypi': 'https://github.com/agherzan/meta-raspberrypi',
      'meta-virtualization': 'https://git.yoctoproject.org/meta-virtualization',
    });
    expect(manifest.repos['meta-openembedded']?.layers).toEqual(['meta-oe', 'meta-python', 'meta-networking', 'meta-filesystems']);
    const target = resolveTarget({ dir, manifestFile: 'layers.yaml', manifest, manifestText: text }, 'rpi-docker-image');
    expect(target).toMatchObject({
      image: 'core-image-base',
      machine: 'raspberrypi4-64',
      distro: 'poky',
      initManager: 'systemd',
      distroFeatures: ['virtualization'],
      packages: ['docker', 'ntp-utils'],
      groups: [{ name: 'docker', system: true, members: ['root'] }],
      licenseFlagsAccepted: ['synaptics-killswitch'],
      imageFstypes: ['wic.bz2', 'wic.bmap'],
    });
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toMatch(/^\/layers\/$/m);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toMatch(/^\/build\/$/m);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toMatch(/^\/layers\.local\.yaml$/m);
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain('yoctoforge build rpi-docker-image');
  });

  it('refuses to overwrite an existing layers.yaml unless --force, and keeps other files', () => {
    const dir = fresh();
    writeFileSync(path.join(dir, 'layers.yaml'), 'mine\n');
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n/build/\n');
    writeFileSync(path.join(dir, 'README.md'), '# My product\n');
    const refused = runCli(['init', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^yoctoforge: error: .*layers\.yaml already exists \(use --force to overwrite it\)\n$/);
    expect(readFileSync(path.join(dir, 'layers.yaml'), 'utf8')).toBe('mine\n');
    const forced = runCli(['init', dir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const gitignore = readFileSync(path.join(dir, '.gitignore'), 'utf8');
    expect(gitignore.startsWith('node_modules/\n/build/\n')).toBe(true);
    expect(gitignore.match(/^\/build\/$/gm)).toHaveLength(1);
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toMatch(/^# My product\n\n## Building the image \(yoctoforge\)/);
  });
});

describe('bad input', () => {
  it('a broken manifest gives file:line:col lines, exit 2 and no stack trace', () => {
    const dir = fresh();
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      'repos:\n  poky:\n    url: x\n    brach: scarthgap\ntargets:\n  t:\n    image: core-image-base\n    machine: "${@evil}"\n',
    );
    const result = runCli(['sync'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        `yoctoforge: error: invalid manifest ${path.join(dir, 'layers.yaml')} (2 problems)`,
        '  layers.yaml:4:5: repos.poky.brach: unknown key "brach" (did you mean "branch"?)',
        '  layers.yaml:8:14: targets.t.machine: expected a machine name (letters, digits, . _ + -), found "${@evil}"',
        '',
      ].join('\n'),
    );
    expect(existsSync(path.join(dir, 'layers'))).toBe(false);
  });

  it('a missing manifest, an unknown command and an unknown option exit 2 with one line', () => {
    const dir = fresh();
    const missing = runCli(['layers'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`yoctoforge: error: no layers.yaml in ${dir} (run \`yoctoforge init\` to create one)\n`);
    expect(runCli(['frobnicate']).code).toBe(2);
    const badOption = runCli(['sync', '--frob']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/unknown option '--frob'/);
  });

  it('--help and --version exit 0', () => {
    const help = runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: yoctoforge/);
    expect(runCli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
