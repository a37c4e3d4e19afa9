#!/usr/bin/env node
// Sync speed next to kas: cold and warm checkout of the same four repositories from local
// mirrors, plus `yoctoforge --help` start-up. Run after `npm run build`:
//   YOCTOFORGE_BENCH_MIRRORS=DIR node bench/sync.mjs
// DIR holds poky.git, meta-openembedded.git, meta-raspberrypi.git, meta-virtualization.git
// (local copies of the real repositories). Without it, four synthetic repositories are made.
// KAS=<command> picks the kas to compare with (default: `kas` on PATH); figures go to stdout.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const names = ['poky', 'meta-openembedded', 'meta-raspberrypi', 'meta-virtualization'];
const layersOf = {
  poky: ['meta', 'meta-poky', 'meta-yocto-bsp'],
  'meta-openembedded': ['meta-oe', 'meta-python', 'meta-networking', 'meta-filesystems'],
  'meta-raspberrypi': ['.'],
  'meta-virtualization': ['.'],
};
const work = mkdtempSync(path.join(os.tmpdir(), 'yf-bench-sync-'));
const runs = Number(process.env.RUNS ?? 5);

function mirrors() {
  if (process.env.YOCTOFORGE_BENCH_MIRRORS) {
    return { dir: path.resolve(process.env.YOCTOFORGE_BENCH_MIRRORS), real: true };
  }
  const dir = path.join(work, 'mirrors');
  for (const name of names) {
    const src = path.join(work, 'src', name);
    mkdirSync(src, { recursive: true });
    execFileSync('git', ['init', '-q', '-b', 'scarthgap', src]);
    for (let i = 0; i < 2000; i++) {
      const sub = path.join(src, `recipes-${i % 40}`, `r${i}`);
      mkdirSync(sub, { recursive: true });
      writeFileSync(path.join(sub, `r${i}.bb`), `SUMMARY = "recipe ${i}"\nLICENSE = "MIT"\n`.repeat(20));
    }
    execFileSync('git', ['-C', src, 'add', '-A']);
    execFileSync('git', ['-C', src, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '-m', 'init']);
    execFileSync('git', ['clone', '-q', '--bare', src, path.join(dir, `${name}.git`)]);
  }
  return { dir, real: false };
}

function time(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout;
}

const { dir: mirrorDir, real } = mirrors();
const commit = (name) =>
  execFileSync('git', ['-C', path.join(mirrorDir, `${name}.git`), 'rev-parse', 'scarthgap'], { encoding: 'utf8' }).trim();

// yoctoforge project: URLs are the mirror paths, as in the kas file below.
const yfDir = path.join(work, 'yf');
mkdirSync(yfDir);
const repoLines = names.map(
  (n) => `  ${n}:\n    url: ${path.join(mirrorDir, `${n}.git`)}\n    commit: ${commit(n)}\n    layers: [${layersOf[n].join(', ')}]`,
);
writeFileSync(
  path.join(yfDir, 'layers.yaml'),
  `series: scarthgap\nrepos:\n${repoLines.join('\n')}\ntargets:\n  t: { image: core-image-base, machine: raspberrypi4-64 }\n`,
);

const kasDir = path.join(work, 'kas');
mkdirSync(kasDir);
const kasVersion = (() => {
  try {
    return (
      run(process.env.KAS ?? 'kas', ['--version'], {}).trim() ||
      spawnSync(process.env.KAS ?? 'kas', ['--version'], { encoding: 'utf8' }).stderr.trim()
    );
  } catch {
    return undefined;
  }
})();
// kas 4 replaced `refspec` by `commit`/`branch` (format 14).
const kasModern = Number(/kas (\d+)/.exec(kasVersion ?? '')?.[1] ?? 0) >= 4;
const pin = (n) => (kasModern ? `    commit: "${commit(n)}"\n    branch: "scarthgap"` : `    refspec: "${commit(n)}"`);
const kasRepos = names
  .map(
    (n) =>
      `  ${n}:\n    url: "${path.join(mirrorDir, `${n}.git`)}"\n${pin(n)}\n    layers:\n${layersOf[n].map((l) => `      ${l}:`).join('\n')}`,
  )
  .join('\n');
writeFileSync(
  path.join(kasDir, 'kas.yml'),
  `header:\n  version: ${kasModern ? 14 : 12}\nmachine: raspberrypi4-64\ntarget: core-image-base\nrepos:\n${kasRepos}\n`,
);

const env = { ...process.env, CI: 'true', YOCTOFORGE_CACHE_DIR: path.join(work, 'cache') };
const yfCold = [];
const yfWarm = [];
const kasCold = [];
const kasWarm = [];
for (let i = 0; i < runs; i++) {
  rmSync(path.join(yfDir, 'layers'), { recursive: true, force: true });
  yfCold.push(time(() => run(process.execPath, [cli, 'sync'], { cwd: yfDir, env })));
  yfWarm.push(time(() => run(process.execPath, [cli, 'sync'], { cwd: yfDir, env })));
  if (kasVersion) {
    const kasWork = path.join(kasDir, 'work');
    rmSync(kasWork, { recursive: true, force: true });
    mkdirSync(kasWork);
    const kasEnv = { ...process.env, KAS_WORK_DIR: kasWork };
    kasCold.push(time(() => run(process.env.KAS ?? 'kas', ['checkout', path.join(kasDir, 'kas.yml')], { cwd: kasWork, env: kasEnv })));
    kasWarm.push(time(() => run(process.env.KAS ?? 'kas', ['checkout', path.join(kasDir, 'kas.yml')], { cwd: kasWork, env: kasEnv })));
  }
}
const help = [];
for (let i = 0; i < 10; i++) help.push(time(() => run(process.execPath, [cli, '--help'], {})));

const fmt = (v) => (v === undefined ? 'n/a' : `${v.toFixed(3)} s`);
console.log(
  `repositories: ${real ? `real (${mirrorDir})` : 'synthetic (set YOCTOFORGE_BENCH_MIRRORS for the real ones)'}; median of ${runs} runs; ${os.cpus().length} CPUs`,
);
console.log(`kas: ${kasVersion ?? 'not installed'}`);
console.log(`cold checkout  yoctoforge ${fmt(median(yfCold))}   kas ${fmt(kasCold.length ? median(kasCold) : undefined)}`);
console.log(`warm checkout  yoctoforge ${fmt(median(yfWarm))}   kas ${fmt(kasWarm.length ? median(kasWarm) : undefined)}`);
if (kasWarm.length)
  console.log(
    `warm ratio yoctoforge/kas: ${(median(yfWarm) / median(kasWarm)).toFixed(2)} (goal < 0.33); cold ratio: ${(median(yfCold) / median(kasCold)).toFixed(2)} (goal <= 1)`,
  );
console.log(`yoctoforge --help: ${(median(help) * 1000).toFixed(0)} ms (goal < 150 ms)`);
rmSync(work, { recursive: true, force: true });
