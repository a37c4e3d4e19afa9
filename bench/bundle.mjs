#!/usr/bin/env node
// yoctoforge bundle / init --from-bundle of the four real layer repositories, next to the same
// job by hand: `git bundle create` of each repo, then `git clone` of each bundle. Needs local
// copies: YOCTOFORGE_BENCH_MIRRORS=DIR with DIR/{poky,meta-openembedded,meta-raspberrypi,
// meta-virtualization}(.git). Run after `npm run build`: node bench/bundle.mjs (RUNS=3).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const mirrors = process.env.YOCTOFORGE_BENCH_MIRRORS;
if (!mirrors) {
  console.log('bundle bench: skipped (set YOCTOFORGE_BENCH_MIRRORS)');
  process.exit(0);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const runs = Number(process.env.RUNS ?? 3);
const work = mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'yf-bench-bundle-'));
const repos = {
  poky: 'https://git.yoctoproject.org/poky',
  'meta-openembedded': 'https://github.com/openembedded/meta-openembedded',
  'meta-raspberrypi': 'https://github.com/agherzan/meta-raspberrypi',
  'meta-virtualization': 'https://git.yoctoproject.org/meta-virtualization',
};
const local = (name) => [path.join(mirrors, name), path.join(mirrors, `${name}.git`)].find((p) => existsSync(p));
const gitconfig = path.join(work, 'gitconfig');
writeFileSync(
  gitconfig,
  Object.entries(repos)
    .map(([n, url]) => `[url "${local(n)}"]\n\tinsteadOf = ${url}\n`)
    .join(''),
);
const env = {
  ...process.env,
  CI: 'true',
  GIT_CONFIG_GLOBAL: gitconfig,
  GIT_CONFIG_NOSYSTEM: '1',
  YOCTOFORGE_CACHE_DIR: path.join(work, 'cache'),
};
const time = (fn) => {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
};
const cliRun = (args, cwd) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`yoctoforge ${args.join(' ')}: ${r.stderr}`);
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const project = path.join(work, 'project');
mkdirSync(project);
cliRun(['init', '--yes'], project);
cliRun(['sync'], project);
const commits = Object.fromEntries(
  Object.keys(repos).map((n) => [
    n,
    execFileSync('git', ['-C', path.join(project, 'layers', n), 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(),
  ]),
);
const history = Object.fromEntries(
  Object.keys(repos).map((n) => [
    n,
    execFileSync('git', ['-C', path.join(project, 'layers', n), 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }).trim(),
  ]),
);

const rows = { bundle: [], handBundle: [], restore: [], handRestore: [] };
let archiveBytes = 0;
try {
  for (let i = 0; i < runs; i++) {
    const archive = path.join(work, `run${i}.tar.gz`);
    rows.bundle.push(time(() => cliRun(['bundle', '-o', archive], project)));
    archiveBytes = statSync(archive).size;
    const hand = path.join(work, `hand${i}`);
    mkdirSync(hand);
    rows.handBundle.push(
      time(() => {
        for (const n of Object.keys(repos))
          execFileSync('git', [
            '-C',
            path.join(project, 'layers', n),
            'bundle',
            'create',
            '--quiet',
            path.join(hand, `${n}.bundle`),
            'HEAD',
          ]);
      }),
    );
    const restored = path.join(work, `restored${i}`);
    rows.restore.push(time(() => cliRun(['init', restored, '--from-bundle', archive], work)));
    const handOut = path.join(work, `hand-restored${i}`);
    mkdirSync(handOut);
    rows.handRestore.push(
      time(() => {
        for (const n of Object.keys(repos)) {
          execFileSync('git', ['clone', '--quiet', '--no-checkout', path.join(hand, `${n}.bundle`), path.join(handOut, n)]);
          execFileSync('git', ['-C', path.join(handOut, n), 'checkout', '--quiet', '--detach', commits[n]]);
        }
      }),
    );
    rmSync(restored, { recursive: true, force: true });
    rmSync(handOut, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
  console.log(
    `commits per repo: ${Object.entries(history)
      .map(([n, c]) => `${n} ${c}`)
      .join(', ')}; archive ${(archiveBytes / 1e6).toFixed(1)} MB`,
  );
  console.log(
    `bundle:  yoctoforge ${m.bundle.toFixed(2)} s | git bundle create x4 by hand ${m.handBundle.toFixed(2)} s | ratio ${(m.bundle / m.handBundle).toFixed(2)}`,
  );
  console.log(
    `restore: yoctoforge ${m.restore.toFixed(2)} s | git clone x4 + checkout by hand ${m.handRestore.toFixed(2)} s | ratio ${(m.restore / m.handRestore).toFixed(2)} (target <= 1.5)`,
  );
  console.log(`${runs} runs each, median; ${os.cpus().length} CPUs`);
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(
    path.join(root, 'bench', 'results', 'bundle.json'),
    `${JSON.stringify({ history, archiveBytes, rows, median: m }, null, 2)}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
