import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { PassThrough, Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { spawn } from 'node:child_process';
import { InputError } from '../errors.js';
import { isOnPath } from '../util/path.js';

export type Compression = 'none' | 'bz2' | 'xz' | 'gz' | 'zst';

/** By content, not by name: a renamed or mislabelled download is still read right. */
export async function detectCompression(file: string): Promise<Compression> {
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`cannot open the image ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  try {
    const head = Buffer.alloc(6);
    await handle.read(head, 0, 6, 0);
    if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bz2';
    if (head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (head[0] === 0x1f && head[1] === 0x8b) return 'gz';
    if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zst';
    return 'none';
  } finally {
    await handle.close();
  }
}

/** Parallel decompressors first (the bottleneck of a flash is decompression), then the plain ones. */
const TOOLS: Record<Exclude<Compression, 'none'>, Array<{ command: string; args: string[] }>> = {
  bz2: [
    { command: 'lbzip2', args: ['-dc'] },
    { command: 'pbzip2', args: ['-dc'] },
    { command: 'bzip2', args: ['-dc'] },
  ],
  xz: [{ command: 'xz', args: ['-dc', '-T0'] }],
  zst: [{ command: 'zstd', args: ['-dcq', '-T0'] }],
  // gzip is decompressed in-process: node:zlib runs on the libuv threadpool with 1 MiB chunks and
  // no pipe, measured 4.8 s against 9.0 s through pigz for the 2 GiB bench image (bench/flash.mjs)
  gz: [],
};

export interface DecompressedStream {
  stream: Readable;
  /** how it is decompressed, for the report line */
  via: string;
  /** resolves when the decompressor finished; rejects with a one-line reason when it failed */
  done: Promise<void>;
  stop: () => void;
}

function corrupt(file: string, why: string): InputError {
  return new InputError(`the image ${file} is corrupt or truncated (${why})`);
}

/** zstd through fzstd: a Transform, so backpressure and errors behave like the other streams. */
async function zstdTransform(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  let decoder: InstanceType<typeof Decompress>;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  decoder = new Decompress((data) => {
    transform.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  return transform;
}

/**
 * Pure-JavaScript/WebAssembly decompression for machines without the tools: slower, but the
 * same streaming shape, so memory stays flat.
 */
async function libraryStream(file: string, compression: Exclude<Compression, 'none'>): Promise<{ stream: Readable; via: string }> {
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  switch (compression) {
    case 'gz':
      return { stream: input.pipe(createGunzip({ chunkSize: 1024 * 1024 })), via: 'node:zlib' };
    case 'bz2':
      const { default: unbzip2Stream } = await import('unbzip2-stream');
      // an old-style `through` stream: a PassThrough makes it async-iterable and carries its errors
      const decoder = input.pipe(unbzip2Stream());
      const stream = decoder.pipe(new PassThrough({ highWaterMark: 1024 * 1024 }));
      decoder.on('error', (e: Error) => stream.destroy(e));
      return { stream, via: 'unbzip2-stream' };
    case 'zst':
      return { stream: input.pipe(await zstdTransform()), via: 'fzstd' };
    case 'xz': {
      // a CommonJS module: its named export is reached through the default one
      const { default: xz } = await import('xz-decompress');
      const { XzReadableStream } = xz;
      const web = new XzReadableStream(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
      return { stream: Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>), via: 'xz-decompress' };
    }
  }
}

/** YOCTOFORGE_DECOMPRESSOR=library skips the system tools (tests, and machines with broken ones). */
function systemToolFor(compression: Exclude<Compression, 'none'>): { command: string; args: string[] } | undefined {
  if (process.env.YOCTOFORGE_DECOMPRESSOR === 'library') return undefined;
  return TOOLS[compression].find((t) => isOnPath(t.command));
}

export async function decompress(file: string, compression: Compression): Promise<DecompressedStream> {
  if (compression === 'none') {
    const stream = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
    const done = new Promise<void>((resolve, reject) => stream.once('error', reject).once('end', resolve).once('close', resolve));
    done.catch(() => undefined);
    return { stream, via: 'uncompressed', done, stop: () => stream.destroy() };
  }
  const tool = systemToolFor(compression);
  if (!tool) {
    const { stream, via } = await libraryStream(file, compression);
    const done = new Promise<void>((resolve, reject) => {
      stream.once('error', (e: Error) => reject(corrupt(file, `${via}: ${e.message}`))).once('end', resolve).once('close', resolve);
    });
    // the writer sees the same error through the stream; `done` is for callers that wait on it
    done.catch(() => undefined);
    return { stream, via, done, stop: () => stream.destroy() };
  }
  // child_process directly, reading its stdout as it is: every stream hop costs CPU per 64 KiB
  // pipe read, and on two cores that CPU is taken from the decompressor.
  const child = spawn(tool.command, [...tool.args, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4096);
  });
  let stoppedByUs = false;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new InputError(`cannot run ${tool.command}: ${e.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0 || stoppedByUs) return resolve();
      const why = stderr.split('\n').filter(Boolean).pop() ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(corrupt(file, `${tool.command}: ${why.replace(/^[^:]+:\s*/, '')}`));
    });
  });
  done.catch(() => undefined);
  return {
    stream: child.stdout,
    via: tool.command,
    done,
    stop: () => {
      // a decompressor that already exited keeps its own verdict (a truncated file, say)
      if (child.exitCode !== null || child.signalCode !== null) return;
      stoppedByUs = true;
      child.kill('SIGTERM');
      child.stdout.destroy();
    },
  };
}

/**
 * An uncompressed image with a bmap: read only the mapped ranges, as positioned chunks, so a
 * 2 GiB image with 700 MB of data costs 700 MB of reading.
 */
export function readMappedRanges(file: string, ranges: Array<{ start: number; end: number }>): DecompressedStream {
  let stopped = false;
  let finish!: () => void;
  let failed!: (e: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    failed = reject;
  });
  done.catch(() => undefined);
  async function* chunks(): AsyncGenerator<{ at: number; data: Buffer }> {
    const handle = await open(file, 'r');
    try {
      for (const range of ranges) {
        for (let at = range.start; at < range.end && !stopped; ) {
          const data = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, range.end - at));
          const { bytesRead } = await handle.read(data, 0, data.length, at);
          if (bytesRead === 0) throw new InputError(`the image ${file} ends at ${at}, inside a range its bmap maps: the bmap belongs to another image`);
          yield { at, data: data.subarray(0, bytesRead) };
          at += bytesRead;
        }
      }
      // the writer checks the image size; a final empty chunk at the end says where the image ends
      if (!stopped) yield { at: (await handle.stat()).size, data: Buffer.alloc(0) };
      finish();
    } catch (error) {
      failed(error);
      throw error;
    } finally {
      await handle.close();
    }
  }
  const stream = Readable.from(chunks(), { objectMode: true, highWaterMark: 2 });
  return {
    stream,
    via: 'sparse read of the mapped ranges',
    done,
    stop: () => {
      stopped = true;
      stream.destroy();
      finish();
    },
  };
}
