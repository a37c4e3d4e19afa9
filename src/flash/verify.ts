import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { PositionedChunk } from './decompress.js';
import { DeviceError } from './errors.js';
import type { WriteResult } from './writer.js';

/** O_DIRECT reads start and end on multiples of this (every logical block size divides it). */
const VERIFY_BLOCK = 4096;

const READ_SIZE = 8 * 1024 * 1024;

/**
 * O_DIRECT needs buffers aligned to the device's logical block size, which Node's Buffers do not
 * promise. WebAssembly memory is page-aligned, so reads land in a view of one.
 */
function alignedBuffer(size: number): Buffer {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(size / 65536) });
  return Buffer.from(memory.buffer, 0, size);
}

export type ExpectedRange = WriteResult['expected'][number];

/**
 * Reads ranges of the device back, bypassing the page cache (so a card that lost data cannot hide
 * behind cached pages), and compares each with the digest taken while writing. Used during the
 * write for ranges already flushed, and after it for the rest.
 */
export interface ReadBack {
  check(range: ExpectedRange): Promise<void>;
  bytesVerified(): number;
  bypassedPageCache: boolean;
  close(): Promise<void>;
}

export async function openReadBack(
  device: string,
  opts: {
    onBytes?: (bytes: number) => void;
    /** the image again from its start, to name the first bad byte of a range that differs */
    reference?: () => Promise<{ chunks: AsyncIterable<Buffer | PositionedChunk>; stop: () => void }>;
  } = {},
): Promise<ReadBack> {
  let handle: FileHandle;
  let bypassedPageCache = true;
  try {
    handle = await open(device, constants.O_RDONLY | constants.O_DIRECT);
  } catch {
    bypassedPageCache = false;
    handle = await open(device, constants.O_RDONLY);
  }
  const buffer = alignedBuffer(READ_SIZE);
  let verified = 0;
  // one read-back at a time: they share the aligned buffer
  let queue: Promise<void> = Promise.resolve();
  const checkNow = async (range: ExpectedRange): Promise<void> => {
    const hash = createHash(range.algorithm);
    for (let pos = range.start; pos < range.end;) {
      // O_DIRECT reads start and end on block boundaries; the range's own bytes are cut out.
      const alignedStart = Math.floor(pos / VERIFY_BLOCK) * VERIFY_BLOCK;
      const want = Math.min(READ_SIZE, Math.ceil((range.end - alignedStart) / VERIFY_BLOCK) * VERIFY_BLOCK);
      const { bytesRead } = await handle.read(buffer, 0, want, alignedStart).catch((e: NodeJS.ErrnoException) => {
        throw new DeviceError(`reading ${device} back failed at offset ${alignedStart} (${e.code ?? e.message}): was the card removed?`);
      });
      const from = pos - alignedStart;
      const to = Math.min(bytesRead, range.end - alignedStart);
      if (to <= from)
        throw new DeviceError(`${device} ended at offset ${alignedStart + bytesRead} while verifying (the image needs ${range.end} bytes)`);
      hash.update(buffer.subarray(from, to));
      pos = alignedStart + to;
      verified += to - from;
      opts.onBytes?.(to - from);
    }
    if (hash.digest('hex') !== range.digest) {
      let offset = range.start;
      if (opts.reference) {
        const image = await opts.reference();
        try {
          offset = await firstDifference(handle, range, image.chunks);
        } finally {
          image.stop();
        }
      }
      const where = opts.reference ? `at offset ${offset} (0x${offset.toString(16)})` : `in the range at offset ${range.start}`;
      throw new DeviceError(`verification failed: ${device} differs from the image ${where}; the card may be faulty or fake`, offset);
    }
  };
  return {
    check: (range) => {
      const next = queue.then(() => checkNow(range));
      queue = next.catch(() => undefined);
      return next;
    },
    bytesVerified: () => verified,
    bypassedPageCache,
    close: async () => {
      await queue;
      await handle.close();
    },
  };
}

/**
 * The first byte of `range` where the device differs from the image. Only runs after a mismatch,
 * so the image is read (decompressed) a second time rather than keeping per-block checksums.
 */
async function firstDifference(
  handle: FileHandle,
  range: { start: number; end: number },
  image: AsyncIterable<Buffer | PositionedChunk>,
): Promise<number> {
  const device = alignedBuffer(READ_SIZE);
  let offset = 0;
  for await (const item of image) {
    const chunk = Buffer.isBuffer(item) ? item : item.data;
    if (!Buffer.isBuffer(item)) offset = item.at;
    const from = Math.max(offset, range.start);
    const to = Math.min(offset + chunk.length, range.end);
    for (let at = from; at < to;) {
      const alignedStart = Math.floor(at / VERIFY_BLOCK) * VERIFY_BLOCK;
      const want = Math.min(READ_SIZE, Math.ceil((to - alignedStart) / VERIFY_BLOCK) * VERIFY_BLOCK);
      const { bytesRead } = await handle.read(device, 0, want, alignedStart);
      const end = Math.min(to, alignedStart + bytesRead);
      if (end <= at) return at;
      const mine = device.subarray(at - alignedStart, end - alignedStart);
      const theirs = chunk.subarray(at - offset, end - offset);
      if (!mine.equals(theirs)) {
        for (let i = 0; i < mine.length; i++) if (mine[i] !== theirs[i]) return at + i;
      }
      at = end;
    }
    offset += chunk.length;
    if (offset >= range.end) break;
  }
  return range.start;
}
