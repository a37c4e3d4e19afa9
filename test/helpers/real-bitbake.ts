// What the tests that run real BitBake share: where the real layers are (YOCTOFORGE_REAL_LAYERS),
// whether a Docker engine with the test base image is there, and a small extra layer with an
// offline recipe (shared/ENVIRONMENT.md: a native recipe that needs no download).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { git, tempDir } from './git-fixtures.js';

export const REAL_LAYERS = process.env.YOCTOFORGE_REAL_LAYERS;
export const TEST_BASE_IMAGE = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
const hasDocker = spawnSync('docker', ['image', 'inspect', TEST_BASE_IMAGE], { stdio: 'ignore' }).status === 0;
/** poky as a checkout or a bare clone under YOCTOFORGE_REAL_LAYERS */
export const REAL_POKY = REAL_LAYERS
  ? [path.join(REAL_LAYERS, 'poky'), path.join(REAL_LAYERS, 'poky.git')].find((p) => existsSync(p))
  : undefined;

/** Why a real BitBake test cannot run here, or undefined when it can. */
export function realBitbakeSkipReason(): string | undefined {
  if (!REAL_POKY) return 'YOCTOFORGE_REAL_LAYERS is not set (a directory with poky at scarthgap)';
  if (!hasDocker) return `no Docker engine with ${TEST_BASE_IMAGE}`;
  return undefined;
}

/**
 * A describe block that runs only where real BitBake can (else one skipped test saying why),
 * with a work folder removed afterwards unless YOCTOFORGE_KEEP is set.
 */
export function describeRealBitbake(title: string, name: string, body: (work: string) => void): void {
  const reason = realBitbakeSkipReason();
  if (reason) {
    describe(title, () => {
      it.skip(`skipped: ${reason}`, () => {});
    });
    console.log(`${name}: skipped (${reason})`);
    return;
  }
  const work = tempDir(name);
  afterAll(() => {
    if (!process.env.YOCTOFORGE_KEEP) rmSync(work, { recursive: true, force: true });
  });
  describe(title, () => body(work));
}

export interface TestLayer {
  dir: string;
  /** the URL manifests use; a gitconfig's insteadOf maps it to `dir` */
  url: string;
}

/** A one-commit layer repository (branch scarthgap) with the given recipes and files, depending on core only. */
export function makeRecipeLayer(root: string, name: string, collection: string, files: Record<string, string>): TestLayer {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'conf'), { recursive: true });
  writeFileSync(
    path.join(dir, 'conf', 'layer.conf'),
    `BBPATH .= ":\${LAYERDIR}"\nBBFILES += "\${LAYERDIR}/recipes-*/*/*.bb"\nBBFILE_COLLECTIONS += "${collection}"\nBBFILE_PATTERN_${collection} = "^\${LAYERDIR}/"\nBBFILE_PRIORITY_${collection} = "6"\nLAYERDEPENDS_${collection} = "core"\nLAYERSERIES_COMPAT_${collection} = "scarthgap"\n`,
  );
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  git(dir, 'init', '-q', '-b', 'scarthgap');
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', `${name}: test layer`);
  return { dir, url: `https://git.example.invalid/${name}` };
}

/** The lines of a native recipe that installs hello.sh as `yf-hello`: offline, no default dependencies, no compiler. */
export function nativeHelloRecipe(summary: string, source: { srcUri: string; sha256?: string; s: string }): string {
  return [
    `SUMMARY = "${summary}"`,
    'LICENSE = "MIT"',
    'LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"',
    `SRC_URI = "${source.srcUri}"`,
    ...(source.sha256 ? [`SRC_URI[sha256sum] = "${source.sha256}"`] : []),
    'INHIBIT_DEFAULT_DEPS = "1"',
    'PATCHDEPENDENCY = ""',
    'inherit native',
    `S = "${source.s}"`,
    'do_configure[noexec] = "1"',
    'do_compile[noexec] = "1"',
    'do_install() {',
    '    install -d ${D}${bindir}',
    '    install -m 0755 ${S}/hello.sh ${D}${bindir}/yf-hello',
    '}',
    '',
  ].join('\n');
}

/** A global gitconfig that sends poky's URL and each test layer's URL to the local copies. */
export function writeMirrorGitconfig(file: string, layers: TestLayer[]): void {
  const lines = [`[url "${REAL_POKY}"]`, '\tinsteadOf = https://git.yoctoproject.org/poky'];
  for (const layer of layers) lines.push(`[url "${layer.dir}"]`, `\tinsteadOf = ${layer.url}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
