import type { FileHandle } from 'node:fs/promises';

/** Small chunks (a decompressor's 64 KiB pipe reads) are gathered into writes of this size. */
const WRITE_BUFFER = 8 * 1024 * 1024;
/** Chunks at least this large are written as they come, without a copy. */
const DIRECT_WRITE = 1024 * 1024;
const WRITES_IN_FLIGHT = 3;
/**
 * The first MiB (partition table, boot sector) is zeroed before anything else and written last,
 * after everything else is on the medium: an interrupted flash leaves a card with no partition
 * table rather than one that looks bootable and is half written.
 */
export const HEAD_BYTES = 1024 * 1024;

/**
 * Positioned writes to the device, as bmaptool's writer thread does them: large writes at their
 * offsets, a few in flight while the decompressor keeps going, the first MiB held back for last.
 * `fail` turns an I/O error into the error to report (it throws).
 */
export class WriteQueue {
  private readonly head = Buffer.alloc(HEAD_BYTES);
  private headLength = 0;
  // gathered small chunks; buffers come back to the pool when their write completes
  private readonly pool: Buffer[] = [];
  private buffer: Buffer | undefined;
  private bufferStart = 0;
  private bufferLength = 0;
  private readonly inFlight: Promise<void>[] = [];
  /** bytes accepted so far (the held-back head included) */
  written = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fail: (error: unknown, at: number | undefined) => never,
  ) {}

  /** bytes accepted, counting what waits in the gather buffer */
  get pending(): number {
    return this.written + this.bufferLength;
  }

  /** queues a write; waits only when too many are in flight */
  private async submit(data: Buffer, position: number, release?: Buffer): Promise<void> {
    const pending = this.handle.write(data, 0, data.length, position).then(
      (r) => {
        if (r.bytesWritten !== data.length)
          this.fail(Object.assign(new Error('short write'), { code: 'ENOSPC' }), position + r.bytesWritten);
        if (release) this.pool.push(release);
      },
      (e: unknown) => this.fail(e, position),
    );
    // awaited below or at the end; marked handled now so a failure is not an unhandled rejection meanwhile
    pending.catch(() => undefined);
    this.inFlight.push(pending);
    this.written += data.length;
    while (this.inFlight.length >= WRITES_IN_FLIGHT) await this.inFlight.shift();
  }

  async flush(): Promise<void> {
    if (!this.buffer || this.bufferLength === 0) return;
    const full = this.buffer;
    const data = full.subarray(0, this.bufferLength);
    const start = this.bufferStart;
    this.buffer = undefined;
    this.bufferLength = 0;
    await this.submit(data, start, full);
  }

  /** `data` belongs at image offset `at` */
  async write(data: Buffer, at: number): Promise<void> {
    if (at < HEAD_BYTES) {
      const n = Math.min(data.length, HEAD_BYTES - at);
      data.copy(this.head, at, 0, n);
      this.headLength = Math.max(this.headLength, at + n);
      this.written += n;
      data = data.subarray(n);
      at += n;
      if (data.length === 0) return;
    }
    if (this.buffer && this.bufferStart + this.bufferLength !== at) await this.flush();
    if (!this.buffer && data.length >= DIRECT_WRITE) {
      await this.submit(data, at);
      return;
    }
    for (let pos = 0; pos < data.length;) {
      if (!this.buffer) {
        this.buffer = this.pool.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER);
        this.bufferStart = at + pos;
      }
      const n = data.copy(this.buffer, this.bufferLength, pos);
      this.bufferLength += n;
      pos += n;
      if (this.bufferLength === WRITE_BUFFER) await this.flush();
    }
  }

  /** everything queued onto the medium (the head excepted) */
  async durable(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight.splice(0));
    await this.handle.sync().catch((e: unknown) => this.fail(e, undefined));
  }

  /** the held-back first MiB, after everything else is durable */
  async writeHead(): Promise<void> {
    if (this.headLength === 0) return;
    await this.handle.write(this.head, 0, this.headLength, 0).catch((e: unknown) => this.fail(e, 0));
    await this.handle.sync().catch((e: unknown) => this.fail(e, undefined));
  }

  /** waits for whatever is in flight, failed or not (before closing the device) */
  async settle(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }
}
