import { existsSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { execa } from 'execa';
import { UserError } from '../errors.js';
import { formatSize } from '../util/units.js';
import { mappedBytes, type Bmap } from './bmap.js';
import { openImage, peekDecompressed, readMappedRanges, type ImageSource } from './decompress.js';
import { inspectDevice, refusals, type DeviceInfo, type Refusal } from './device.js';
import { BmapError, DeviceError, ImageError } from './errors.js';
import { detectFormat, type ImageFormat } from './formats.js';
import { readBmap } from './signature.js';
import { openReadBack, type ReadBack } from './verify.js';
import { writeImage, type WriteProgress } from './writer.js';

export interface FlashPlan {
  image: string;
  format: ImageFormat;
  bmapFile?: string;
  bmap?: Bmap;
  /** who signed the bmap, when it is signed */
  bmapSignature?: string;
  device: DeviceInfo;
  /** the decompressed image's size when known before writing (bmap, container, uncompressed file) */
  imageSize?: number;
  /** what will be written: the mapped bytes with a bmap, the whole image otherwise */
  bytesToWrite?: number;
  refusals: Refusal[];
}

/**
 * Everything known before a byte is written: the image, its bmap, the device and what speaks
 * against it. Like bmaptool's copier it takes files; finding them is the caller's business.
 */
export async function planFlash(opts: {
  image: string;
  device: string;
  bmap?: string;
  /** the file is a raw disk image even without a partition table or superblock */
  raw?: boolean;
  /** the archive member to write */
  member?: string;
  verifySignature?: boolean;
}): Promise<FlashPlan> {
  const signed = opts.bmap ? await readBmap(opts.bmap, { verifySignature: opts.verifySignature ?? true }) : undefined;
  const bmap = signed?.bmap;
  // a raw file its bmap describes is an image: the bmap says so
  const fileSize = (await stat(opts.image).catch(() => undefined))?.size;
  const format = await detectFormat(opts.image, {
    raw: opts.raw || (bmap !== undefined && fileSize === bmap.imageSize),
    member: opts.member,
    peek: peekDecompressed,
  });
  if (bmap && format.compression === 'none' && !format.archive && fileSize !== bmap.imageSize) {
    throw new BmapError(
      `the bmap ${opts.bmap} describes a ${bmap.imageSize}-byte image but ${opts.image} has ${fileSize} bytes: they do not belong together`,
    );
  }
  if (bmap && format.recordedLength !== undefined && format.recordedLength !== bmap.imageSize) {
    throw new BmapError(
      `the bmap ${opts.bmap} describes a ${bmap.imageSize}-byte image but ${opts.image} holds ${format.recordedLength} bytes: they do not belong together`,
    );
  }
  const imageSize = bmap?.imageSize ?? format.recordedLength ?? (format.compression === 'none' && !format.archive ? fileSize : undefined);
  const device = inspectDevice(opts.device);
  return {
    image: opts.image,
    format,
    bmapFile: opts.bmap,
    bmap,
    bmapSignature: signed?.signature,
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
  const open = async (): Promise<ImageSource> =>
    plan.format.compression === 'none' && !plan.format.archive && plan.bmap
      ? readMappedRanges(plan.image, plan.bmap.ranges)
      : await openImage(plan.image, plan.format);
  const source = await open();
  const onAbort = (): void => source.stop();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const started = performance.now();
  // Opened on first use: a regular-file device exists only once the writer has created it.
  let readBack: Promise<ReadBack> | undefined;
  const readBackOf = (): Promise<ReadBack> =>
    (readBack ??= openReadBack(plan.device.path, { reference: open, onBytes: (n) => verifyProgress(n) }));
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
  // a regular file yoctoforge creates is removed again when the flash fails
  const createdFile = plan.device.kind === 'missing' || (plan.device.kind === 'file' && !existsSync(plan.device.path));
  let written;
  try {
    written = await writeImage({
      readBack: opts.verify ? async (range) => (await readBackOf()).check(range) : undefined,
      checkRanges: opts.verify,
      source: source.chunks,
      device: plan.device.path,
      bmap: plan.bmap,
      isBlockDevice: plan.device.kind === 'disk' || plan.device.kind === 'partition',
      deviceSize: plan.device.size,
      onProgress: opts.onProgress,
    });
    // every byte came from a decompressor that ended with success, and all of it was read
    await source.done;
    if (plan.format.recordedLength !== undefined && written.imageSize !== plan.format.recordedLength) {
      throw new ImageError(
        `the image ${plan.image} decompressed to ${written.imageSize} bytes but its container records ${plan.format.recordedLength}`,
        written.imageSize,
      );
    }
  } catch (error) {
    await readBack?.then((r) => r.close()).catch(() => undefined);
    if (createdFile) await unlink(plan.device.path).catch(() => undefined);
    opts.signal?.throwIfAborted();
    throw await realCause(error, source);
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
  } catch (error) {
    if (createdFile) await unlink(plan.device.path).catch(() => undefined);
    throw error;
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
 * Which failure to report when the write stopped: a device fault is the device's; otherwise the
 * decompressor's own reason ("truncated", "corrupt") explains a short or odd stream better than
 * the writer's count of bytes.
 */
async function realCause(error: unknown, source: ImageSource): Promise<unknown> {
  if (error instanceof DeviceError) {
    source.stop();
    return error;
  }
  const producerError: unknown = await Promise.race([
    source.done.then(
      () => undefined,
      (e: unknown) => e,
    ),
    // a producer still running after the writer gave up will not say more: stop it
    new Promise((resolve) => setTimeout(resolve, 2000)).then(() => {
      source.stop();
      return undefined;
    }),
  ]);
  source.stop();
  return producerError instanceof UserError ? producerError : error;
}

/**
 * Without udev nobody asks the kernel to read the new partition table (bmaptool, Etcher and
 * rpi-imager all rely on udev): BLKRRPART through blockdev.
 */
export async function rereadPartitionTable(device: string): Promise<string | undefined> {
  const r = await execa('blockdev', ['--rereadpt', device], { reject: false });
  if (r.exitCode === 0) return undefined;
  const why = String(r.stderr || r.message)
    .split('\n')
    .pop()!
    .replace(/^blockdev:\s*/, '');
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
