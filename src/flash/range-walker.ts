import { createHash, type Hash } from 'node:crypto';
import type { Bmap } from './bmap.js';
import { BmapError, ImageError } from './errors.js';

/** A range written and what its read-back must hash to. */
export interface ExpectedRange {
  start: number;
  end: number;
  algorithm: string;
  digest: string;
}

interface Segment {
  start: number;
  end: number;
  checksum?: string;
}

/**
 * Walks the decompressed image through the bmap's mapped ranges (or the whole image without a
 * bmap), as bmaptool's reader does: hands on the bytes inside ranges with their image offsets,
 * hashes each range as it passes and checks it against the bmap's checksum when it closes.
 */
export class RangeWalker {
  private readonly segments: Segment[];
  private readonly algorithm: string;
  private index = 0;
  private hash: Hash | undefined;
  /** position in the decompressed image */
  offset = 0;
  /** the ranges completed so far, in order */
  readonly expected: ExpectedRange[] = [];

  constructor(bmap: Bmap | undefined, checkRanges: boolean) {
    // a bmap without checksums (before format 1.3, or `bmaptool create --no-checksum`): the
    // read-back compares against digests of the decompressed stream
    this.algorithm = bmap?.checksumType ?? 'sha256';
    this.segments = bmap
      ? bmap.ranges.map((r) => ({ start: r.start, end: r.end, checksum: checkRanges ? r.checksum : undefined }))
      : [{ start: 0, end: Number.MAX_SAFE_INTEGER }];
    this.hash = this.segments.length > 0 ? createHash(this.algorithm) : undefined;
  }

  /** skips forward to `at` (an uncompressed image read sparsely: what lies between is unmapped) */
  seek(at: number): void {
    if (at < this.offset) throw new ImageError(`positioned chunk at ${at} goes back from ${this.offset}`);
    this.offset = at;
  }

  /** the mapped pieces of `chunk` (which starts at `offset`), each with its image offset */
  async walk(chunk: Buffer, emit: (piece: Buffer, at: number) => Promise<void>): Promise<void> {
    let pos = 0;
    while (pos < chunk.length && this.index < this.segments.length) {
      const seg = this.segments[this.index]!;
      const chunkStart = this.offset + pos;
      if (chunkStart < seg.start) {
        pos = Math.min(chunk.length, pos + (seg.start - chunkStart));
        continue;
      }
      const n = Math.min(chunk.length - pos, seg.end - chunkStart);
      const piece = chunk.subarray(pos, pos + n);
      this.hash!.update(piece);
      await emit(piece, chunkStart);
      pos += n;
      if (chunkStart + n === seg.end) this.closeSegment();
    }
    this.offset += chunk.length;
  }

  /** without a bmap the one range ends where the image ended */
  finishWholeImage(): void {
    this.segments[0]!.end = this.offset;
    this.closeSegment();
  }

  private closeSegment(): void {
    const seg = this.segments[this.index]!;
    const digest = this.hash!.digest('hex');
    if (seg.checksum && digest !== seg.checksum) {
      throw new BmapError(
        `the image does not match its bmap: checksum mismatch in the range at offset ${seg.start} (bytes ${seg.start}-${seg.end - 1}); the bmap belongs to another image, or the image was changed`,
        seg.start,
      );
    }
    this.expected.push({ start: seg.start, end: seg.end, algorithm: this.algorithm, digest });
    this.index++;
    this.hash = this.index < this.segments.length ? createHash(this.algorithm) : undefined;
  }
}
