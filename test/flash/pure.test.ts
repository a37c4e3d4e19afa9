// The pure parts of flash: bmap parsing, format detection, refusal rules. No root, no loop devices.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBmap } from '../../src/flash/bmap.js';
import { refusals, type DeviceInfo } from '../../src/flash/device.js';
import { BmapError, ImageError } from '../../src/flash/errors.js';
import { codecOf, detectFormat, diskSign } from '../../src/flash/formats.js';
import { peekDecompressed } from '../../src/flash/decompress.js';
import { readBmap } from '../../src/flash/signature.js';
import { tempDir } from '../helpers/git-fixtures.js';

const data = path.join(path.dirname(new URL(import.meta.url).pathname), 'bmaptool-data');
const dir = tempDir('yf-flash-pure-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bmapFile = (v: string): Buffer => readFileSync(path.join(data, `test.image.bmap.v${v}`));

describe('bmap parsing (bmaptool test data)', () => {
  it.each(['1.2', '1.3', '1.4', '2.0'])('reads format %s with the same ranges', (v) => {
    const bmap = parseBmap(bmapFile(v), `v${v}`);
    expect(bmap).toMatchObject({ version: v, imageSize: 821752, blockSize: 4096, blocksCount: 201, mappedBlocksCount: 117 });
    expect(bmap.ranges.length).toBeGreaterThan(0);
    // the same blocks mapped (older bmaptool versions cut the ranges differently)
    const blocks = (ranges: Array<{ start: number; end: number }>): number[] =>
      ranges.flatMap((r) => Array.from({ length: Math.ceil((r.end - r.start) / 4096) }, (_, i) => r.start / 4096 + i));
    expect(blocks(bmap.ranges)).toEqual(blocks(parseBmap(bmapFile('2.0'), 'v2.0').ranges));
    // 1.2 has SHA-1 range checksums but no checksum of the file itself
    expect(bmap.checksumType).toBe({ '1.2': 'sha1', '1.3': 'sha1', '1.4': 'sha256', '2.0': 'sha256' }[v]);
    expect(bmap.ranges.every((r) => /^[0-9a-f]{40,64}$/.test(r.checksum ?? ''))).toBe(true);
  });

  it.each(['1.3', '1.4', '2.0'])('refuses a format %s bmap whose own checksum does not match (a range removed, the count lowered)', (v) => {
    const text = bmapFile(v).toString();
    const range = /^\s*<Range[^\n]*\n/m.exec(text)!;
    const count = Number(/<MappedBlocksCount>\s*(\d+)/.exec(text)![1]);
    const blocks = /> *(\d+)(?:-(\d+))? *</.exec(range[0])!;
    const removed = blocks[2] ? Number(blocks[2]) - Number(blocks[1]) + 1 : 1;
    const damaged = text.replace(range[0], '').replace(/<MappedBlocksCount>\s*\d+/, `<MappedBlocksCount> ${count - removed}`);
    expect(() => parseBmap(Buffer.from(damaged), 'damaged')).toThrow(BmapError);
    expect(() => parseBmap(Buffer.from(damaged), 'damaged')).toThrow(/checksum mismatch for the bmap file itself/);
  });

  it('reads a bmap made with `bmaptool create --no-checksum`', () => {
    const image = path.join(dir, 'nochk.img');
    writeFileSync(image, Buffer.alloc(8192, 1));
    const xml = execFileSync('bmaptool', ['-q', 'create', '--no-checksum', image]);
    const bmap = parseBmap(xml, 'nochk');
    expect(bmap.mappedBlocksCount).toBe(2);
    expect(bmap.ranges).toEqual([{ start: 0, end: 8192 }]);
  });

  it('parses a bmap with thousands of spaces after <ImageSize> in linear time', () => {
    const text = bmapFile('1.2')
      .toString()
      .replace('<ImageSize> 821752', `<ImageSize> 821752${' '.repeat(200_000)}`);
    const started = performance.now();
    expect(parseBmap(Buffer.from(text), 'spaces').imageSize).toBe(821752);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses DOCTYPE and entities (XXE, billion laughs)', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE bmap [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><bmap version="2.0"><ImageSize>&b;</ImageSize></bmap>`;
    expect(() => parseBmap(Buffer.from(laughs), 'laughs')).toThrow(/DOCTYPE or ENTITY/);
    const xxe = `<?xml version="1.0"?><!DOCTYPE bmap [<!ENTITY x SYSTEM "file:///etc/passwd">]><bmap version="2.0"><ImageSize>&x;</ImageSize></bmap>`;
    expect(() => parseBmap(Buffer.from(xxe), 'xxe')).toThrow(/DOCTYPE or ENTITY/);
  });

  it('names what is wrong in a broken bmap', () => {
    expect(() => parseBmap(Buffer.from('<bmap version="3.0"></bmap>'), 'b')).toThrow(/format 3.0 is not supported/);
    expect(() => parseBmap(Buffer.from('<notbmap/>'), 'b')).toThrow(/not a bmap file/);
    expect(() => parseBmap(Buffer.from('<bmap version="1.2"><ImageSize>x</ImageSize>'), 'b')).toThrow(BmapError);
  });

  it('refuses a FIFO as the bmap instead of hanging', async () => {
    const fifo = path.join(dir, 'fifo.bmap');
    execFileSync('mkfifo', [fifo]);
    await expect(readBmap(fifo)).rejects.toThrow(/is not a regular file/);
  });
});

describe('formats by content', () => {
  it('knows the compressors by their magic bytes', () => {
    expect(codecOf(Buffer.from('BZh91AY&SY'))).toBe('bz2');
    expect(codecOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe('xz');
    expect(codecOf(Buffer.from([0x1f, 0x8b, 8]))).toBe('gz');
    expect(codecOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zst');
    expect(codecOf(Buffer.from([0x04, 0x22, 0x4d, 0x18]))).toBe('lz4');
    expect(codecOf(Buffer.from([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('lzo');
    expect(codecOf(Buffer.from('BZh'))).toBeUndefined();
  });

  it('a raw file needs a partition table or a superblock, or --raw', async () => {
    const noise = path.join(dir, 'noise.bin');
    writeFileSync(noise, Buffer.alloc(65536, 0x42));
    await expect(detectFormat(noise, { peek: peekDecompressed })).rejects.toThrow(ImageError);
    await expect(detectFormat(noise, { peek: peekDecompressed })).rejects.toThrow(/pass --raw/);
    expect((await detectFormat(noise, { raw: true, peek: peekDecompressed })).compression).toBe('none');
    const mbr = Buffer.alloc(65536);
    mbr.writeUInt16LE(0xaa55, 510);
    expect(diskSign(mbr)).toBe('MBR or FAT boot sector');
    const ext4 = path.join(dir, 'ext4.img');
    execFileSync('truncate', ['-s', '4M', ext4]);
    execFileSync('mkfs.ext4', ['-q', '-F', ext4]);
    expect((await detectFormat(ext4, { peek: peekDecompressed })).label).toBe('uncompressed');
  });

  it('an archive with two files is refused with their names; --member chooses', async () => {
    const sub = path.join(dir, 'two');
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'a.img'), Buffer.alloc(4096, 1));
    writeFileSync(path.join(sub, 'b.img'), Buffer.alloc(8192, 2));
    execFileSync('tar', ['-cJf', 'two.tar.xz', 'a.img', 'b.img'], { cwd: sub });
    execFileSync('zip', ['-q', 'two.zip', 'a.img', 'b.img'], { cwd: sub });
    for (const archive of ['two.tar.xz', 'two.zip']) {
      const file = path.join(sub, archive);
      await expect(detectFormat(file, { peek: peekDecompressed })).rejects.toThrow(
        /holds 2 files, name the image with --member: a\.img \(4\.0 KiB\), b\.img \(8\.0 KiB\)/,
      );
      expect(await detectFormat(file, { member: 'b.img', peek: peekDecompressed })).toMatchObject({
        member: 'b.img',
        recordedLength: 8192,
      });
      await expect(detectFormat(file, { member: 'c.img', peek: peekDecompressed })).rejects.toThrow(
        /has no file c\.img; it holds: a\.img, b\.img/,
      );
    }
  });
});

describe('refusal rules', () => {
  const disk = (over: Partial<DeviceInfo>): DeviceInfo => ({
    path: '/dev/sdz',
    kind: 'disk',
    size: 2 * 1024 * 1024,
    inUse: [],
    system: false,
    partitions: [],
    removable: true,
    ...over,
  });

  it('a device smaller than the image says both sizes in units that fit', () => {
    expect(refusals(disk({}), 48 * 1024 * 1024).map((r) => r.reason)).toContain('/dev/sdz has 2.0 MiB, the image needs 48.0 MiB');
  });

  it('the running system disk is refused without advice to unmount its root', () => {
    const reasons = refusals(disk({ system: true, inUse: ['sdz2 is mounted on /'] }), 0).map((r) => r.reason);
    expect(reasons[0]).toMatch(/holds the running system's root or boot filesystem/);
    expect(reasons.join('\n')).not.toMatch(/unmount/);
    expect(refusals(disk({ inUse: ['sdz1 is mounted on /media/card'] }), 0).map((r) => r.reason)).toContain(
      'sdz1 is mounted on /media/card: unmount it first',
    );
  });
});
