#!/usr/bin/env node
// Runs the benchmarks this machine can run (after `npm run build`): the parser always, the
// build overhead with a Docker engine, flash as root, sync when YOCTOFORGE_BENCH_MIRRORS names
// local mirrors of the four layer repositories, upgrade with local copies of both releases' layers. Each script's header says what it measures.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = fileURLToPath(new URL('.', import.meta.url));
const plan = [
  ['parser.mjs', undefined],
  ['build-overhead.mjs', spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0 ? undefined : 'no Docker engine'],
  ['flash.mjs', process.getuid?.() === 0 ? undefined : 'needs root for loop devices'],
  ['sync.mjs', process.env.YOCTOFORGE_BENCH_MIRRORS ? undefined : 'YOCTOFORGE_BENCH_MIRRORS is not set'],
  [
    'upgrade.mjs',
    process.env.BENCH_REAL_LAYERS && process.env.BENCH_REAL_LAYERS_WRYNOSE
      ? undefined
      : 'BENCH_REAL_LAYERS and BENCH_REAL_LAYERS_WRYNOSE are not set',
  ],
];
let failed = 0;
for (const [script, skip] of plan) {
  if (skip) {
    console.log(`== ${script}: skipped (${skip})`);
    continue;
  }
  console.log(`== ${script}`);
  const r = spawnSync(process.execPath, [path.join(bench, script)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
