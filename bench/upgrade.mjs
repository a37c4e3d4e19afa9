#!/usr/bin/env node
// `yoctoforge upgrade --series wrynose` of the seed project (issue 11: under 10 s from local
// mirrors), on local copies of the real layers. Run after `npm run build`:
//   BENCH_REAL_LAYERS=DIR BENCH_REAL_LAYERS_WRYNOSE=DIR node bench/upgrade.mjs
// The two directories are laid out as YOCTOFORGE_REAL_LAYERS and YOCTOFORGE_REAL_LAYERS_WRYNOSE
// (README): one git repository per name, holding that release's branch. Repositories of both
// releases (meta-openembedded, meta-raspberrypi, meta-virtualization) are joined into one mirror
// that holds both branches, as the real upstream does. RUNS=N upgrades (each undone after).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const runs = Number(process.env.RUNS ?? 5);
const releases = { scarthgap: process.env.BENCH_REAL_LAYERS, wrynose: process.env.BENCH_REAL_LAYERS_WRYNOSE };
if (!releases.scarthgap || !releases.wrynose) {
  console.error('bench/upgrade: set BENCH_REAL_LAYERS and BENCH_REAL_LAYERS_WRYNOSE (see the header of this file)');
  process.exit(2);
}
const work = mkdtempSync(path.join(os.tmpdir(), 'yf-bench-upgrade-'));
const git = (...args) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const env = { ...process.env, GIT_CONFIG_GLOBAL: path.join(work, 'gitconfig'), GIT_CONFIG_NOSYSTEM: '1', CI: 'true' };
const cliRun = (args, cwd) => {
  const started = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`yoctoforge ${args.join(' ')}: ${r.stderr}`);
  return { seconds: (performance.now() - started) / 1000, stdout: r.stdout };
};

try {
  // the repositories each release's seed names, and their URLs, as `init` writes them
  const seeds = {};
  for (const series of Object.keys(releases)) {
    const dir = path.join(work, `seed-${series}`);
    mkdirSync(dir);
    writeFileSync(env.GIT_CONFIG_GLOBAL, '');
    cliRun(['init', '--yes', '--series', series], dir);
    seeds[series] = parse(readFileSync(path.join(dir, 'layers.yaml'), 'utf8')).repos;
  }
  // one mirror per URL, holding the branch of every release whose seed names it
  const mirrors = new Map();
  for (const [series, repos] of Object.entries(seeds)) {
    for (const [name, repo] of Object.entries(repos)) {
      const local = [name, `${name}.git`].map((n) => path.join(releases[series], n)).find((p) => existsSync(p));
      if (!local) throw new Error(`${releases[series]} has no ${name}`);
      const mirror = path.join(work, 'mirrors', `${name}.git`);
      if (!existsSync(mirror)) git('init', '-q', '--bare', mirror);
      const branch = repo.branch ?? series;
      git('-C', mirror, 'fetch', '-q', '--update-shallow', local, `+refs/heads/${branch}:refs/heads/${branch}`);
      mirrors.set(repo.url, mirror);
    }
  }
  writeFileSync(
    env.GIT_CONFIG_GLOBAL,
    [...mirrors].map(([url, mirror]) => `[url "${mirror}"]\n\tinsteadOf = ${url}\n`).join('') + '[protocol "file"]\n\tallow = always\n',
  );

  const project = path.join(work, 'project');
  mkdirSync(project);
  cliRun(['init', '--yes'], project);
  const sync = cliRun(['sync'], project);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const up = cliRun(['upgrade', '--series', 'wrynose'], project);
    times.push(up.seconds);
    cliRun(['upgrade', '--undo'], project);
    cliRun(['sync', '--locked'], project);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `upgrade --series wrynose of the seed (${Object.keys(seeds.wrynose).length} repositories after, local mirrors): ` +
      `median ${sorted[Math.floor(runs / 2)].toFixed(2)} s, min ${sorted[0].toFixed(2)} s, max ${sorted.at(-1).toFixed(2)} s over ${runs} runs ` +
      `(scarthgap sync first: ${sync.seconds.toFixed(1)} s; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)})`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
