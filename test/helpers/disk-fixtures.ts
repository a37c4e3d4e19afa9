import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';

export const SECTOR = 512;
/** A small wic-like disk: DOS label, a FAT boot partition at 1 MiB, an ext4 root after it. */
export const FAT_START = 2048;
export const FAT_SECTORS = 16384;
export const ROOT_START = FAT_START + FAT_SECTORS;
export const IMAGE_BYTES = 48 * 1024 * 1024;

function run(command: string, args: string[], input?: string): string {
  return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Why loop-device tests cannot run here, or undefined when they can. */
export function loopUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'loop-device tests need root';
  const probe = spawnSync('losetup', ['-f'], { encoding: 'utf8' });
  if (probe.status !== 0) return `no free loop device (${probe.stderr.trim()})`;
  return undefined;
}

export interface WicImage {
  image: string;
  bmap: string;
}

/** Builds the image with the real tools (sfdisk, mkfs.vfat + mcopy, mkfs.ext4 -d) and its bmap with bmaptool. */
export function makeWicImage(dir: string, name = 'core-image-test-raspberrypi4-64.rootfs'): WicImage {
  mkdirSync(dir, { recursive: true });
  const image = path.join(dir, `${name}.wic`);
  const rootDir = path.join(dir, `${name}-rootfs`);
  mkdirSync(path.join(rootDir, 'etc'), { recursive: true });
  writeFileSync(path.join(rootDir, 'etc', 'hostname'), 'raspberrypi4-64\n');
  writeFileSync(path.join(rootDir, 'etc', 'group'), 'root:x:0:\ndocker:x:999:root\n');
  // some incompressible data so mapped ranges span many blocks and chunks
  writeFileSync(path.join(rootDir, 'payload.bin'), randomBytes(3 * 1024 * 1024));
  writeFileSync(path.join(rootDir, 'text.txt'), 'yoctoforge '.repeat(200_000));
  closeSync(openSync(image, 'w'));
  execFileSync('truncate', ['-s', String(IMAGE_BYTES), image]);
  run('sfdisk', ['-q', image], `label: dos\nstart=${FAT_START}, size=${FAT_SECTORS}, type=c, bootable\nstart=${ROOT_START}, type=83\n`);
  run('mkfs.vfat', ['-n', 'BOOT', '--offset', String(FAT_START), image, String((FAT_SECTORS * SECTOR) / 1024)]);
  const config = path.join(dir, 'config.txt');
  writeFileSync(config, 'enable_uart=1\narm_64bit=1\n');
  run('mcopy', ['-i', `${image}@@${FAT_START * SECTOR}`, config, '::config.txt']);
  const rootKiB = (IMAGE_BYTES - ROOT_START * SECTOR) / 1024;
  run('mkfs.ext4', ['-q', '-F', '-L', 'root', '-E', `offset=${ROOT_START * SECTOR}`, '-d', rootDir, image, `${rootKiB}k`]);
  const bmap = `${image}.bmap`;
  writeFileSync(bmap, run('bmaptool', ['-q', 'create', image]));
  return { image, bmap };
}

/** Compresses with the tool the field uses for that format; returns the new file. */
export function compress(image: string, how: 'bzip2' | 'pbzip2' | 'xz-single' | 'xz-multi' | 'gzip' | 'zstd'): string {
  const suffix = { bzip2: 'bz2', pbzip2: 'bz2', 'xz-single': 'xz', 'xz-multi': 'xz', gzip: 'gz', zstd: 'zst' }[how];
  const out = `${image}.${suffix}`;
  const argv: Record<typeof how, string[]> = {
    bzip2: ['bzip2', '-kc', image],
    pbzip2: ['pbzip2', '-kc', '-b1', image],
    'xz-single': ['xz', '-kc', '-T1', image],
    'xz-multi': ['xz', '-kc', '-T2', '--block-size=4MiB', image],
    gzip: ['pigz', '-kc', image],
    zstd: ['zstd', '-qc', image],
  };
  const [command, ...args] = argv[how];
  const data = execFileSync(command!, args, { maxBuffer: 1024 * 1024 * 1024 });
  writeFileSync(out, data);
  return out;
}

export interface LoopDevice {
  device: string;
  backing: string;
  detach: () => void;
}

/** A loop device over a new file of `bytes`, filled with a pattern so unwritten areas are visible. */
export function attachLoop(dir: string, bytes: number, opts: { partscan?: boolean; fill?: number } = {}): LoopDevice {
  const backing = path.join(dir, `disk-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.raw`);
  writeFileSync(backing, Buffer.alloc(bytes, opts.fill ?? 0xa5));
  const device = run('losetup', ['-f', '--show', ...(opts.partscan ? ['-P'] : []), backing]).trim();
  return {
    device,
    backing,
    detach: () => {
      spawnSync('losetup', ['-d', device]);
    },
  };
}

/** Partition nodes are not made for us (no udev): mknod from sysfs. */
export function partitionNode(dir: string, loop: string, index: number): string {
  const name = `${path.basename(loop)}p${index}`;
  // some kernels do not scan a loop device's table even with -P; partx adds the partitions itself
  if (!existsSync(`/sys/class/block/${name}/dev`)) spawnSync('partx', ['-a', loop]);
  const [major, minor] = readFileSyncTrim(`/sys/class/block/${name}/dev`).split(':');
  const node = path.join(dir, name);
  run('mknod', [node, 'b', major!, minor!]);
  return node;
}

function readFileSyncTrim(file: string): string {
  return execFileSync('cat', [file], { encoding: 'utf8' }).trim();
}

/** sha256 of [start, end) of a file or device, read with plain reads. */
export function hashRange(file: string, start: number, end: number): string {
  const fd = openSync(file, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(1024 * 1024);
    for (let pos = start; pos < end;) {
      const n = readSync(fd, buffer, 0, Math.min(buffer.length, end - pos), pos);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      pos += n;
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** The mapped ranges of a bmap, as byte ranges (the tests read the XML themselves). */
export function bmapRanges(bmapText: string): Array<{ start: number; end: number }> {
  const blockSize = Number(/<BlockSize>\s*(\d+)/.exec(bmapText)![1]);
  const imageSize = Number(/<ImageSize>\s*(\d+)/.exec(bmapText)![1]);
  return [...bmapText.matchAll(/<Range[^>]*>\s*(\d+)(?:-(\d+))?\s*<\/Range>/g)].map((m) => ({
    start: Number(m[1]) * blockSize,
    end: Math.min((Number(m[2] ?? m[1]) + 1) * blockSize, imageSize),
  }));
}

export function sizeOf(file: string): number {
  return statSync(file).size;
}

/** Drops the page cache of a device so reads in the test come from the medium. */
export function dropCaches(device: string): void {
  spawnSync('blockdev', ['--flushbufs', device]);
}

/**
 * A sparse image of `bytes` with an MBR signature (so it reads as a disk image) whose blocks are
 * data or holes in a fixed pattern: text-like blocks (compressible), random blocks (not), holes.
 */
export function makeSparseImage(file: string, bytes: number, seed = 1): void {
  const block = 4096;
  const fd = openSync(file, 'w');
  try {
    let state = seed;
    const next = (): number => (state = (state * 1103515245 + 12345) >>> 0);
    for (let at = 0; at < bytes; at += block) {
      const kind = at === 0 ? 1 : next() % 4; // 0: hole, 1-2: text, 3: random
      if (kind === 0) continue;
      const size = Math.min(block, bytes - at);
      const data =
        kind === 3 ? randomBytes(size) : Buffer.from(`block ${at / block} of ${bytes} `.repeat(Math.ceil(size / 16)).slice(0, size));
      if (at === 0 && size >= 512) data.writeUInt16LE(0xaa55, 510);
      writeSync(fd, data, 0, size, at);
    }
  } finally {
    closeSync(fd);
  }
  truncateSync(file, bytes);
}

export type Packing =
  'raw' | 'bz2' | 'xz' | 'gz' | 'zst' | 'lz4' | 'lzo' | 'zip' | 'tar' | 'tar.gz' | 'tar.bz2' | 'tar.xz' | 'tar.zst' | 'tar.lz4';

/** The image compressed or archived with the standard tools, as it is distributed. */
export function pack(image: string, how: Packing): string {
  const dir = path.dirname(image);
  const name = path.basename(image);
  const out = `${image}.${how}`;
  const sh = (cmd: string): void => void execFileSync('bash', ['-c', cmd], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const tarFlag: Record<string, string> = {
    tar: '',
    'tar.gz': '-z',
    'tar.bz2': '-j',
    'tar.xz': '-J',
    'tar.zst': '--zstd',
    'tar.lz4': '-I lz4',
  };
  const command: Record<Packing, string> = {
    raw: '',
    bz2: `bzip2 -c ${q(name)} > ${q(out)}`,
    xz: `xz -T2 -c ${q(name)} > ${q(out)}`,
    gz: `gzip -c ${q(name)} > ${q(out)}`,
    zst: `zstd -q -c ${q(name)} > ${q(out)}`,
    lz4: `lz4 -q -c ${q(name)} > ${q(out)}`,
    lzo: `lzop -c ${q(name)} > ${q(out)}`,
    zip: `zip -q ${q(out)} ${q(name)}`,
    tar: `tar -cf ${q(out)} ${q(name)}`,
    'tar.gz': `tar ${tarFlag['tar.gz']} -cf ${q(out)} ${q(name)}`,
    'tar.bz2': `tar ${tarFlag['tar.bz2']} -cf ${q(out)} ${q(name)}`,
    'tar.xz': `tar ${tarFlag['tar.xz']} -cf ${q(out)} ${q(name)}`,
    'tar.zst': `tar ${tarFlag['tar.zst']} -cf ${q(out)} ${q(name)}`,
    'tar.lz4': `tar ${tarFlag['tar.lz4']} -cf ${q(out)} ${q(name)}`,
  };
  if (how === 'raw') return image;
  rmSync(out, { force: true });
  sh(command[how]);
  return out;
}

/**
 * A bmap edited by a test carries its own checksum again (as bmaptool computes it: SHA-256 of the
 * file with the checksum's digits zeroed), so the edit tests what it means to and not the seal.
 */
export function resealBmap(text: string): string {
  const zeroed = text.replace(
    /(<BmapFileChecksum>\s*)([0-9a-f]+)/,
    (_, open: string, digits: string) => `${open}${'0'.repeat(digits.length)}`,
  );
  const digest = createHash('sha256').update(zeroed).digest('hex');
  return zeroed.replace(/(<BmapFileChecksum>\s*)0+/, `$1${digest}`);
}
