// yoctoforge flash against `bmaptool copy`, the reference, on the same inputs, byte for byte:
// generated images of several sizes (one block up to more than every buffer and pipe in the
// path: 64 KiB pipes, 4 MiB reads, 8 MiB write buffers, the 32 MiB decompressor queue) in every
// format, bmaptool's own test data, and any image set named in YOCTOFORGE_FLASH_IMAGE_SETS
// (folders, separated by ":", of images with their bmaps beside them: `X.img.xz` with
// `X.img.bmap*`, as in test/flash/bmaptool-data). Output goes to regular files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSparseImage, pack, type Packing } from '../helpers/disk-fixtures.js';
import { runCli, tempDir } from '../helpers/git-fixtures.js';

const hasBmaptool = spawnSync('bmaptool', ['--version']).status === 0;
if (!hasBmaptool) console.warn('differential flash tests skipped: bmaptool is not installed (scripts/test-host-setup.sh installs it)');

const dir = tempDir('yf-flash-diff-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bmaptoolCopy(image: string, bmap: string | undefined, out: string): void {
  rmSync(out, { force: true });
  const r = spawnSync('bmaptool', ['-q', 'copy', ...(bmap ? ['--bmap', bmap] : ['--nobmap']), image, out], { encoding: 'utf8' });
  expect(r.status, `bmaptool copy ${image}: ${r.stderr}`).toBe(0);
}

function ourFlash(image: string, bmap: string | undefined, out: string, extra: string[] = []): void {
  rmSync(out, { force: true });
  const r = runCli(['flash', out, '--image', image, ...(bmap ? ['--bmap', bmap] : ['--no-bmap']), '--force', '--yes', '--json', ...extra]);
  expect(r.code, `${image}: ${r.stderr}`).toBe(0);
  const result = JSON.parse(r.stdout) as { result: string; verified: boolean };
  expect(result).toMatchObject({ result: 'success', verified: true });
}

function expectSameFile(ours: string, reference: string): void {
  const a = readFileSync(ours);
  const b = readFileSync(reference);
  expect(a.length, 'length').toBe(b.length);
  // not toEqual on the buffers: a mismatch would print megabytes
  const first = a.findIndex((byte, i) => byte !== b[i]);
  expect(first, 'first differing byte').toBe(-1);
}

/** bmaptool 3.6 reads everything but a plain tar, which it writes as it is */
const BMAPTOOL_READS = (p: Packing): boolean => p !== 'tar';
const PACKINGS: Packing[] = [
  'raw',
  'bz2',
  'xz',
  'gz',
  'zst',
  'lz4',
  'lzo',
  'zip',
  'tar',
  'tar.gz',
  'tar.bz2',
  'tar.xz',
  'tar.zst',
  'tar.lz4',
];
const SIZES = [4096, 131072, 196608 + 1000, 3 * 1024 * 1024 + 512, 40 * 1024 * 1024];
/** the largest size in every format costs minutes on a busy machine: the formats that differ in how they are read */
const LARGE_PACKINGS: Packing[] = ['raw', 'bz2', 'xz', 'gz', 'zst', 'zip', 'tar.lz4'];

describe.skipIf(!hasBmaptool)('flash writes what bmaptool writes', () => {
  for (const size of SIZES) {
    describe(`a ${size}-byte image`, () => {
      const image = path.join(dir, `size-${size}`, 'disk.img');
      const bmap = `${image}.bmap`;
      const make = (): void => {
        if (existsSync(bmap)) return;
        mkdirSync(path.dirname(image), { recursive: true });
        makeSparseImage(image, size, size);
        const r = spawnSync('bmaptool', ['-q', 'create', '-o', bmap, image], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
      };
      it.each(size > 8 * 1024 * 1024 ? LARGE_PACKINGS : PACKINGS)(
        '%s, with its bmap and without',
        (packing) => {
          make();
          const file = pack(image, packing);
          const ours = path.join(dir, 'ours.img');
          const theirs = path.join(dir, 'theirs.img');
          bmaptoolCopy(BMAPTOOL_READS(packing) ? file : image, bmap, theirs);
          ourFlash(file, bmap, ours);
          expectSameFile(ours, theirs);
          // unmapped ranges are holes: no more allocated than the mapped data (plus what a file
          // system may allocate ahead)
          const mapped = Number(/<MappedBlocksCount>\s*(\d+)/.exec(readFileSync(bmap, 'utf8'))![1]) * 4096;
          expect(statSync(ours).blocks * 512).toBeLessThanOrEqual(mapped + 256 * 1024);
          if (packing !== 'raw') {
            ourFlash(file, undefined, ours);
            expectSameFile(ours, image);
          }
          if (file !== image) rmSync(file);
        },
        300_000,
      );
    });
  }
});

/** Image sets: each image with each bmap whose name starts with the image's, or without a bmap. */
function imageSets(): Array<{ name: string; image: string; bmap?: string }> {
  const here = path.join(path.dirname(new URL(import.meta.url).pathname), 'bmaptool-data');
  const dirs = [here, ...(process.env.YOCTOFORGE_FLASH_IMAGE_SETS ?? '').split(':').filter(Boolean)];
  const cases: Array<{ name: string; image: string; bmap?: string }> = [];
  for (const set of dirs) {
    const files = readdirSync(set).filter((f) => statSync(path.join(set, f)).isFile());
    const images = files.filter((f) => !/\.bmap|\.(asc|sig|md)$/.test(f));
    for (const image of images) {
      const stem = image.replace(/\.(bz2|gz|xz|zst|lz4|lzo|zip|tar)$/, '').replace(/\.tar$/, '');
      const bmaps = files.filter((f) => f.startsWith(`${stem}.bmap`) && !/\.(asc|sig)$/.test(f));
      if (bmaps.length === 0) cases.push({ name: `${path.basename(set)}/${image}`, image: path.join(set, image) });
      for (const b of bmaps)
        cases.push({ name: `${path.basename(set)}/${image} + ${b}`, image: path.join(set, image), bmap: path.join(set, b) });
    }
  }
  return cases;
}

describe.skipIf(!hasBmaptool)('image sets (bmaptool test data, YOCTOFORGE_FLASH_IMAGE_SETS)', () => {
  it.each(imageSets())('$name', ({ image, bmap }) => {
    const ours = path.join(dir, 'set-ours.img');
    const theirs = path.join(dir, 'set-theirs.img');
    bmaptoolCopy(image, bmap, theirs);
    // bmaptool takes any file as an image; an image set is trusted to hold images
    ourFlash(image, bmap, ours, ['--raw']);
    expectSameFile(ours, theirs);
  });
});
