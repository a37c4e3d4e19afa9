import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { formatSize } from '../util/units.js';
import { InputError, OperationError, UserError } from '../errors.js';
import { mappedBytes, readBmap, type Bmap } from './bmap.js';
import { decompress, detectCompression, readMappedRanges, type Compression, type DecompressedStream } from './decompress.js';
import { inspectDevice, refusals, type Refusal, type DeviceInfo } from './device.js';
import { openReadBack, type ReadBack } from './verify.js';
import { writeImage, type WriteProgress } from './writer.js';

export interface FlashPlan {
  image: string;
  compression: Compression;
  bmapFile?: string;
  bmap?: Bmap;
  device: DeviceInfo;
  /** the decompressed image's size when known before writing (from the bmap, or an uncompressed file) */
  imageSize?: number;
  /** what will be written: the mapped bytes with a bmap, the whole image otherwise */
  bytesToWrite?: number;
  refusals: Refusal[];
}

/**
 * Everything known before a byte is written: the image, its bmap, the device and what speaks
 * against it. Like bmaptool's copier it takes files; finding them is the caller's business.
 */
export async function planFlash(opts: { image: string; device: string; bmap?: string }): Promise<FlashPlan> {
  const compression = await detectCompression(opts.image);
  const bmapFile = opts.bmap;
  const bmap = bmapFile ? await readBmap(bmapFile) : undefined;
  const fileSize = (await stat(opts.image)).size;
  if (bmap && compression === 'none' && fileSize !== bmap.imageSize) {
    throw new InputError(`the bmap ${bmapFile} describes a ${bmap.imageSize}-byte image but ${opts.image} has ${fileSize} bytes: they do not belong together`);
  }
  const imageSize = bmap?.imageSize ?? (compression === 'none' ? fileSize : undefined);
  const device = inspectDevice(opts.device);
  return {
    image: opts.image,
    compression,
    bmapFile,
    bmap,
    device,
    imageSize,
    bytesToWrite: bmap ? mappedBytes(bmap) : imageSize,
    refusals: refusals(device, imageSize ?? 0),
  };
}

export interface FlashResult {
  bytesWritten: number;
  imageSize: number;
  writeSeconds: number;
  decompressor: string;
  verified: boolean;
  verifySeconds?: number;
  bytesVerified?: number;
  /** read back while the decompressor was still running (hidden behind it) */
  bytesVerifiedDuringWrite?: number;
  bypassedPageCache?: boolean;
  /** set when the kernel could not be told to re-read the partition table */
  partitionTableWarning?: string;
}

/**
 * Decompress → write (mapped ranges only with a bmap, checked as they pass) → re-read the
 * partition table → read back and compare. `signal` aborts at the next chunk; the card is then
 * left without a partition table (see HEAD_BYTES), never half-valid.
 */
export async function flashImage(
  plan: FlashPlan,
  opts: { verify: boolean; onProgress?: (p: WriteProgress) => void; signal?: AbortSignal },
): Promise<FlashResult> {
  const openImage = async (): Promise<DecompressedStream> =>
    plan.compression === 'none' && plan.bmap ? readMappedRanges(plan.image, plan.bmap.ranges) : await decompress(plan.image, plan.compression);
  const source = await openImage();
  const onAbort = (): void => {
    source.stop();
    source.stream.destroy(new OperationError('interrupted'));
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const started = performance.now();
  // Opened on first use: a regular-file device exists only once the writer has created it.
  let readBack: Promise<ReadBack> | undefined;
  const readBackOf = (): Promise<ReadBack> =>
    (readBack ??= openReadBack(plan.device.path, { reference: async () => (await openImage()).stream, onBytes: (n) => verifyProgress(n) }));
  let verifiedBytes = 0;
  let verifyTotal = 0;
  let lastVerifyReport = 0;
  const verifyProgress = (n: number): void => {
    verifiedBytes += n;
    const now = Date.now();
    if (verifyTotal > 0 && opts.onProgress && now - lastVerifyReport > 200) {
      lastVerifyReport = now;
      opts.onProgress({ phase: 'verify', done: verifiedBytes, total: verifyTotal });
    }
  };
  let written;
  try {
    written = await writeImage({
      readBack: opts.verify ? async (range) => (await readBackOf()).check(range) : undefined,
      source: source.stream,
      device: plan.device.path,
      bmap: plan.bmap,
      isBlockDevice: plan.device.kind === 'disk' || plan.device.kind === 'partition',
      deviceSize: plan.device.size,
      onProgress: opts.onProgress,
    });
    // A decompressor that failed half way may still have closed its output cleanly.
    await source.done;
  } catch (error) {
    opts.signal?.throwIfAborted();
    // The decompressor's own reason ("truncated") explains a short image better than the writer's.
    // after the end of its output the decompressor is exiting anyway: let it say why
    if (!source.stream.readableEnded) source.stop();
    const decompressorError: unknown = await source.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    throw decompressorError instanceof UserError ? decompressorError : error;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const writeSeconds = (performance.now() - started) / 1000;
  opts.signal?.throwIfAborted();
  const partitionTableWarning = plan.device.kind === 'disk' ? await rereadPartitionTable(plan.device.path) : undefined;
  const result: FlashResult = {
    bytesWritten: written.bytesWritten,
    imageSize: written.imageSize,
    writeSeconds,
    decompressor: source.via,
    verified: false,
    partitionTableWarning,
  };
  if (!opts.verify) return result;
  // what was not read back during the write: the head (written last) and the final stretch
  const verifyStarted = performance.now();
  const during = verifiedBytes;
  verifyTotal = written.expected.reduce((n, e) => n + e.end - e.start, 0);
  const checker = await readBackOf();
  try {
    for (const range of written.expected) if (!written.readBackDuringWrite.has(range.start)) await checker.check(range);
  } finally {
    await checker.close();
  }
  opts.onProgress?.({ phase: 'verify', done: verifyTotal, total: verifyTotal });
  return {
    ...result,
    verified: true,
    verifySeconds: (performance.now() - verifyStarted) / 1000,
    bytesVerified: checker.bytesVerified(),
    bytesVerifiedDuringWrite: during,
    bypassedPageCache: checker.bypassedPageCache,
  };
}

/**
 * Without udev nobody asks the kernel to read the new partition table (bmaptool, Etcher and
 * rpi-imager all rely on udev): BLKRRPART through blockdev.
 */
export async function rereadPartitionTable(device: string): Promise<string | undefined> {
  const r = await execa('blockdev', ['--rereadpt', device], { reject: false });
  if (r.exitCode === 0) return undefined;
  const why = String(r.stderr || r.message).split('\n').pop()!.replace(/^blockdev:\s*/, '');
  return `the kernel did not re-read the partition table of ${device} (${why}); unplug and replug the card before mounting it`;
}

/** For --list and the confirmation: describe a device in one line. */
export function describeDevice(t: DeviceInfo): string {
  const parts = [t.path, formatSize(t.size)];
  if (t.model) parts.push(t.model);
  if (t.transport) parts.push(t.transport);
  if (t.kind === 'disk') parts.push(t.removable ? 'removable' : 'not removable');
  return parts.join(', ');
}
