import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { OperationError } from '../errors.js';
import type { Bmap } from './bmap.js';

export const VERIFY_BLOCK = 4096;
const WRITE_BUFFER = 8 * 1024 * 1024;
const WRITES_IN_FLIGHT = 3;
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
  expected: Array<{ start: number; end: number; algorithm: 'sha256' | 'sha1'; digest: string }>;
  /** CRC-32 of every 4 KiB block written, to name the first bad offset on a mismatch */
  blockCrcs: Map<number, number>;
}

interface Segment {
  start: number;
  end: number;
  checksum?: string;
}

/**
 * Streams the decompressed image onto the target: only the bmap's mapped ranges when there is a
 * bmap, everything otherwise. Each range's checksum is checked as its data goes by, so a corrupt
 * image is caught before anything is called a success. Large writes at their offsets, a few in
 * flight while the decompressor keeps going, one fsync at the end.
 */
export async function writeImage(opts: {
  source: Readable;
  target: string;
  bmap?: Bmap;
  isBlockDevice: boolean;
  /** the target's size, to clear a stale backup GPT in its last MiB */
  targetSize?: number;
  onProgress?: (p: WriteProgress) => void;
}): Promise<WriteResult> {
  const { bmap } = opts;
  // a regular file is truncated first: unmapped ranges must read as zeros, not as its old content
  const flags = constants.O_WRONLY | (opts.isBlockDevice ? constants.O_EXCL : constants.O_CREAT | constants.O_TRUNC);
  let handle: FileHandle;
  try {
    handle = await open(opts.target, flags, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EBUSY') throw new OperationError(`${opts.target} is busy (mounted or opened exclusively by another program): unmount it first`);
    throw new OperationError(`cannot open ${opts.target} for writing: ${code ?? (error as Error).message}`);
  }
  const segments: Segment[] = bmap ? bmap.ranges.map((r) => ({ start: r.start, end: r.end, checksum: r.checksum })) : [{ start: 0, end: Number.MAX_SAFE_INTEGER }];
  const total = bmap ? bmap.ranges.reduce((n, r) => n + r.end - r.start, 0) : 0;
  const blockCrcs = new Map<number, number>();
  const expected: WriteResult['expected'] = [];

  let offset = 0; // position in the decompressed image
  let segIndex = 0;
  let segHash: Hash | undefined = createHash(bmap?.checksumType ?? 'sha256');
  let written = 0;
  let buffer = Buffer.allocUnsafe(WRITE_BUFFER);
  let bufferStart = -1;
  let bufferLength = 0;
  let crcCarry = Buffer.alloc(0);
  let crcCarryStart = 0;
  const inFlight: Promise<unknown>[] = [];
  let lastReport = 0;

  /** `at` is undefined for a failed flush: the kernel does not say which write it could not complete */
  const fail = (error: unknown, at: number | undefined): never => {
    const code = (error as NodeJS.ErrnoException).code;
    const where = at === undefined ? 'while flushing written data' : `at offset ${at}`;
    if (code === 'ENOSPC') throw new OperationError(`no space left on ${opts.target} ${where}: the target is smaller than the image`);
    if (code === 'EIO' || code === 'ENODEV' || code === 'ENXIO') throw new OperationError(`${opts.target} stopped accepting data ${where} (${code}): was the card removed or is it faulty?`);
    throw error;
  };
  const flush = async (): Promise<void> => {
    if (bufferLength === 0) return;
    const data = buffer.subarray(0, bufferLength);
    const position = bufferStart;
    const pending = handle.write(data, 0, data.length, position).then(
      (r) => {
        if (r.bytesWritten !== data.length) fail(Object.assign(new Error('short write'), { code: 'ENOSPC' }), position + r.bytesWritten);
      },
      (e: unknown) => fail(e, position),
    );
    // awaited later; marked handled now so a failed write is not an unhandled rejection meanwhile
    pending.catch(() => undefined);
    inFlight.push(pending);
    written += data.length;
    buffer = Buffer.allocUnsafe(WRITE_BUFFER);
    bufferLength = 0;
    bufferStart = -1;
    if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
  };
  const recordCrcs = (data: Buffer, at: number): void => {
    // CRC per 4 KiB block of written data; blocks straddling chunks are joined first.
    let chunk = data;
    let start = at;
    if (crcCarry.length > 0) {
      if (crcCarryStart + crcCarry.length === at) {
        chunk = Buffer.concat([crcCarry, data]);
        start = crcCarryStart;
      } else {
        blockCrcs.set(crcCarryStart, crc32(crcCarry));
      }
      crcCarry = Buffer.alloc(0);
    }
    const firstBoundary = Math.ceil(start / VERIFY_BLOCK) * VERIFY_BLOCK;
    let pos = 0;
    if (firstBoundary > start) {
      // a partial first block can only happen at a segment start that is not 4 KiB aligned
      const head = Math.min(firstBoundary - start, chunk.length);
      blockCrcs.set(start, crc32(chunk.subarray(0, head)));
      pos = head;
    }
    for (; pos + VERIFY_BLOCK <= chunk.length; pos += VERIFY_BLOCK) blockCrcs.set(start + pos, crc32(chunk.subarray(pos, pos + VERIFY_BLOCK)));
    if (pos < chunk.length) {
      crcCarry = Buffer.from(chunk.subarray(pos));
      crcCarryStart = start + pos;
    }
  };
  const head = Buffer.alloc(HEAD_BYTES);
  let headLength = 0;
  const emit = (data: Buffer, at: number): void => {
    recordCrcs(data, at);
    let pos = 0;
    if (at < HEAD_BYTES) {
      pos = Math.min(data.length, HEAD_BYTES - at);
      data.copy(head, at, 0, pos);
      headLength = Math.max(headLength, at + pos);
      written += pos;
    }
    while (pos < data.length) {
      if (bufferLength > 0 && bufferStart + bufferLength !== at + pos) {
        // not contiguous with the buffered data: write that first
        void flushSync();
      }
      if (bufferLength === 0) bufferStart = at + pos;
      const n = Math.min(data.length - pos, WRITE_BUFFER - bufferLength);
      data.copy(buffer, bufferLength, pos, pos + n);
      bufferLength += n;
      pos += n;
      if (bufferLength === WRITE_BUFFER) void flushSync();
    }
  };
  // flushes queued from emit() are awaited at chunk boundaries
  let pendingFlushes: Promise<void>[] = [];
  const flushSync = (): void => {
    const pending = flush();
    pending.catch(() => undefined);
    pendingFlushes.push(pending);
  };
  const closeSegment = (): void => {
    const seg = segments[segIndex]!;
    const digest = segHash!.digest('hex');
    if (seg.checksum && digest !== seg.checksum) {
      throw new OperationError(
        `the image does not match its bmap: checksum mismatch in the range at offset ${seg.start} (bytes ${seg.start}-${seg.end - 1}); the download is corrupt or the bmap belongs to another image`,
      );
    }
    expected.push({ start: seg.start, end: seg.end, algorithm: bmap?.checksumType ?? 'sha256', digest });
    segIndex++;
    segHash = segIndex < segments.length ? createHash(bmap?.checksumType ?? 'sha256') : undefined;
  };

  const syncOrFail = async (): Promise<void> => {
    await handle.sync().catch((e: unknown) => fail(e, undefined));
  };
  try {
    await clearHeadAndTail(handle, opts.isBlockDevice ? opts.targetSize : undefined).catch((e: unknown) => fail(e, 0));
    for await (const chunk of opts.source as AsyncIterable<Buffer>) {
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
        emit(piece, chunkStart);
        pos += n;
        if (chunkStart + n === seg.end) closeSegment();
      }
      offset += chunk.length;
      if (bmap && offset > bmap.imageSize) throw new OperationError(`the image is larger than its bmap says (${bmap.imageSize} bytes): the bmap belongs to another image`);
      if (pendingFlushes.length > 0) {
        const flushes = pendingFlushes;
        pendingFlushes = [];
        await Promise.all(flushes);
      }
      const now = Date.now();
      if (opts.onProgress && now - lastReport > 200) {
        lastReport = now;
        opts.onProgress({ phase: 'write', done: bmap ? written + bufferLength : offset, total });
      }
    }
    if (bmap && offset !== bmap.imageSize) {
      throw new OperationError(`the image ended after ${offset} bytes but its bmap says ${bmap.imageSize}: the download is truncated or the bmap belongs to another image`);
    }
    if (!bmap) {
      segments[0]!.end = offset;
      closeSegment();
    }
    if (crcCarry.length > 0) blockCrcs.set(crcCarryStart, crc32(crcCarry));
    await flush();
    await Promise.all(pendingFlushes);
    await Promise.all(inFlight);
    if (!opts.isBlockDevice) await handle.truncate(bmap ? bmap.imageSize : offset);
    await syncOrFail();
    if (headLength > 0) {
      await handle.write(head, 0, headLength, 0).catch((e: unknown) => fail(e, 0));
      await syncOrFail();
    }
    opts.onProgress?.({ phase: 'write', done: bmap ? total : offset, total: bmap ? total : offset });
    return { imageSize: bmap ? bmap.imageSize : offset, bytesWritten: written, expected, blockCrcs };
  } finally {
    await Promise.allSettled(inFlight);
    await handle.close().catch(() => undefined);
  }
}

/** Zeroes the first MiB (and the last, where a stale backup GPT would live) before writing. */
async function clearHeadAndTail(handle: FileHandle, targetSize: number | undefined): Promise<void> {
  const zeros = Buffer.alloc(HEAD_BYTES);
  await handle.write(zeros, 0, HEAD_BYTES, 0);
  if (targetSize && targetSize >= 2 * HEAD_BYTES) await handle.write(zeros, 0, HEAD_BYTES, targetSize - HEAD_BYTES);
  await handle.sync();
}
