import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateWorkflow } from '@action-validator/core';
import { Ajv, type ValidateFunction } from 'ajv';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderWorkflow, WORKFLOW_FILES, type CiProvider } from '../../src/ci/workflows.js';
import { registerCi } from '../../src/cli/arguments/ci.js';
import { runCiInit, selectTargets } from '../../src/commands/ci.js';
import { InputError } from '../../src/errors.js';
import { tempDir } from '../helpers/git-fixtures.js';
import { VERSION } from '../../src/version.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

/** Target lists that exercise quoting: names YAML would read as a boolean, a number or null. */
const TARGET_SETS: [string[]][] = [
  [['rpi-docker-image']],
  [['rpi-docker-image', 'rpi4_minimal', 'cm4.lite', 'A-1']],
  [['true', 'null', '1.0', '0x10', 'yes', 'on', '007']],
];

// ---- validators ----------------------------------------------------------------------------

/** action-validator (JSON Schema of SchemaStore + its own checks); returns the error titles. */
function githubErrors(text: string): string[] {
  const state = validateWorkflow(text);
  return state.errors.map((e) => ('path' in e ? `${e.path}: ${e.title}` : `${e.title}: ${e.detail}`));
}

let gitlabValidate: ValidateFunction;
beforeAll(() => {
  // GitLab's schema is draft-07 with `markdownDescription` annotations and formats ajv has no
  // built-in checks for: not strict, formats not validated (the structure is what matters).
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  gitlabValidate = ajv.compile(JSON.parse(fixture('gitlab-ci.schema.json')) as object);
});

function gitlabErrors(text: string): string[] {
  const ok = gitlabValidate(parse(text));
  return ok ? [] : (gitlabValidate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

// ---- helpers ---------------------------------------------------------------------------------

interface GithubStep {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface GithubJob {
  if?: string;
  'runs-on'?: unknown;
  needs?: string | string[];
  permissions?: Record<string, string>;
  strategy?: { matrix: { target: unknown[] } };
  steps: GithubStep[];
}
interface GithubWorkflow {
  on: Record<string, unknown>;
  env: Record<string, string>;
  jobs: Record<string, GithubJob>;
}

function github(targets: string[]): { text: string; wf: GithubWorkflow } {
  const text = renderWorkflow('github', targets);
  return { text, wf: parse(text) as GithubWorkflow };
}

function scripts(job: GithubJob): string {
  return job.steps.map((s) => s.run ?? '').join('\n');
}

type GitlabJob = Record<string, unknown> & { script: string[]; rules: { if: string; when?: string }[] };

function gitlab(targets: string[]): { text: string; doc: Record<string, unknown> } {
  const text = renderWorkflow('gitlab', targets);
  return { text, doc: parse(text) as Record<string, unknown> };
}

// ---- GitHub Actions -----------------------------------------------------------------------------

describe('GitHub Actions workflow', () => {
  it.each(TARGET_SETS)('passes action-validator for targets %j', (targets) => {
    const { text } = github(targets);
    expect(githubErrors(text)).toEqual([]);
  });

  it('checks every push and pull request: sync --locked, then a dry-run build of each target', () => {
    const { wf } = github(['rpi-docker-image', 'cm4.lite']);
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push', 'schedule', 'workflow_dispatch']);
    const check = wf.jobs.check!;
    expect(check.if).toBe("github.event_name == 'push' || github.event_name == 'pull_request'");
    const runs = check.steps.map((s) => s.run?.trim()).filter(Boolean);
    expect(runs.slice(-3)).toEqual([
      'npx yoctoforge sync --locked',
      "npx yoctoforge build 'rpi-docker-image' --dry-run",
      "npx yoctoforge build 'cm4.lite' --dry-run",
    ]);
  });

  it('builds every target nightly and by hand, with DL_DIR/SSTATE_DIR cached and the outputs uploaded', () => {
    const { wf } = github(['rpi-docker-image', 'true', '1.0']);
    expect(wf.on.schedule).toEqual([{ cron: '23 2 * * *' }]);
    expect(wf.env.YOCTOFORGE_DL_DIR).toMatch(/\.yoctoforge-cache\/downloads$/);
    expect(wf.env.YOCTOFORGE_SSTATE_DIR).toMatch(/\.yoctoforge-cache\/sstate-cache$/);
    const build = wf.jobs.build!;
    expect(build.if).toBe("github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'");
    // quoted: `true` and `1.0` stay strings
    expect(build.strategy?.matrix.target).toEqual(['rpi-docker-image', 'true', '1.0']);
    const cache = build.steps.find((s) => s.uses === 'actions/cache@v4');
    expect(cache?.with?.path).toContain('.yoctoforge-cache/downloads');
    expect(cache?.with?.path).toContain('.yoctoforge-cache/sstate-cache');
    expect(String(cache?.with?.['restore-keys'])).toContain('yoctoforge-${{ matrix.target }}-');
    expect(scripts(build)).toContain('npx yoctoforge build "$TARGET"');
    expect(scripts(build)).not.toContain('--dry-run');
    const upload = build.steps.find((s) => s.uses === 'actions/upload-artifact@v4');
    expect(String(upload?.with?.path).trim().split('\n')).toEqual([
      'build/${{ matrix.target }}/artifacts/*.wic.bz2',
      'build/${{ matrix.target }}/artifacts/*.wic.bmap',
      'build/${{ matrix.target }}/artifacts/*.manifest',
      'build/${{ matrix.target }}/report.json',
    ]);
  });

  it('bumps the layers nightly and opens a pull request only after the builds passed', () => {
    const { wf, text } = github(['rpi-docker-image', 'cm4.lite']);
    const bump = wf.jobs['layer-bump']!;
    expect(bump.permissions).toEqual({ contents: 'write', 'pull-requests': 'write' });
    const names = bump.steps.map((s) => s.name ?? s.uses);
    const update = bump.steps.find((s) => s.run?.includes('npx yoctoforge sync --update'));
    const buildStep = bump.steps.find((s) => s.run?.includes('npx yoctoforge build "$target"'));
    const pr = bump.steps.find((s) => s.run?.includes('gh pr create'));
    expect(update && buildStep && pr).toBeTruthy();
    // order: update, build, then the pull request; a failed build step skips the rest
    expect(names.indexOf(update!.name)).toBeLessThan(names.indexOf(buildStep!.name));
    expect(names.indexOf(buildStep!.name)).toBeLessThan(names.indexOf(pr!.name));
    expect(pr!.if).toBe(buildStep!.if); // no always()/failure(): runs only after a passing build
    expect(buildStep!.run).toContain("for target in 'rpi-docker-image' 'cm4.lite' ; do");
    expect(pr!.env?.GH_TOKEN).toBe('${{ secrets.GITHUB_TOKEN }}');
    expect(pr!.run).toContain('npx yoctoforge lock diff "$RUNNER_TEMP/layers.lock.before.yaml" layers.lock.yaml');
    expect(pr!.run).toContain('git add layers.lock.yaml');
    expect(pr!.run).toContain('--body-file "$body"');
    // the trade-offs are explained
    expect(text).toMatch(/10 GB/);
    expect(text).toMatch(/self-hosted runner with a persistent volume/);
    expect(text).toMatch(/cache\.sstate_mirrors/);
    expect(text).toMatch(/cache\.hashserve/);
  });

  it('action-validator rejects the broken fixture', () => {
    const errors = githubErrors(fixture('broken-github.yml'));
    expect(errors.length).toBeGreaterThan(0);
  });

  it('action-validator rejects a generated workflow once broken', () => {
    const wf = parse(renderWorkflow('github', ['rpi-docker-image'])) as GithubWorkflow;
    const noRunsOn = structuredClone(wf);
    delete noRunsOn.jobs.build!['runs-on'];
    expect(githubErrors(stringify(noRunsOn)).length).toBeGreaterThan(0);
    const unknownKey = structuredClone(wf) as GithubWorkflow & { nightly?: boolean };
    unknownKey.nightly = true;
    expect(githubErrors(stringify(unknownKey)).length).toBeGreaterThan(0);
    const badStep = structuredClone(wf);
    badStep.jobs.check!.steps.push({ name: 'both', uses: 'actions/checkout@v4', run: 'true' });
    expect(githubErrors(stringify(badStep)).length).toBeGreaterThan(0);
    // and the round trip itself is still valid (the mutations are what breaks it)
    expect(githubErrors(stringify(wf))).toEqual([]);
  });
});

// ---- GitLab CI ----------------------------------------------------------------------------------

describe('GitLab CI pipeline', () => {
  it.each(TARGET_SETS)("validates against GitLab's CI schema for targets %j", (targets) => {
    const { text } = gitlab(targets);
    expect(gitlabErrors(text)).toEqual([]);
  });

  it('checks pushes and merge requests; builds on schedules and web pipelines, caches and publishes', () => {
    const { doc } = gitlab(['rpi-docker-image', 'true']);
    const check = doc.check as GitlabJob;
    expect(check.rules[0]!.if).toBe('$CI_PIPELINE_SOURCE == "push" || $CI_PIPELINE_SOURCE == "merge_request_event"');
    expect(check.script).toEqual([
      'npx yoctoforge sync --locked',
      "npx yoctoforge build 'rpi-docker-image' --dry-run",
      "npx yoctoforge build 'true' --dry-run",
    ]);
    const build = doc.build as GitlabJob & {
      parallel: { matrix: { TARGET: unknown[] }[] };
      cache: { key: string; paths: string[] };
      artifacts: { paths: string[] };
    };
    expect(build.rules[0]!.if).toBe('$CI_PIPELINE_SOURCE == "schedule" || $CI_PIPELINE_SOURCE == "web"');
    expect(build.parallel.matrix).toEqual([{ TARGET: ['rpi-docker-image', 'true'] }]);
    expect(build.cache.key).toBe('yoctoforge-$TARGET');
    expect(build.cache.paths).toEqual(['.yoctoforge-cache/downloads', '.yoctoforge-cache/sstate-cache']);
    expect(build.script.slice(0, 2)).toEqual(['npx yoctoforge sync --locked', 'npx yoctoforge build "$TARGET"']);
    expect(build.artifacts.paths).toEqual([
      'build/$TARGET/artifacts/*.wic.bz2',
      'build/$TARGET/artifacts/*.wic.bmap',
      'build/$TARGET/artifacts/*.manifest',
      'build/$TARGET/report.json',
    ]);
    const variables = doc.variables as Record<string, string>;
    expect(variables.YOCTOFORGE_DL_DIR).toBe('$CI_PROJECT_DIR/.yoctoforge-cache/downloads');
    expect(variables.YOCTOFORGE_SSTATE_DIR).toBe('$CI_PROJECT_DIR/.yoctoforge-cache/sstate-cache');
  });

  it('bumps the layers and pushes a merge request only after the builds passed', () => {
    const { doc, text } = gitlab(['rpi-docker-image', 'cm4.lite']);
    const bump = doc['layer-bump'] as GitlabJob & { cache: { fallback_keys: string[] } };
    expect(bump.cache.fallback_keys).toEqual(['yoctoforge-rpi-docker-image', 'yoctoforge-cm4.lite']);
    // GitLab takes at most 5 fallback keys
    const many = parse(renderWorkflow('gitlab', ['a', 'b', 'c', 'd', 'e', 'f', 'g'])) as Record<
      string,
      { cache: { fallback_keys: string[] } }
    >;
    expect(many['layer-bump']!.cache.fallback_keys).toEqual([
      'yoctoforge-a',
      'yoctoforge-b',
      'yoctoforge-c',
      'yoctoforge-d',
      'yoctoforge-e',
    ]);
    const script = bump.script.join('\n');
    const order = [
      'npx yoctoforge sync --update',
      'npx yoctoforge build "$target" || exit 1',
      'npx yoctoforge lock diff',
      'git push',
      '-o merge_request.create',
    ];
    const positions = order.map((s) => script.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(script).toContain("for target in 'rpi-docker-image' 'cm4.lite' ; do");
    expect(script).toContain('-o merge_request.description="$description"');
    expect(text).toMatch(/cache\.sstate_mirrors/);
    expect(text).toMatch(/cache\.hashserve/);
  });

  it("GitLab's schema rejects the broken fixture", () => {
    const errors = gitlabErrors(fixture('broken-gitlab-ci.yml'));
    expect(errors.length).toBeGreaterThan(0);
  });

  it("GitLab's schema rejects a generated pipeline once broken", () => {
    const doc = parse(renderWorkflow('gitlab', ['rpi-docker-image'])) as Record<string, Record<string, unknown>>;
    const unknownKeyword = structuredClone(doc);
    unknownKeyword.build!['runs-on'] = 'ubuntu-latest';
    expect(gitlabErrors(stringify(unknownKeyword)).length).toBeGreaterThan(0);
    const badWhen = structuredClone(doc);
    (badWhen.build!.cache as Record<string, unknown>).when = 'nightly';
    expect(gitlabErrors(stringify(badWhen)).length).toBeGreaterThan(0);
    const slashKey = structuredClone(doc);
    (slashKey.build!.cache as Record<string, unknown>).key = 'a/b';
    expect(gitlabErrors(stringify(slashKey)).length).toBeGreaterThan(0);
    expect(gitlabErrors(stringify(doc))).toEqual([]);
  });
});

// ---- rendering ----------------------------------------------------------------------------------

describe('a shared cache (cache.shared)', () => {
  const SHARED_SETS: [{ publish: boolean; hashserve: boolean; s3?: boolean }][] = [
    [{ publish: true, hashserve: true }],
    [{ publish: true, hashserve: false }],
    [{ publish: false, hashserve: true }],
    [{ publish: true, hashserve: true, s3: true }],
  ];

  it.each(SHARED_SETS)("passes action-validator and GitLab's schema for %j", (shared) => {
    expect(githubErrors(renderWorkflow('github', ['rpi-docker-image', 'true'], shared))).toEqual([]);
    expect(gitlabErrors(renderWorkflow('gitlab', ['rpi-docker-image', 'true'], shared))).toEqual([]);
  });

  it('GitHub: nightly builds report and publish with the secrets, pull requests and the layer bump only read', () => {
    const wf = parse(renderWorkflow('github', ['rpi-docker-image'], { publish: true, hashserve: true })) as GithubWorkflow & {
      jobs: Record<string, GithubJob & { env?: Record<string, string> }>;
    };
    expect(wf.jobs.check!.env).toEqual({ YOCTOFORGE_CACHE_ROLE: 'read-only' });
    expect(wf.jobs.build!.env).toEqual({
      YOCTOFORGE_CACHE_ROLE: 'read-write',
      BB_HASHSERVE_USERNAME: '${{ secrets.BB_HASHSERVE_USERNAME }}',
      BB_HASHSERVE_PASSWORD: '${{ secrets.BB_HASHSERVE_PASSWORD }}',
    });
    const names = wf.jobs.build!.steps.map((s) => s.name);
    const publish = wf.jobs.build!.steps.find((s) => s.name === 'Publish sstate to the team mirror');
    expect(publish?.run).toContain('npx yoctoforge cache publish');
    expect(publish?.env?.SSH_PRIVATE_KEY).toBe('${{ secrets.YOCTOFORGE_SSTATE_SSH_KEY }}');
    expect(names.indexOf('Publish sstate to the team mirror')).toBe(names.indexOf('Build') + 1);
    expect(wf.jobs['layer-bump']!).not.toHaveProperty('env');
    expect(scripts(wf.jobs['layer-bump']!)).not.toContain('cache publish');
    // no shared cache: the workflow of before, byte for byte
    expect(renderWorkflow('github', ['a'], { publish: false, hashserve: false })).toBe(renderWorkflow('github', ['a']));
    // a hash server without a publish target: a login, no publish step
    const noPublish = renderWorkflow('github', ['a'], { publish: false, hashserve: true });
    expect(noPublish).not.toContain('cache publish');
    expect(noPublish).toContain('secrets.BB_HASHSERVE_PASSWORD');
  });

  it('GitLab: the build job writes and publishes, check and layer-bump only read', () => {
    const doc = parse(renderWorkflow('gitlab', ['rpi-docker-image'], { publish: true, hashserve: true })) as Record<
      string,
      GitlabJob & { variables?: Record<string, string> }
    >;
    expect(doc.check!.variables).toEqual({ YOCTOFORGE_CACHE_ROLE: 'read-only' });
    expect(doc.build!.variables).toEqual({ YOCTOFORGE_CACHE_ROLE: 'read-write' });
    const script = doc.build!.script.join('\n');
    expect(script.indexOf('npx yoctoforge cache publish')).toBeGreaterThan(script.indexOf('npx yoctoforge build "$TARGET"'));
    expect(doc['layer-bump']!.variables).toBeUndefined();
    expect(renderWorkflow('gitlab', ['a'], { publish: false, hashserve: false })).toBe(renderWorkflow('gitlab', ['a']));
  });

  it('an S3 bucket: the publish step gets the AWS credentials by name, no ssh key', () => {
    const wf = parse(renderWorkflow('github', ['rpi-docker-image'], { publish: true, hashserve: false, s3: true })) as GithubWorkflow;
    const publish = wf.jobs.build!.steps.find((s) => s.name === 'Publish sstate to the team mirror');
    expect(publish?.env).toEqual({
      AWS_ACCESS_KEY_ID: '${{ secrets.AWS_ACCESS_KEY_ID }}',
      AWS_SECRET_ACCESS_KEY: '${{ secrets.AWS_SECRET_ACCESS_KEY }}',
      AWS_ENDPOINT_URL_S3: '${{ vars.AWS_ENDPOINT_URL_S3 }}',
      AWS_REGION: '${{ vars.AWS_REGION }}',
    });
    expect(publish?.run?.trim()).toBe('npx yoctoforge cache publish');
    const gitlab = renderWorkflow('gitlab', ['rpi-docker-image'], { publish: true, hashserve: false, s3: true });
    expect(gitlab).not.toContain('YOCTOFORGE_SSTATE_SSH_KEY');
    expect(gitlab).toContain('AWS_SECRET_ACCESS_KEY');
    expect((parse(gitlab) as Record<string, GitlabJob>).build!.script).toContain('npx yoctoforge cache publish');
  });

  it('ci init reads cache.shared from layers.yaml', async () => {
    const dir = tempDir('ci-shared');
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      'repos:\n  poky:\n    url: https://git.example.invalid/poky\ncache:\n  shared:\n    sstate_url: https://sstate.example.com\n    publish: builder@sstate.example.com:/srv/sstate\ntargets:\n  t:\n    image: core-image-base\n',
    );
    await runCiInit({ projectDir: dir });
    const text = readFileSync(path.join(dir, WORKFLOW_FILES.github), 'utf8');
    expect(text).toBe(renderWorkflow('github', ['t'], { publish: true, hashserve: false }));
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      readFileSync(path.join(dir, 'layers.yaml'), 'utf8').replace('builder@sstate.example.com:/srv/sstate', 's3://team-sstate/scarthgap'),
    );
    await runCiInit({ projectDir: dir, force: true });
    expect(readFileSync(path.join(dir, WORKFLOW_FILES.github), 'utf8')).toBe(
      renderWorkflow('github', ['t'], { publish: true, hashserve: false, s3: true }),
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('renderWorkflow', () => {
  it('is deterministic and lists each target once', () => {
    for (const provider of ['github', 'gitlab'] as CiProvider[]) {
      expect(renderWorkflow(provider, ['a', 'b', 'a'])).toBe(renderWorkflow(provider, ['a', 'b']));
    }
  });

  it('installs the yoctoforge version that wrote it when the project has no package-lock.json', () => {
    for (const provider of ['github', 'gitlab'] as CiProvider[]) {
      const text = renderWorkflow(provider, ['a']);
      const installs = text.split('\n').filter((l) => l.includes('package-lock.json ]'));
      expect(installs.length).toBeGreaterThan(0);
      for (const line of installs) expect(line).toContain(`else npm install --no-save --no-package-lock yoctoforge@${VERSION}; fi`);
    }
  });

  it('refuses names that are not identifiers (nothing reaches YAML or a shell unchecked)', () => {
    for (const bad of ["x'; rm -rf /", 'a b', '${{ github.token }}', '-rf', '']) {
      expect(() => renderWorkflow('github', [bad])).toThrow(/not an identifier/);
      expect(() => renderWorkflow('gitlab', [bad])).toThrow(/not an identifier/);
    }
    expect(() => renderWorkflow('github', [])).toThrow();
  });
});

// ---- yoctoforge ci init -----------------------------------------------------------------------------

const MANIFEST = `# yaml-language-server: $schema=./schema.json
series: scarthgap
repos:
  poky:
    url: https://git.yoctoproject.org/poky
targets:
  rpi-docker-image:
    image: core-image-base
    machine: raspberrypi4-64
  cm4.lite:
    machine: raspberrypi4-64
  "true":
    machine: raspberrypi4-64
`;

describe('runCiInit', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  /** A project directory with `manifest` as layers.yaml (null: none). */
  function project(manifest: string | null = MANIFEST): string {
    const dir = tempDir('ci');
    dirs.push(dir);
    if (manifest !== null) writeFileSync(path.join(dir, 'layers.yaml'), manifest);
    return dir;
  }
  async function rejection(p: Promise<unknown>): Promise<InputError> {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    const input = error as InputError;
    expect(input.exitCode).toBe(2);
    expect(input.message).not.toContain('\n');
    return input;
  }
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);

  it('writes .github/workflows/yoctoforge.yml for every target of layers.yaml by default', async () => {
    const dir = project();
    const result = await runCiInit({ projectDir: dir });
    expect(result.provider).toBe('github');
    expect(result.targets).toEqual(['rpi-docker-image', 'cm4.lite', 'true']);
    const file = path.join(dir, '.github', 'workflows', 'yoctoforge.yml');
    expect(result.file).toBe(file);
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(renderWorkflow('github', ['rpi-docker-image', 'cm4.lite', 'true']));
    expect(githubErrors(text)).toEqual([]);
  });

  it('writes .gitlab-ci.yml for the --target names only, in the order given', async () => {
    const dir = project();
    const result = await runCiInit({ projectDir: dir, provider: 'gitlab', target: ['true', 'rpi-docker-image'] });
    expect(result.file).toBe(path.join(dir, WORKFLOW_FILES.gitlab));
    const text = readFileSync(result.file, 'utf8');
    expect(text).toBe(renderWorkflow('gitlab', ['true', 'rpi-docker-image']));
    expect(text).not.toContain('cm4.lite');
    expect(gitlabErrors(text)).toEqual([]);
  });

  it('refuses to overwrite an existing workflow unless --force', async () => {
    const dir = project();
    const file = path.join(dir, WORKFLOW_FILES.github);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'mine\n');
    const error = await rejection(runCiInit({ projectDir: dir }));
    expect(error.message).toMatch(/already exists \(use --force to overwrite it\)/);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
    await runCiInit({ projectDir: dir, force: true });
    expect(readFileSync(file, 'utf8')).toContain('npx yoctoforge sync --locked');
  });

  it('fails with one line, exit 2, for an unknown target and writes nothing', async () => {
    const dir = project();
    const error = await rejection(runCiInit({ projectDir: dir, target: ['rpi-docker-image', 'nope'] }));
    expect(error.message).toBe('no target "nope" in layers.yaml (targets: rpi-docker-image, cm4.lite, true)');
    expect(existsSync(path.join(dir, WORKFLOW_FILES.github))).toBe(false);
  });

  it('fails when layers.yaml is missing or has no targets', async () => {
    const error = await rejection(runCiInit({ projectDir: project(null) }));
    expect(error.message).toMatch(/^no layers\.yaml in .*run `yoctoforge init`/);
    const empty = await rejection(runCiInit({ projectDir: project('repos:\n  poky:\n    url: x\n') }));
    // validated as every command validates it: file, line and key in the details
    expect(empty.message).toMatch(/^invalid manifest .*layers\.yaml$/);
    expect(empty.details).toEqual(['layers.yaml:1:1: targets: expected a mapping, found nothing']);
    const broken = await rejection(runCiInit({ projectDir: project('targets: [\n') }));
    expect(broken.details[0]).toMatch(/^layers\.yaml:2:1: /);
  });

  it('rejects an unknown provider', async () => {
    const error = await rejection(runCiInit({ projectDir: project(), provider: 'jenkins' }));
    expect(error.message).toBe('--provider jenkins: expected github or gitlab');
  });

  it('is reachable as `ci init` with repeatable --target, --provider and the global -C', async () => {
    const dir = project();
    const program = new Command().exitOverride().option('-C, --project <dir>', 'project directory', '.');
    registerCi(program);
    await program.parseAsync(['-C', dir, 'ci', 'init', '--provider', 'gitlab', '--target', 'cm4.lite', '--target', 'true'], {
      from: 'user',
    });
    expect(readFileSync(path.join(dir, '.gitlab-ci.yml'), 'utf8')).toBe(renderWorkflow('gitlab', ['cm4.lite', 'true']));
    await expect(program.parseAsync(['-C', dir, 'ci', 'init', '--provider', 'gitlab'], { from: 'user' })).rejects.toThrow(/already exists/);
    await program.parseAsync(['-C', dir, 'ci', 'init', '--force'], { from: 'user' });
    expect(readFileSync(path.join(dir, WORKFLOW_FILES.github), 'utf8')).toBe(
      renderWorkflow('github', ['rpi-docker-image', 'cm4.lite', 'true']),
    );
  });

  it('selectTargets: all by default, duplicates dropped', () => {
    expect(selectTargets(['a', 'b'], [])).toEqual(['a', 'b']);
    expect(selectTargets(['a', 'b'], ['b', 'b'])).toEqual(['b']);
    expect(() => selectTargets(['a'], ['c', 'd'])).toThrow('no target "c", "d" in layers.yaml (targets: a)');
  });
});
