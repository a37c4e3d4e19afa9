#!/usr/bin/env node
// What yoctoforge adds before BitBake starts on an unchanged, synced project (manifest load,
// lock check, layer checks, conf render, image up-to-date check, container start), next to
// `docker run --rm IMAGE true` by hand. A stand-in bitbake (test/fixtures/build/poky) writes
// the time it starts. Needs a Docker engine and the base image (scripts/test-host-setup.sh);
// run after `npm run build`: node bench/build-overhead.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const baseImage = process.env.YOCTOFORGE_TEST_BASE_IMAGE ?? 'yoctoforge-test-base:bookworm';
const runs = Number(process.env.RUNS ?? 7);
const work = mkdtempSync(path.join(os.tmpdir(), 'yf-bench-build-'));
const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

const src = path.join(work, 'poky-src');
cpSync(path.join(root, 'test', 'fixtures', 'build', 'poky'), src, { recursive: true });
git(src, 'init', '-q', '-b', 'scarthgap');
git(src, 'add', '-A');
git(src, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '-m', 'stand-in');
const project = path.join(work, 'project');
mkdirSync(project);
writeFileSync(
  path.join(project, 'layers.yaml'),
  `repos:\n  poky:\n    url: ${src}\n    layers: [meta]\nbuild_env:\n  engine: docker\n  base_image: ${baseImage}\ntargets:\n  t:\n    image: yf-image-mark\n    machine: raspberrypi4-64\n`,
);
const env = { ...process.env, CI: 'true', YOCTOFORGE_CACHE_DIR: path.join(work, 'cache'), YOCTOFORGE_MIN_FREE_GIB: '1' };
const run = (args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: project, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`yoctoforge ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
run(['build']); // warm: synced, locked, conf rendered, image built

const overhead = [];
for (let i = 0; i < runs; i++) {
  const start = Date.now() / 1000;
  run(['build']);
  const started = Number(readFileSync(path.join(project, 'build', 't', 'bitbake-started-at'), 'utf8'));
  overhead.push(started - start);
}
const image = /yoctoforge-buildenv:[0-9a-f]{16}/.exec(run(['build']))?.[0];
const byHand = [];
for (let i = 0; i < runs; i++) {
  const start = process.hrtime.bigint();
  execFileSync('docker', ['run', '--rm', image, 'true']);
  byHand.push(Number(process.hrtime.bigint() - start) / 1e9);
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`median of ${runs}, ${os.cpus().length} CPUs`);
console.log(`yoctoforge build, start to BitBake running: ${median(overhead).toFixed(3)} s (goal < 1 s)`);
console.log(`docker run --rm ${image} true, by hand:  ${median(byHand).toFixed(3)} s`);
console.log(`yoctoforge's own share: ${(median(overhead) - median(byHand)).toFixed(3)} s`);
rmSync(work, { recursive: true, force: true });
