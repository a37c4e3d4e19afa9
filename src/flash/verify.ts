import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { OperationError } from '../errors.js';
import { VERIFY_BLOCK, type WriteProgress, type WriteResult } from './writer.js';

const READ_SIZE = 8 * 1024 * 1024;

/**
 * O_DIRECT needs buffers aligned to the device's logical block size, which Node's Buffers do not
 * promise. WebAssembly memory is page-aligned, so reads land in a view of one.
 */
function alignedBuffer(size: number): Buffer {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(size / 65536) });
  return Buffer.from(memory.buffer, 0, size);
}

export interface VerifyResult {
  bytesVerified: number;
  /** false when the target could not be opened with O_DIRECT (a file on tmpfs, say) */
  bypassedPageCache: boolean;
}

/**
 * Reads back what was written, bypassing the page cache (so a card that lost data cannot hide
 * behind cached pages), and compares it with the checksums taken while writing.
 */
export async function verifyWritten(target: string, written: WriteResult, onProgress?: (p: WriteProgress) => void): Promise<VerifyResult> {
  let handle: FileHandle;
  let bypassedPageCache = true;
  try {
    handle = await open(target, constants.O_RDONLY | constants.O_DIRECT);
  } catch {
    bypassedPageCache = false;
    handle = await open(target, constants.O_RDONLY);
  }
  const buffer = alignedBuffer(READ_SIZE);
  const total = written.expected.reduce((n, e) => n + e.end - e.start, 0);
  let done = 0;
  let lastReport = 0;
  try {
    for (const range of written.expected) {
      const hash = createHash(range.algorithm);
      for (let pos = range.start; pos < range.end; ) {
        // O_DIRECT reads start and end on block boundaries; the range's own bytes are cut out.
        const alignedStart = Math.floor(pos / VERIFY_BLOCK) * VERIFY_BLOCK;
        const want = Math.min(READ_SIZE, Math.ceil((range.end - alignedStart) / VERIFY_BLOCK) * VERIFY_BLOCK);
        const { bytesRead } = await handle.read(buffer, 0, want, alignedStart).catch((e: NodeJS.ErrnoException) => {
          throw new OperationError(`reading ${target} back failed at offset ${alignedStart} (${e.code ?? e.message}): was the card removed?`);
        });
        const from = pos - alignedStart;
        const to = Math.min(bytesRead, range.end - alignedStart);
        if (to <= from) throw new OperationError(`${target} ended at offset ${alignedStart + bytesRead} while verifying (the image needs ${range.end} bytes)`);
        hash.update(buffer.subarray(from, to));
        pos = alignedStart + to;
        done += to - from;
        const now = Date.now();
        if (onProgress && now - lastReport > 200) {
          lastReport = now;
          onProgress({ phase: 'verify', done, total });
        }
      }
      if (hash.digest('hex') !== range.digest) {
        const offset = await firstBadBlock(handle, range, written.blockCrcs);
        throw new OperationError(`verification failed: ${target} differs from the image at offset ${offset} (0x${offset.toString(16)}); the card may be faulty or fake`);
      }
    }
    onProgress?.({ phase: 'verify', done: total, total });
    return { bytesVerified: done, bypassedPageCache };
  } finally {
    await handle.close();
  }
}

/** The first 4 KiB block of a bad range whose CRC differs from the one taken while writing. */
async function firstBadBlock(handle: FileHandle, range: { start: number; end: number }, crcs: Map<number, number>): Promise<number> {
  const block = alignedBuffer(VERIFY_BLOCK);
  for (let at = range.start; at < range.end; ) {
    const alignedStart = Math.floor(at / VERIFY_BLOCK) * VERIFY_BLOCK;
    const next = Math.min(alignedStart + VERIFY_BLOCK, range.end);
    const { bytesRead } = await handle.read(block, 0, VERIFY_BLOCK, alignedStart);
    const data = block.subarray(at - alignedStart, Math.min(bytesRead, next - alignedStart));
    const expectedCrc = crcs.get(at);
    if (expectedCrc === undefined || crc32(data) !== expectedCrc) return at;
    at = next;
  }
  return range.start;
}
