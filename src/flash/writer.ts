import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { formatSize } from '../util/units.js';
import type { Bmap } from './bmap.js';
import type { PositionedChunk } from './decompress.js';
import { BmapError, DeviceError } from './errors.js';
import { RangeWalker, type ExpectedRange } from './range-walker.js';
import { HEAD_BYTES, WriteQueue } from './write-queue.js';

export { HEAD_BYTES } from './write-queue.js';

/**
 * With a read-back checker, the written data is made durable every this many bytes and the ranges
 * completed so far are read back while the decompressor goes on: verification hides behind
 * decompression instead of following it.
 */
function readBackEvery(): number {
  const mib = Number(process.env.YOCTOFORGE_READ_BACK_EVERY_MIB ?? 64);
  return (Number.isFinite(mib) && mib > 0 ? mib : 64) * 1024 * 1024;
}

export interface WriteProgress {
  phase: 'write' | 'verify';
  /** bytes written (or verified) so far, and out of how many; total 0 when unknown */
  done: number;
  total: number;
}

export interface WriteResult {
  /** bytes of image data (its full size without a bmap) */
  imageSize: number;
  bytesWritten: number;
  /** what verification compares against: per range (bmap) or the whole image */
  expected: ExpectedRange[];
  /** starts of the ranges already read back and found equal during the write */
  readBackDuringWrite: Set<number>;
}

async function openDevice(device: string, isBlockDevice: boolean): Promise<FileHandle> {
  // a regular file is truncated first: unmapped ranges must read as zeros (holes), not as its old content
  const flags = constants.O_WRONLY | (isBlockDevice ? constants.O_EXCL : constants.O_CREAT | constants.O_TRUNC);
  try {
    return await open(device, flags, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EBUSY') throw new DeviceError(`${device} is busy (mounted or opened exclusively by another program): unmount it first`);
    throw new DeviceError(`cannot open ${device} for writing: ${code ?? (error as Error).message}`);
  }
}

/**
 * Streams the decompressed image onto the device: only the bmap's mapped ranges when there is a
 * bmap, everything otherwise. The range walker checks each range's checksum as its data goes by,
 * so a corrupt image is caught before anything is called a success; the write queue writes.
 */
export async function writeImage(opts: {
  /**
   * The image from its start; a chunk may be `{ at, data }` to skip forward (an uncompressed image
   * read sparsely: what lies between is unmapped and never read).
   */
  source: AsyncIterable<Buffer | PositionedChunk>;
  device: string;
  bmap?: Bmap;
  isBlockDevice: boolean;
  /** the device's size, to clear a stale backup GPT in its last MiB */
  deviceSize?: number;
  onProgress?: (p: WriteProgress) => void;
  /** reads a written, durable range back and rejects when it differs (see verify.ts) */
  readBack?: (range: ExpectedRange) => Promise<void>;
  /** check each mapped range against the bmap's checksum as it passes (off with --no-verify) */
  checkRanges: boolean;
}): Promise<WriteResult> {
  const { bmap } = opts;
  const handle = await openDevice(opts.device, opts.isBlockDevice);
  /** `at` is undefined for a failed flush: the kernel does not say which write it could not complete */
  const fail = (error: unknown, at: number | undefined): never => {
    const code = (error as NodeJS.ErrnoException).code;
    const where = at === undefined ? 'while flushing written data' : `at offset ${at}`;
    if (code === 'ENOSPC') {
      const size = bmap ? ` (${formatSize(bmap.imageSize)})` : '';
      throw new DeviceError(`the image${size} is larger than ${opts.device}: no space left ${where}`, at);
    }
    if (code === 'EIO' || code === 'ENODEV' || code === 'ENXIO')
      throw new DeviceError(`${opts.device} stopped accepting data ${where} (${code}): was the card removed or is it faulty?`, at);
    throw error;
  };
  const queue = new WriteQueue(handle, fail);
  const walker = new RangeWalker(bmap, opts.checkRanges);
  const total = bmap ? bmap.ranges.reduce((n, r) => n + r.end - r.start, 0) : 0;
  const durableEvery = readBackEvery();
  let durableAt = 0;
  let handedOver = 0; // ranges of `walker.expected` already considered for read-back
  const readBackChecks: Promise<void>[] = [];
  const readBackDuringWrite = new Set<number>();
  let lastReport = 0;

  /** everything so far onto the medium, then the completed ranges to the read-back checker */
  const handOverForReadBack = async (): Promise<void> => {
    await queue.durable();
    durableAt = queue.written;
    for (; handedOver < walker.expected.length; handedOver++) {
      const range = walker.expected[handedOver]!;
      if (range.start < HEAD_BYTES) continue; // the head is written last
      const check = opts.readBack!(range);
      check.catch(() => undefined);
      readBackChecks.push(check);
      readBackDuringWrite.add(range.start);
    }
  };

  try {
    // a regular file starts empty (O_TRUNC) and stays sparse: only a device has old data to clear
    if (opts.isBlockDevice) await clearHeadAndTail(handle, opts.deviceSize).catch((e: unknown) => fail(e, 0));
    for await (const item of opts.source) {
      let chunk: Buffer;
      if (Buffer.isBuffer(item)) {
        chunk = item;
      } else {
        walker.seek(item.at);
        chunk = item.data;
      }
      await walker.walk(chunk, (piece, at) => queue.write(piece, at));
      if (opts.readBack && bmap && queue.written - durableAt >= durableEvery) await handOverForReadBack();
      if (bmap && walker.offset > bmap.imageSize)
        throw new BmapError(
          `the image is larger than its bmap says (${bmap.imageSize} bytes): the bmap belongs to another image`,
          bmap.imageSize,
        );
      const now = Date.now();
      if (opts.onProgress && now - lastReport > 200) {
        lastReport = now;
        opts.onProgress({ phase: 'write', done: queue.pending, total });
      }
    }
    if (bmap && walker.offset !== bmap.imageSize) {
      throw new BmapError(
        `the image has ${walker.offset} bytes but its bmap says ${bmap.imageSize}: the bmap belongs to another image, or the image is truncated`,
        walker.offset,
      );
    }
    if (!bmap) walker.finishWholeImage();
    const imageSize = bmap ? bmap.imageSize : walker.offset;
    if (!opts.isBlockDevice) await handle.truncate(imageSize);
    await queue.durable();
    await queue.writeHead();
    opts.onProgress?.({ phase: 'write', done: queue.written, total: bmap ? total : queue.written });
    await Promise.all(readBackChecks);
    return { imageSize, bytesWritten: queue.written, expected: walker.expected, readBackDuringWrite };
  } finally {
    await Promise.allSettled(readBackChecks);
    await queue.settle();
    await handle.close().catch(() => undefined);
  }
}

/** Zeroes the first MiB (and the last, where a stale backup GPT would live) before writing. */
async function clearHeadAndTail(handle: FileHandle, deviceSize: number | undefined): Promise<void> {
  const zeros = Buffer.alloc(HEAD_BYTES);
  await handle.write(zeros, 0, HEAD_BYTES, 0);
  if (deviceSize && deviceSize >= 2 * HEAD_BYTES) await handle.write(zeros, 0, HEAD_BYTES, deviceSize - HEAD_BYTES);
  await handle.sync();
}
