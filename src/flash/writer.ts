import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { formatSize } from '../util/units.js';
import type { Bmap } from './bmap.js';
import type { PositionedChunk } from './decompress.js';
import { BmapError, DeviceError, ImageError } from './errors.js';

/** Small chunks (a decompressor's 64 KiB pipe reads) are gathered into writes of this size. */
const WRITE_BUFFER = 8 * 1024 * 1024;
/** Chunks at least this large are written as they come, without a copy. */
const DIRECT_WRITE = 1024 * 1024;
const WRITES_IN_FLIGHT = 3;
/**
 * With a read-back checker, the written data is made durable every this many bytes and the ranges
 * completed so far are read back while the decompressor goes on: verification hides behind
 * decompression instead of following it.
 */
function readBackEvery(): number {
  const mib = Number(process.env.YOCTOFORGE_READ_BACK_EVERY_MIB ?? 64);
  return (Number.isFinite(mib) && mib > 0 ? mib : 64) * 1024 * 1024;
}
/**
 * The first MiB (partition table, boot sector) is zeroed before anything else and written last,
 * after everything else is on the medium: an interrupted flash leaves a card with no partition
 * table rather than one that looks bootable and is half written.
 */
export const HEAD_BYTES = 1024 * 1024;

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
  expected: Array<{ start: number; end: number; algorithm: string; digest: string }>;
  /** starts of the ranges already read back and found equal during the write */
  readBackDuringWrite: Set<number>;
}

interface Segment {
  start: number;
  end: number;
  checksum?: string;
}

/**
 * Streams the decompressed image onto the device: only the bmap's mapped ranges when there is a
 * bmap, everything otherwise. Each range's checksum is checked as its data goes by, so a corrupt
 * image is caught before anything is called a success. Large writes at their offsets, a few in
 * flight while the decompressor keeps going, one fsync at the end.
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
  readBack?: (range: WriteResult['expected'][number]) => Promise<void>;
  /** check each mapped range against the bmap's checksum as it passes (off with --no-verify) */
  checkRanges: boolean;
}): Promise<WriteResult> {
  const { bmap } = opts;
  // a bmap without checksums (before format 1.3, or `bmaptool create --no-checksum`): the
  // read-back compares against digests of the decompressed stream
  const algorithm = bmap?.checksumType ?? 'sha256';
  // a regular file is truncated first: unmapped ranges must read as zeros, not as its old content
  const flags = constants.O_WRONLY | (opts.isBlockDevice ? constants.O_EXCL : constants.O_CREAT | constants.O_TRUNC);
  let handle: FileHandle;
  try {
    handle = await open(opts.device, flags, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EBUSY') throw new DeviceError(`${opts.device} is busy (mounted or opened exclusively by another program): unmount it first`);
    throw new DeviceError(`cannot open ${opts.device} for writing: ${code ?? (error as Error).message}`);
  }
  const segments: Segment[] = bmap ? bmap.ranges.map((r) => ({ start: r.start, end: r.end, checksum: opts.checkRanges ? r.checksum : undefined })) : [{ start: 0, end: Number.MAX_SAFE_INTEGER }];
  const total = bmap ? bmap.ranges.reduce((n, r) => n + r.end - r.start, 0) : 0;
  const expected: WriteResult['expected'] = [];

  let offset = 0; // position in the decompressed image
  let segIndex = 0;
  let segHash: Hash | undefined = createHash(algorithm);
  let written = 0;
  const head = Buffer.alloc(HEAD_BYTES);
  let headLength = 0;
  // gathered small chunks; buffers come back to the pool when their write completes
  const pool: Buffer[] = [];
  let buffer: Buffer | undefined;
  let bufferStart = 0;
  let bufferLength = 0;
  const inFlight: Promise<void>[] = [];
  let lastReport = 0;
  let sinceDurable = 0;
  const durableEvery = readBackEvery();
  let handedOver = 0; // ranges of `expected` already considered for read-back
  const readBackChecks: Promise<void>[] = [];
  const readBackDuringWrite = new Set<number>();

  /** `at` is undefined for a failed flush: the kernel does not say which write it could not complete */
  const fail = (error: unknown, at: number | undefined): never => {
    const code = (error as NodeJS.ErrnoException).code;
    const where = at === undefined ? 'while flushing written data' : `at offset ${at}`;
    if (code === 'ENOSPC') {
      const size = bmap ? ` (${formatSize(bmap.imageSize)})` : '';
      throw new DeviceError(`the image${size} is larger than ${opts.device}: no space left ${where}`, at);
    }
    if (code === 'EIO' || code === 'ENODEV' || code === 'ENXIO') throw new DeviceError(`${opts.device} stopped accepting data ${where} (${code}): was the card removed or is it faulty?`);
    throw error;
  };
  /** queues a write; waits only when too many are in flight */
  const submit = async (data: Buffer, position: number, release?: Buffer): Promise<void> => {
    const pending = handle.write(data, 0, data.length, position).then(
      (r) => {
        if (r.bytesWritten !== data.length) fail(Object.assign(new Error('short write'), { code: 'ENOSPC' }), position + r.bytesWritten);
        if (release) pool.push(release);
      },
      (e: unknown) => fail(e, position),
    );
    // awaited below or at the end; marked handled now so a failure is not an unhandled rejection meanwhile
    pending.catch(() => undefined);
    inFlight.push(pending);
    written += data.length;
    sinceDurable += data.length;
    while (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
  };
  const flushBuffer = async (): Promise<void> => {
    if (!buffer || bufferLength === 0) return;
    const full = buffer;
    const data = full.subarray(0, bufferLength);
    buffer = undefined;
    bufferLength = 0;
    await submit(data, bufferStart, full);
  };
  const emit = async (data: Buffer, at: number): Promise<void> => {
    if (at < HEAD_BYTES) {
      const n = Math.min(data.length, HEAD_BYTES - at);
      data.copy(head, at, 0, n);
      headLength = Math.max(headLength, at + n);
      written += n;
      data = data.subarray(n);
      at += n;
      if (data.length === 0) return;
    }
    if (buffer && bufferStart + bufferLength !== at) await flushBuffer();
    if (!buffer && data.length >= DIRECT_WRITE) {
      await submit(data, at);
      return;
    }
    for (let pos = 0; pos < data.length; ) {
      if (!buffer) {
        buffer = pool.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER);
        bufferStart = at + pos;
      }
      const n = data.copy(buffer, bufferLength, pos);
      bufferLength += n;
      pos += n;
      if (bufferLength === WRITE_BUFFER) await flushBuffer();
    }
  };
  const closeSegment = (): void => {
    const seg = segments[segIndex]!;
    const digest = segHash!.digest('hex');
    if (seg.checksum && digest !== seg.checksum) {
      throw new BmapError(
        `the image does not match its bmap: checksum mismatch in the range at offset ${seg.start} (bytes ${seg.start}-${seg.end - 1}); the bmap belongs to another image, or the image was changed`,
        seg.start,
      );
    }
    expected.push({ start: seg.start, end: seg.end, algorithm, digest });
    segIndex++;
    segHash = segIndex < segments.length ? createHash(algorithm) : undefined;
  };
  const syncOrFail = async (): Promise<void> => {
    await handle.sync().catch((e: unknown) => fail(e, undefined));
  };
  /** everything so far onto the medium, then the completed ranges to the read-back checker */
  const handOverForReadBack = async (): Promise<void> => {
    await flushBuffer();
    await Promise.all(inFlight.splice(0));
    await syncOrFail();
    sinceDurable = 0;
    for (; handedOver < expected.length; handedOver++) {
      const range = expected[handedOver]!;
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
        if (item.at < offset) throw new ImageError(`positioned chunk at ${item.at} goes back from ${offset}`);
        offset = item.at;
        chunk = item.data;
      }
      let pos = 0;
      while (pos < chunk.length && segIndex < segments.length) {
        const seg = segments[segIndex]!;
        const chunkStart = offset + pos;
        if (chunkStart < seg.start) {
          pos = Math.min(chunk.length, pos + (seg.start - chunkStart));
          continue;
        }
        const n = Math.min(chunk.length - pos, seg.end - chunkStart);
        const piece = chunk.subarray(pos, pos + n);
        segHash!.update(piece);
        await emit(piece, chunkStart);
        pos += n;
        if (chunkStart + n === seg.end) closeSegment();
      }
      offset += chunk.length;
      if (opts.readBack && bmap && sinceDurable >= durableEvery) await handOverForReadBack();
      if (bmap && offset > bmap.imageSize) throw new BmapError(`the image is larger than its bmap says (${bmap.imageSize} bytes): the bmap belongs to another image`, bmap.imageSize);
      const now = Date.now();
      if (opts.onProgress && now - lastReport > 200) {
        lastReport = now;
        opts.onProgress({ phase: 'write', done: written + bufferLength, total });
      }
    }
    if (bmap && offset !== bmap.imageSize) {
      throw new BmapError(`the image has ${offset} bytes but its bmap says ${bmap.imageSize}: the bmap belongs to another image, or the image is truncated`, offset);
    }
    if (!bmap) {
      segments[0]!.end = offset;
      closeSegment();
    }
    await flushBuffer();
    await Promise.all(inFlight);
    if (!opts.isBlockDevice) await handle.truncate(bmap ? bmap.imageSize : offset);
    await syncOrFail();
    if (headLength > 0) {
      await handle.write(head, 0, headLength, 0).catch((e: unknown) => fail(e, 0));
      await syncOrFail();
    }
    opts.onProgress?.({ phase: 'write', done: written, total: bmap ? total : written });
    await Promise.all(readBackChecks);
    return { imageSize: bmap ? bmap.imageSize : offset, bytesWritten: written, expected, readBackDuringWrite };
  } finally {
    await Promise.allSettled([...inFlight, ...readBackChecks]);
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
