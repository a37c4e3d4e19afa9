import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/load.js';
import { InputError } from '../../src/errors.js';

const base = `version: 1
series: scarthgap
repos:
  poky:
    url: https://git.yoctoproject.org/poky
    layers: [meta, meta-poky]
targets:
  img:
    image: core-image-base
    machine: raspberrypi4-64
`;

function problems(text: string): string[] {
  try {
    parseManifest(text, '/p/layers.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const e = error as InputError;
    expect(e.message).toMatch(/^invalid manifest \/p\/layers\.yaml/);
    return e.details;
  }
  throw new Error('expected the manifest to be rejected');
}

describe('manifest validation', () => {
  it('accepts the minimal manifest', () => {
    const m = parseManifest(base, 'layers.yaml');
    expect(m.repos.poky?.layers).toEqual(['meta', 'meta-poky']);
  });

  it('names file, line, column, key path, expected and found for a wrong type', () => {
    const p = problems(base.replace('machine: raspberrypi4-64', 'machine: raspberrypi4-64\n    packages: docker'));
    expect(p).toEqual(['layers.yaml:11:15: targets.img.packages: expected a list, found "docker"']);
  });

  it('rejects unknown keys with a suggestion instead of ignoring typos', () => {
    const p = problems(base.replace('    layers: [meta, meta-poky]', '    brnch: scarthgap\n    layers: [meta, meta-poky]'));
    expect(p).toEqual(['layers.yaml:6:5: repos.poky.brnch: unknown key "brnch" (did you mean "branch"?)']);
    const top = problems(`${base}tagets: {}\n`);
    expect(top[0]).toMatch(/^layers\.yaml:11:1: tagets: unknown key "tagets" \(did you mean "targets"\?\)$/);
  });

  it('reports a missing required key at its parent', () => {
    const p = problems(base.replace('    url: https://git.yoctoproject.org/poky\n', ''));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      /^layers\.yaml:5:5: repos\.poky\.url: expected a git URL \(or `path: FOLDER` for a repo kept in the project\), found nothing$/,
    );
  });

  it('reports enum, regex, literal and refinement failures', () => {
    expect(problems(base.replace('machine: raspberrypi4-64', 'machine: raspberrypi4-64\n    init_manager: upstart'))[0]).toBe(
      'layers.yaml:11:19: targets.img.init_manager: expected one of "systemd", "sysvinit", "mdev-busybox", "none", found "upstart"',
    );
    expect(problems(base.replace('layers: [meta, meta-poky]', 'layers: [meta]\n    commit: main'))[0]).toBe(
      'layers.yaml:7:13: repos.poky.commit: expected a commit id (4 to 40 hex digits), found "main"',
    );
    expect(problems(base.replace('version: 1', 'version: 2'))[0]).toBe('layers.yaml:1:10: version: expected 1, found 2');
    expect(problems(base.replace('layers: [meta, meta-poky]', 'layers: [meta]\n    branch: a\n    tag: b'))[0]).toMatch(
      /^layers\.yaml:8:10: repos\.poky\.tag: expected either branch or tag, not both, found "b"$/,
    );
    expect(problems(base.replace(/targets:[\s\S]*/, 'targets: {}\n'))[0]).toMatch(
      /^layers\.yaml:7:10: targets: expected at least one target, found a mapping$/,
    );
    expect(problems(base.replace('layers: [meta, meta-poky]', 'layers: [../etc]'))[0]).toMatch(
      /repos\.poky\.layers\[0\]: expected a relative path inside the repository/,
    );
  });

  it('reports every problem, one line each', () => {
    const p = problems(base.replace('image: core-image-base', 'image: 42\n    distro: "po ky"'));
    expect(p).toHaveLength(2);
    expect(p.every((line) => /^layers\.yaml:\d+:\d+: targets\.img\.(image|distro): expected .*, found .*$/.test(line))).toBe(true);
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(problems(`${base}  img:\n    image: x\n`)[0]).toMatch(/^layers\.yaml:11:3: Map keys must be unique/);
    expect(problems('repos: [unclosed\n')[0]).toMatch(/^layers\.yaml:\d+:\d+: /);
  });

  it('treats an empty file as a manifest missing its repos and targets', () => {
    const p = problems('');
    expect(p.some((l) => l.includes('repos: expected a mapping, found nothing'))).toBe(true);
  });
});

describe('conf injection', () => {
  const withTarget = (line: string): string => base.replace('machine: raspberrypi4-64', `machine: raspberrypi4-64\n    ${line}`);
  const attempts: Array<[string, string]> = [
    ['inline python in the machine', base.replace('machine: raspberrypi4-64', 'machine: "${@os.system(\'id\')}"')],
    ['a quote ending the assignment', withTarget('packages: [\'docker" \\nINHERIT += "evil\']')],
    ['inline python in a variable', withTarget('variables: { FOO: \'${@bb.utils.which(d, "sh")}\' }')],
    ['a newline in a variable', withTarget('variables: { FOO: "a\\nINHERIT += \\"x\\"" }')],
    ['a backslash in a variable', withTarget('variables: { FOO: "a\\\\" }')],
    ['an assignment in a variable name', withTarget('variables: { "A = \\"x\\"": y }')],
    ['a shell command in a group name', withTarget('groups: [{ name: "docker; rm -rf /" }]')],
    ['a shell command in a user shell', withTarget('users: [{ name: u, shell: "/bin/sh; reboot" }]')],
    ['a non-hash password', withTarget('users: [{ name: u, password_hash: "plain\'; reboot" }]')],
    ['a space in the distro', withTarget('distro: "poky extra"')],
    ['python in a distro feature', withTarget('distro_features: ["${@x}"]')],
    ['python in an sstate mirror', base.replace('targets:', 'cache:\n  sstate_mirrors: ["file://.* ${@x}"]\ntargets:')],
    ['a quote in the hash server', base.replace('targets:', 'cache:\n  hashserve: \'a:1" X="\'\ntargets:')],
    ['a dollar in the downloads path', base.replace('targets:', 'cache:\n  downloads: "/x/${@y}"\ntargets:')],
  ];
  for (const [what, text] of attempts) {
    it(`rejects ${what}`, () => {
      expect(problems(text).length).toBeGreaterThan(0);
    });
  }

  it('allows ${VAR} references in plain variables, and anything in the raw sections', () => {
    const m = parseManifest(
      withTarget('variables: { IMAGE_ROOTFS_EXTRA_SPACE: "524288", MY_DIR: "${TOPDIR}/x" }\n    local_conf: |\n      X = "${@1+1}"'),
      'layers.yaml',
    );
    expect(m.targets.img?.variables?.MY_DIR).toBe('${TOPDIR}/x');
    expect(m.targets.img?.local_conf).toBe('X = "${@1+1}"\n');
  });
  it('accepts a repository without layers and names the BitBake repository (the layout without poky)', () => {
    const text = base.replace(
      'repos:\n',
      'bitbake: bitbake\nrepos:\n  bitbake:\n    url: https://git.openembedded.org/bitbake\n    branch: "2.18"\n    layers: []\n',
    );
    const m = parseManifest(text, 'layers.yaml');
    expect(m.repos.bitbake?.layers).toEqual([]);
    expect(m.bitbake).toBe('bitbake');
    expect(parseManifest(base.replace('repos:\n', 'bitbake: poky/bitbake\nrepos:\n'), 'layers.yaml').bitbake).toBe('poky/bitbake');
  });

  it('rejects a bitbake entry that names no repository of the manifest', () => {
    const p = problems(base.replace('repos:\n', 'bitbake: bitbak\nrepos:\n'));
    expect(p).toEqual([
      'layers.yaml:3:10: bitbake: expected the name of a repository of this manifest (REPO or REPO/PATH), found "bitbak"',
    ]);
    expect(problems(base.replace('repos:\n', 'bitbake: ../bitbake\nrepos:\n'))[0]).toMatch(
      /^layers\.yaml:3:10: bitbake: expected REPO or REPO\/PATH/,
    );
  });
});
