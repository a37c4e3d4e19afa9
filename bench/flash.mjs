#!/usr/bin/env node
// yoctoforge flash next to bmaptool copy and the decompressor alone, on the reference image of
// shared/ENVIRONMENT.md: a 2 GiB sparse wic (DOS label, 256 MiB FAT, ext4 root with ~670 MB used:
// /usr/bin, /usr/share/doc and 64 MB of random data) with its bmap, written to a loop device.
// Root only (loop devices). Run after `npm run build`: node bench/flash.mjs
// FORMATS=bz2,pbzip2,xz,zst,gz RUNS=3 select what is measured.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const runs = Number(process.env.RUNS ?? 3);
const formats = (process.env.FORMATS ?? 'bz2,pbzip2,xz,zst,gz').split(',');
const work = mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'yf-bench-flash-'));
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });

// ---- the reference image ----
const image = path.join(work, 'core-image-base-raspberrypi4-64.rootfs.wic');
const rootDir = path.join(work, 'rootfs');
mkdirSync(path.join(rootDir, 'usr', 'share'), { recursive: true });
sh('cp', ['-a', '/usr/bin', path.join(rootDir, 'usr', 'bin')]);
sh('cp', ['-a', '/usr/share/doc', path.join(rootDir, 'usr', 'share', 'doc')]);
sh('dd', ['if=/dev/urandom', `of=${path.join(rootDir, 'random.bin')}`, 'bs=1M', 'count=64', 'status=none']);
sh('truncate', ['-s', '2G', image]);
const fatStart = 8192;
const fatSectors = 256 * 2048;
const rootStart = fatStart + fatSectors;
sh('sfdisk', ['-q', image], {
  input: `label: dos\nstart=${fatStart}, size=${fatSectors}, type=c, bootable\nstart=${rootStart}, type=83\n`,
});
sh('mkfs.vfat', ['-F', '16', '--offset', String(fatStart), image, String(fatSectors / 2)]);
const rootKiB = (2 * 1024 ** 3 - rootStart * 512) / 1024;
sh('mkfs.ext4', ['-q', '-F', '-E', `offset=${rootStart * 512}`, '-d', rootDir, image, `${rootKiB}k`]);
rmSync(rootDir, { recursive: true, force: true });
writeFileSync(`${image}.bmap`, sh('bmaptool', ['-q', 'create', image]));
const mappedMB = (Number(/<MappedBlocksCount>\s*(\d+)/.exec(sh('cat', [`${image}.bmap`]))[1]) * 4096) / 1e6;

const compressed = {
  bz2: { file: `${image}.bz2`, make: `lbzip2 -kc ${image} > ${image}.bz2`, floor: `lbzip2 -dc ${image}.bz2 > /dev/null` },
  pbzip2: { file: `${image}.pb.bz2`, make: `pbzip2 -kc ${image} > ${image}.pb.bz2`, floor: `lbzip2 -dc ${image}.pb.bz2 > /dev/null` },
  xz: { file: `${image}.xz`, make: `xz -kc -T0 ${image} > ${image}.xz`, floor: `xz -dc -T0 ${image}.xz > /dev/null` },
  zst: { file: `${image}.zst`, make: `zstd -qc -T0 ${image} > ${image}.zst`, floor: `zstd -dcq ${image}.zst > /dev/null` },
  gz: { file: `${image}.gz`, make: `pigz -kc ${image} > ${image}.gz`, floor: `pigz -dc ${image}.gz > /dev/null` },
};
for (const f of formats) sh('bash', ['-c', compressed[f].make]);

// ---- the target ----
const backing = path.join(work, 'disk.raw');
sh('truncate', ['-s', '2200M', backing]);
const device = sh('losetup', ['-f', '--show', backing]).trim();

const dropCaches = () => {
  spawnSync('sync');
  spawnSync('bash', ['-c', 'echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
};
/** wall seconds and peak RSS (MB) of a command, through GNU time */
const measure = (argv) => {
  dropCaches();
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  const rssKiB = Number(r.stderr.trim().split('\n').pop());
  return { seconds, rssMB: rssKiB / 1024 };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const best = (argv) => {
  const results = Array.from({ length: runs }, () => measure(argv));
  return { seconds: median(results.map((r) => r.seconds)), rssMB: Math.max(...results.map((r) => r.rssMB)) };
};

const rows = [];
try {
  for (const f of formats) {
    const file = compressed[f].file;
    const floor = best(['bash', '-c', compressed[f].floor]);
    const ours = best(['node', cli, 'flash', device, '--image', file, '--bmap', `${image}.bmap`, '--force', '--yes']);
    const oursNoVerify = best([
      'node',
      cli,
      'flash',
      device,
      '--image',
      file,
      '--bmap',
      `${image}.bmap`,
      '--force',
      '--yes',
      '--no-verify',
    ]);
    const bmaptool = best(['bmaptool', '-q', 'copy', '--bmap', `${image}.bmap`, file, device]);
    rows.push({ format: f, floor, ours, oursNoVerify, bmaptool });
    console.log(
      `${f.padEnd(7)} decompress>/dev/null ${floor.seconds.toFixed(1)} s | yoctoforge ${ours.seconds.toFixed(1)} s (${ours.rssMB.toFixed(0)} MB RSS, verified) ` +
        `| --no-verify ${oursNoVerify.seconds.toFixed(1)} s | bmaptool copy ${bmaptool.seconds.toFixed(1)} s (${bmaptool.rssMB.toFixed(0)} MB RSS) ` +
        `| ratio ${(ours.seconds / bmaptool.seconds).toFixed(2)}`,
    );
  }
  const raw = best(['node', cli, 'flash', device, '--image', image, '--force', '--yes']);
  const rawBmaptool = best(['bmaptool', '-q', 'copy', image, device]);
  console.log(
    `raw     yoctoforge ${raw.seconds.toFixed(2)} s (${raw.rssMB.toFixed(0)} MB RSS, verified) | bmaptool copy ${rawBmaptool.seconds.toFixed(2)} s`,
  );
  console.log(`image: 2 GiB, ${mappedMB.toFixed(0)} MB mapped; ${runs} runs each, median seconds, peak RSS; ${os.cpus().length} CPUs`);
  mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(
    path.join(root, 'bench', 'results', 'flash.json'),
    `${JSON.stringify({ mappedMB, runs, rows, raw, rawBmaptool }, null, 2)}\n`,
  );
} finally {
  spawnSync('losetup', ['-d', device]);
  rmSync(work, { recursive: true, force: true });
}
