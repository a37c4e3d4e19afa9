import { buildReportJson } from '../helpers/report-fixture.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  closeSync,
  existsSync,
  copyFileSync,
  truncateSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  attachLoop,
  bmapRanges,
  compress,
  resealBmap,
  FAT_START,
  hashRange,
  IMAGE_BYTES,
  loopUnavailable,
  makeWicImage,
  partitionNode,
  ROOT_START,
  SECTOR,
  type LoopDevice,
  type WicImage,
} from '../helpers/disk-fixtures.js';
import { CLI, runCli, tempDir } from '../helpers/git-fixtures.js';

const skipReason = loopUnavailable();
if (skipReason) console.warn(`flash tests on loop devices skipped: ${skipReason}`);

// loop devices on a machine shared with other work are slow: minutes, not the default minute
describe.skipIf(Boolean(skipReason))('yoctoforge flash on real loop devices', { timeout: 300_000 }, () => {
  let dir: string;
  let wic: WicImage;
  const loops: LoopDevice[] = [];
  const loop = (bytes: number, opts?: Parameters<typeof attachLoop>[2]): LoopDevice => {
    const l = attachLoop(dir, bytes, opts);
    loops.push(l);
    return l;
  };

  beforeAll(() => {
    dir = tempDir('yf-flash-');
    wic = makeWicImage(path.join(dir, 'deploy'));
  });
  afterAll(() => {
    for (const l of loops) l.detach();
    spawnSync('umount', [path.join(dir, 'mnt')]);
    rmSync(dir, { recursive: true, force: true });
  });

  const mapped = (): Array<{ start: number; end: number }> => bmapRanges(readFileSync(wic.bmap, 'utf8'));
  const expectMappedRangesEqual = (device: string): void => {
    for (const r of mapped())
      expect(hashRange(device, r.start, r.end), `range ${r.start}-${r.end}`).toBe(hashRange(wic.image, r.start, r.end));
  };
  const fsck = (device: string): void => {
    // each partition through its own offset loop device, checked read-only by the real tools
    const fat = execFileSync(
      'losetup',
      ['-f', '--show', '-r', '-o', String(FAT_START * SECTOR), '--sizelimit', String((ROOT_START - FAT_START) * SECTOR), device],
      { encoding: 'utf8' },
    ).trim();
    const root = execFileSync('losetup', ['-f', '--show', '-r', '-o', String(ROOT_START * SECTOR), device], { encoding: 'utf8' }).trim();
    try {
      expect(spawnSync('fsck.vfat', ['-n', fat], { encoding: 'utf8' }).status).toBe(0);
      const e2 = spawnSync('e2fsck', ['-fn', root], { encoding: 'utf8' });
      expect(e2.status, e2.stdout + e2.stderr).toBe(0);
      expect(execFileSync('mtype', ['-i', fat, '::config.txt'], { encoding: 'utf8' })).toContain('arm_64bit=1');
      expect(execFileSync('debugfs', ['-R', 'cat /etc/group', root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toContain(
        'docker:x:999:root',
      );
    } finally {
      spawnSync('losetup', ['-d', fat]);
      spawnSync('losetup', ['-d', root]);
    }
  };

  it('writes a bz2 image with its bmap: mapped ranges only, same partition table, both filesystems clean, verified', () => {
    const image = compress(wic.image, 'bzip2');
    const l = loop(64 * 1024 * 1024);
    // read back every MiB made durable, so this small image is verified mostly while it is written
    const r = runCli(['flash', l.device, '--image', image, '--force', '--yes'], {
      env: { ...process.env, YOCTOFORGE_PROGRESS_INTERVAL: '0', YOCTOFORGE_READ_BACK_EVERY_MIB: '1' },
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/Bmap: .*\.wic\.bmap \(format 2\.0, [\d.]+ MiB mapped of 48\.0 MiB, sha256\)/);
    expect(r.stdout).toMatch(
      /Wrote [\d.]+ MiB \(mapped ranges of a 48\.0 MiB image\) to \/dev\/loop\d+ in [\d.]+ s, [\d.]+ (B|KiB|MiB|GiB)\/s \((lbzip2|pbzip2|bzip2)\)/,
    );
    expect(r.stdout).toMatch(
      /Verified [\d.]+ MiB read back bypassing the page cache, [\d.]+ (KiB|MiB) of it while writing, [\d.]+ s after the write/,
    );
    expect(r.stdout).toMatch(/Done: /);
    expect(r.stderr).toMatch(/writing anyway \(--force\): .* is not a removable disk \(loop\)/);
    expectMappedRangesEqual(l.device);
    const dump = (target: string): string =>
      execFileSync('sfdisk', ['--dump', target], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => !/^(label-id|device):/.test(line))
        .map((line) => line.replace(/^\S+?p?(\d+) :/, 'part$1 :'))
        .join('\n');
    expect(dump(l.device)).toBe(dump(wic.image));
    // unmapped blocks past the first MiB (which is cleared, then written last) are not written:
    // the fill pattern survives there, as with bmaptool
    const ranges = mapped();
    const unmapped = ranges.find((r, i) => r.end >= 1024 * 1024 && ranges[i + 1] && ranges[i + 1]!.start > r.end)!.end;
    expect(readFileSync(l.backing).subarray(unmapped, unmapped + 16)).toEqual(Buffer.alloc(16, 0xa5));
    fsck(l.device);
  });

  it('writes without a bmap (--no-bmap) every byte of the image', () => {
    const image = compress(wic.image, 'zstd');
    const l = loop(64 * 1024 * 1024);
    const r = runCli(['flash', l.device, '--image', image, '--no-bmap', '--force', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Bmap: none, writing the whole image/);
    expect(r.stdout).toMatch(/Verified 48\.0 MiB read back/);
    expect(hashRange(l.device, 0, IMAGE_BYTES)).toBe(hashRange(wic.image, 0, IMAGE_BYTES));
  });

  it.each([
    ['pbzip2', 'system'],
    ['xz-single', 'system'],
    ['xz-multi', 'system'],
    ['zstd', 'system'],
    ['xz-multi', 'library'],
    ['gzip', 'in-process (node:zlib)'],
    ['zstd', 'library'],
    ['bzip2', 'library'],
  ] as const)('decompresses %s with the %s decompressor byte for byte', (how, decompressor) => {
    const image = compress(wic.image, how);
    const out = path.join(dir, `out-${how}-${decompressor}.img`);
    writeFileSync(out, Buffer.alloc(1024, 0xff));
    const r = runCli(['flash', out, '--image', image, '--force', '--yes', '--json'], {
      env: { ...process.env, YOCTOFORGE_DECOMPRESSOR: decompressor === 'library' ? 'library' : '' },
    });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { decompressor: string; verified: boolean; imageSize: number };
    expect(result.verified).toBe(true);
    expect(result.imageSize).toBe(IMAGE_BYTES);
    if (decompressor !== 'system') expect(result.decompressor).toMatch(/^(node:zlib|fzstd|xz-decompress|unbzip2-stream)$/);
    else expect(result.decompressor).toMatch(/^(lbzip2|pbzip2|xz|zstd)$/);
    // the file target is truncated first: unmapped ranges read as zeros, so the whole file equals the image
    expect(hashRange(out, 0, IMAGE_BYTES)).toBe(hashRange(wic.image, 0, IMAGE_BYTES));
  });

  it('a small xz image (its decompressor ends before the writer reads) is written whole to a disk', () => {
    const image = path.join(dir, 'small.img');
    writeFileSync(image, randomBytes(131072));
    execFileSync('xz', ['-kf', image]);
    const l = loop(4 * 1024 * 1024);
    const r = runCli(['flash', l.device, '--image', `${image}.xz`, '--no-bmap', '--force', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'success', bytesWritten: 131072 });
    expect(hashRange(l.device, 0, 131072)).toBe(hashRange(image, 0, 131072));
  });

  it('prints periodic plain progress lines with MB/s and ETA when not on a TTY', () => {
    const image = compress(wic.image, 'xz-single');
    const out = path.join(dir, 'progress.img');
    const r = runCli(['flash', out, '--image', image, '--force', '--yes'], { env: { ...process.env, YOCTOFORGE_PROGRESS_INTERVAL: '0' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[\d\d:\d\d:\d\d\] Writing: [\d.]+ MB of [\d.]+ MB \(\d+%\), [\d.]+ MB\/s, ETA \d+:\d\d$/m);
  });

  describe('refuses the wrong target', () => {
    it('a regular file without --force, leaving it untouched', () => {
      const file = path.join(dir, 'precious.txt');
      writeFileSync(file, 'keep me');
      const r = runCli(['flash', file, '--image', wic.image, '--yes']);
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(
        /^yoctoforge: error: refusing to write to .*precious\.txt: .* is a regular file, not a block device \(--force writes the image into it\); --force overrides$/m,
      );
      expect(readFileSync(file, 'utf8')).toBe('keep me');
    });

    it('a non-removable disk without --force', () => {
      const l = loop(64 * 1024 * 1024);
      const r = runCli(['flash', l.device, '--image', wic.image, '--yes']);
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/refusing to write to \/dev\/loop\d+: \/dev\/loop\d+ is not a removable disk \(loop\); --force overrides/);
      expect(readFileSync(l.backing).subarray(0, 16)).toEqual(Buffer.alloc(16, 0xa5));
    });

    it('a device smaller than the image, even with --force', () => {
      const l = loop(16 * 1024 * 1024);
      const r = runCli(['flash', l.device, '--image', wic.image, '--yes', '--force']);
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/has 16\.0 MiB, the image needs 48\.0 MiB/);
    });

    it('a character device, /dev/null', () => {
      const r = runCli(['flash', '/dev/null', '--image', wic.image, '--yes', '--force']);
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/\/dev\/null is neither a block device nor a regular file/);
    });

    it('no terminal and no --yes', () => {
      const l = loop(64 * 1024 * 1024);
      const r = runCli(['flash', l.device, '--image', wic.image, '--force']);
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/no terminal to confirm erasing \/dev\/loop\d+: pass --yes/);
    });

    it('a partition instead of the whole disk, and a disk with a mounted partition even with --force', () => {
      const l = loop(64 * 1024 * 1024, { partscan: true });
      // give the disk the image's partition table, then let the kernel scan it
      execFileSync('dd', [`if=${wic.image}`, `of=${l.device}`, 'bs=1M', 'conv=fsync', 'status=none']);
      execFileSync('blockdev', ['--rereadpt', l.device]);
      const p1 = partitionNode(dir, l.device, 1);
      let r = runCli(['flash', p1, '--image', wic.image, '--yes']);
      expect(r.code).toBe(7);
      // too small as well; every reason is listed
      expect(r.stderr).toMatch(/^ {4}also: .*loop\d+p1 is a partition, not a whole disk \(the image has its own partition table\)$/m);

      const mnt = path.join(dir, 'mnt');
      mkdirSync(mnt, { recursive: true });
      // the root partition (ext4: this kernel has no vfat)
      const p2 = partitionNode(dir, l.device, 2);
      execFileSync('mount', ['-o', 'ro', p2, mnt]);
      try {
        const before = hashRange(l.device, 0, IMAGE_BYTES);
        r = runCli(['flash', l.device, '--image', wic.image, '--yes', '--force']);
        expect(r.code).toBe(7);
        expect(r.stderr).toMatch(
          new RegExp(`refusing to write to ${l.device}: ${path.basename(p2)} is mounted on ${mnt}: unmount it first`),
        );
        expect(hashRange(l.device, 0, IMAGE_BYTES)).toBe(before);
        // still mounted, its files intact
        expect(spawnSync('mountpoint', ['-q', mnt]).status).toBe(0);
        expect(readFileSync(path.join(mnt, 'etc', 'hostname'), 'utf8')).toBe('raspberrypi4-64\n');
        const list = runCli(['flash', '--list']);
        expect(list.code).toBe(0);
        expect(list.stdout).toMatch(
          new RegExp(
            `^${l.device}\\s+64\\.0 MiB\\s+loop \\(.*\\)\\s+loop\\s+no\\s+${path.basename(p2)}:${mnt}\\s+refused: ${path.basename(p2)} is mounted on ${mnt}`,
            'm',
          ),
        );
      } finally {
        execFileSync('umount', [mnt]);
      }
    });
  });

  it('--list marks a free loop disk as needing --force and says why, also as JSON', () => {
    const l = loop(64 * 1024 * 1024);
    const r = runCli(['flash', '--list', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ path: string; transport: string; refused: string[]; needsForce: string[] }>;
    const row = rows.find((x) => x.path === l.device)!;
    expect(row.transport).toBe('loop');
    expect(row.refused).toEqual([]);
    expect(row.needsForce).toEqual([`${l.device} is not a removable disk (loop)`]);
  });

  describe('faults end with a clear message and never with "Done"', () => {
    it('a truncated bz2', () => {
      const image = compress(wic.image, 'bzip2');
      const truncated = path.join(dir, 'truncated.wic.bz2');
      copyFileSync(image, truncated);
      truncateSync(truncated, Math.floor(readFileSync(image).length / 2));
      const r = runCli(['flash', path.join(dir, 'out-trunc.img'), '--image', truncated, '--bmap', wic.bmap, '--force', '--yes']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/^yoctoforge: error: the image .*truncated\.wic\.bz2 is corrupt or truncated \(\w*bzip2: .*\)$/m);
      expect(r.stdout).not.toMatch(/Done/);
    });

    it('a truncated image without a bmap is caught by the decompressor too', () => {
      const image = compress(wic.image, 'gzip');
      const truncated = path.join(dir, 'truncated.wic.gz');
      copyFileSync(image, truncated);
      truncateSync(truncated, Math.floor(readFileSync(image).length / 2));
      const r = runCli(['flash', path.join(dir, 'out-trunc-gz.img'), '--image', truncated, '--force', '--yes']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/is corrupt or truncated/);
      expect(r.stdout).not.toMatch(/Done/);
    });

    it('a bmap that belongs to another image', () => {
      const bad = path.join(dir, 'other.bmap');
      const text = readFileSync(wic.bmap, 'utf8');
      const second = [...text.matchAll(/chksum="([0-9a-f]+)"/g)][1]!;
      writeFileSync(
        bad,
        resealBmap(
          text.replace(
            second[1]!,
            second[1]!.replace(/^./, (c) => (c === '0' ? '1' : '0')),
          ),
        ),
      );
      const range = bmapRanges(text)[1]!;
      const r = runCli(['flash', path.join(dir, 'out-badbmap.img'), '--image', wic.image, '--bmap', bad, '--force', '--yes']);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(
        `yoctoforge: error: the image does not match its bmap: checksum mismatch in the range at offset ${range.start}`,
      );
    });

    it('a bmap whose image size differs from the image', () => {
      const bad = path.join(dir, 'size.bmap');
      writeFileSync(
        bad,
        resealBmap(
          readFileSync(wic.bmap, 'utf8')
            .replace(/<ImageSize>\s*\d+\s*<\/ImageSize>/, `<ImageSize> ${IMAGE_BYTES + 4096} </ImageSize>`)
            .replace(/<BlocksCount>\s*\d+/, `<BlocksCount> ${IMAGE_BYTES / 4096 + 1}`),
        ),
      );
      const r = runCli(['flash', path.join(dir, 'out-size.img'), '--image', wic.image, '--bmap', bad, '--force', '--yes']);
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/describes a 50335744-byte image but .* has 50331648 bytes: they do not belong together/);
    });

    it('a device that fails writes (a loop over a full tmpfs) is an I/O error', () => {
      const small = path.join(dir, 'small');
      mkdirSync(small, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4M', 'tmpfs', small]);
      try {
        const backing = path.join(small, 'disk.raw');
        execFileSync('truncate', ['-s', '64M', backing]);
        const device = execFileSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' }).trim();
        try {
          const r = runCli(['flash', device, '--image', wic.image, '--force', '--yes']);
          expect(r.code).toBe(6);
          expect(r.stderr).toMatch(
            new RegExp(`^yoctoforge: error: ${device} stopped accepting data .*\\(EIO\\): was the card removed or is it faulty\\?$`, 'm'),
          );
          expect(r.stdout).not.toMatch(/Done/);
        } finally {
          spawnSync('losetup', ['-d', device]);
        }
      } finally {
        execFileSync('umount', [small]);
      }
    });

    it('a compressed image without a bmap that is larger than the device: said so, by size where the format records it', () => {
      const image = compress(wic.image, 'zstd');
      const l = loop(32 * 1024 * 1024);
      const r = runCli(['flash', l.device, '--image', image, '--no-bmap', '--force', '--yes']);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/^yoctoforge: error: the image is larger than \/dev\/loop\d+: no space left at offset \d+$/m);
      // xz records the image's length: refused before writing, with both sizes, not "xz: killed by SIGPIPE"
      const xz = compress(wic.image, 'xz-multi');
      const refused = runCli(['flash', l.device, '--image', xz, '--no-bmap', '--force', '--yes']);
      expect(refused.code).toBe(7);
      expect(refused.stderr).toMatch(/has 32\.0 MiB, the image needs 48\.0 MiB/);
    });

    it('SIGTERM mid-write exits 130 and leaves no partition table behind', async () => {
      const image = compress(wic.image, 'bzip2');
      const l = loop(64 * 1024 * 1024);
      // the library bz2 decoder is slow enough to be caught mid-write
      const child = spawn(process.execPath, [CLI, 'flash', l.device, '--image', image, '--force', '--yes'], {
        env: { ...process.env, CI: 'true', YOCTOFORGE_DECOMPRESSOR: 'library', YOCTOFORGE_PROGRESS_INTERVAL: '0' },
      });
      let stdout = '';
      let stderr = '';
      let signalled = false;
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (!signalled && /Writing: /.test(stdout)) {
            signalled = true;
            child.kill('SIGTERM');
          }
        });
        child.on('close', resolve);
      });
      expect(code, stderr).toBe(130);
      expect(stderr).toMatch(/interrupted by SIGTERM: \/dev\/loop\d+ is incomplete and has no partition table; flash it again/);
      expect(stdout).not.toMatch(/Done/);
      expect(readFileSync(l.backing).subarray(0, 1024 * 1024)).toEqual(Buffer.alloc(1024 * 1024));
      expect(spawnSync('sfdisk', ['--dump', l.device]).status).not.toBe(0);
    });
  });

  it('read-back verification bypasses the page cache: corruption of the medium after the write is found at its offset', async () => {
    const { writeImage } = await import('../../src/flash/writer.js');
    const { openReadBack } = await import('../../src/flash/verify.js');
    const { readBmap } = await import('../../src/flash/signature.js');
    const { createReadStream } = await import('node:fs');
    const l = loop(64 * 1024 * 1024);
    const { bmap } = await readBmap(wic.bmap);
    // Linux drops a block device's page cache on its last close; an open reader keeps it alive,
    // as a desktop's automounter or a udev probe would on a real machine
    const holder = openSync(l.device, 'r');
    onTestFinished(() => closeSync(holder));
    const written = await writeImage({
      source: createReadStream(wic.image),
      device: l.device,
      bmap,
      isBlockDevice: true,
      deviceSize: 64 * 1024 * 1024,
      checkRanges: true,
    });
    // the device's page cache still holds the good data; only the medium (the backing file) changes
    const victim = bmap.ranges.find((r) => r.start >= 1024 * 1024 && r.end - r.start > 16384)!;
    const badOffset = victim.start + 8192 + 100;
    const fd = openSync(l.backing, 'r+');
    const original = Buffer.alloc(9);
    readSync(fd, original, 0, 9, badOffset);
    writeSync(
      fd,
      original.map((b) => b ^ 0xff),
      0,
      9,
      badOffset,
    );
    closeSync(fd);
    const reference = async (): Promise<{ chunks: AsyncIterable<Buffer>; stop: () => void }> => {
      const chunks = createReadStream(wic.image);
      return { chunks, stop: () => chunks.destroy() };
    };
    const readBack = await openReadBack(l.device, { reference });
    onTestFinished(() => readBack.close());
    expect(readBack.bypassedPageCache).toBe(true);
    await expect(Promise.all(written.expected.map((range) => readBack.check(range)))).rejects.toThrow(
      `differs from the image at offset ${badOffset} (0x${badOffset.toString(16)})`,
    );
  });

  describe('chooses the image of a build', () => {
    const project = (): string => {
      const p = path.join(dir, `project-${Math.random().toString(36).slice(2, 8)}`);
      mkdirSync(p, { recursive: true });
      writeFileSync(
        path.join(p, 'layers.yaml'),
        'version: 1\nseries: scarthgap\nrepos:\n  poky:\n    url: https://git.example.invalid/poky\ntargets:\n  pi:\n    image: core-image-test\n    machine: raspberrypi4-64\n',
      );
      return p;
    };
    const deploy = (p: string): string => {
      const d = path.join(p, 'build', 'pi', 'tmp', 'deploy', 'images', 'raspberrypi4-64');
      mkdirSync(d, { recursive: true });
      return d;
    };

    it('from report.json: the newest image with a bmap beside it', () => {
      const p = project();
      const d = deploy(p);
      const stamped = path.join(d, 'core-image-test-raspberrypi4-64.rootfs-20261123000000.wic.bz2');
      copyFileSync(compress(wic.image, 'zstd').replace(/\.zst$/, '.zst'), stamped.replace(/\.bz2$/, '.zst'));
      copyFileSync(compress(wic.image, 'bzip2'), stamped);
      copyFileSync(wic.bmap, path.join(d, 'core-image-test-raspberrypi4-64.rootfs-20261123000000.wic.bmap'));
      writeFileSync(
        path.join(p, 'build', 'pi', 'report.json'),
        buildReportJson({
          target: 'pi',
          artifacts: [
            { path: path.relative(p, stamped), type: 'wic.bz2', size: 1 },
            { path: path.relative(p, stamped.replace(/\.bz2$/, '.zst')), type: 'wic.zst', size: 1 },
          ],
        }),
      );
      const out = path.join(dir, 'from-report.img');
      const r = runCli(['flash', out, '--force', '--yes'], { cwd: p });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Image: ${stamped} (report.json of target pi; bz2, 48.0 MiB)`);
      expect(r.stdout).toMatch(/Bmap: .*rootfs-20261123000000\.wic\.bmap/);
    });

    it('without a report: the stable link in the deploy directory', () => {
      const p = project();
      const d = deploy(p);
      const stamped = path.join(d, 'core-image-test-raspberrypi4-64.rootfs-20261122000000.wic.xz');
      copyFileSync(compress(wic.image, 'xz-multi'), stamped);
      symlinkSync(path.basename(stamped), path.join(d, 'core-image-test-raspberrypi4-64.rootfs.wic.xz'));
      copyFileSync(wic.bmap, path.join(d, 'core-image-test-raspberrypi4-64.rootfs-20261122000000.wic.bmap'));
      symlinkSync(
        'core-image-test-raspberrypi4-64.rootfs-20261122000000.wic.bmap',
        path.join(d, 'core-image-test-raspberrypi4-64.rootfs.wic.bmap'),
      );
      const r = runCli(['flash', path.join(dir, 'from-deploy.img'), '--force', '--yes'], { cwd: p });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Image: ${stamped} (deploy directory of target pi; xz`);
    });

    it('says what to do when there is no image and no project', () => {
      const p = project();
      let r = runCli(['flash', path.join(dir, 'none.img'), '--force', '--yes'], { cwd: p });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^yoctoforge: error: no image of target pi in build\/pi: run `yoctoforge build pi` first, or pass --image FILE$/m,
      );
      const empty = path.join(dir, 'empty');
      mkdirSync(empty, { recursive: true });
      r = runCli(['flash', path.join(dir, 'none.img'), '--yes'], { cwd: empty });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no layers\.yaml in .*empty: pass --image FILE/);
      expect(existsSync(path.join(dir, 'none.img'))).toBe(false);
    });
  });
});
