import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { spawn } from 'node:child_process';
import { EnvironmentError } from '../errors.js';
import { isOnPath } from '../util/path.js';
import { ImageError } from './errors.js';
import type { Codec, ImageFormat } from './formats.js';
import { zstdChecked } from './zstd.js';

/** Parallel decompressors first (the bottleneck of a flash is decompression), then the plain ones. */
const TOOLS: Record<Codec, Array<{ command: string; args: string[] }>> = {
  bz2: [
    { command: 'lbzip2', args: ['-dc'] },
    { command: 'pbzip2', args: ['-dc'] },
    { command: 'bzip2', args: ['-dc'] },
  ],
  xz: [{ command: 'xz', args: ['-dc', '-T0'] }],
  zst: [{ command: 'zstd', args: ['-dcq', '-T0'] }],
  lz4: [{ command: 'lz4', args: ['-dcq'] }],
  lzo: [{ command: 'lzop', args: ['-dc'] }],
  // gzip is decompressed in-process: node:zlib runs on the libuv threadpool with 1 MiB chunks and
  // no pipe, measured 4.8 s against 9.0 s through pigz for the 2 GiB bench image (bench/flash.mjs)
  gz: [],
};

/**
 * The program GNU tar runs to decompress a compressed tar (`tar -I`; tar adds -d). tar finds
 * gzip, bzip2 and xz by itself but not lz4, and not the parallel tools.
 */
export function tarProgram(codec: Codec): string {
  const tool = codec === 'gz' ? { command: 'gzip', args: [] } : TOOLS[codec].find((t) => isOnPath(t.command));
  if (!tool) throw new EnvironmentError(`a ${codec}-compressed tar needs ${TOOLS[codec][0]?.command ?? codec}, which is not installed`);
  return [tool.command, ...tool.args.filter((a) => a !== '-dc' && a !== '-dcq' && a !== '-d')].join(' ');
}

export interface PositionedChunk {
  at: number;
  data: Buffer;
}

export interface ImageSource {
  /** the image from its start; a `{ at, data }` chunk skips forward over unmapped data */
  chunks: AsyncIterable<Buffer | PositionedChunk>;
  /** how it is decompressed, for the report line */
  via: string;
  /**
   * resolves once the producer has ended with success and all its output was read; rejects
   * with the producer's own reason (an ImageError) when it failed
   */
  done: Promise<void>;
  stop: () => void;
}

function corrupt(file: string, why: string): ImageError {
  return new ImageError(`the image ${file} is corrupt or truncated (${why})`);
}

/** Unread output is queued up to this much before the producer is paused. */
const QUEUE_LIMIT = 32 * 1024 * 1024;

/**
 * Reads a stream from the moment it is created. A child process's stdout must be read from the
 * start: when the child exits, Node resumes any of its stdio streams that nobody listens to, and
 * what the child wrote is thrown away (a decompressor that finishes before the writer has
 * opened the device leaves it an empty stream). A `data` listener attached here owns the data.
 */
export function readFromNow(stream: Readable): { chunks: AsyncIterable<Buffer>; ended: Promise<void> } {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let finished!: () => void;
  let failed!: (e: Error) => void;
  const endedPromise = new Promise<void>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  endedPromise.catch(() => undefined);
  stream.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= QUEUE_LIMIT) stream.pause();
    wake?.();
  });
  stream.once('end', () => {
    ended = true;
    wake?.();
  });
  stream.once('error', (e: Error) => {
    failure = e;
    failed(e);
    wake?.();
  });
  stream.once('close', () => {
    // destroyed before its end: what was read is all there is, and it is not the whole image
    if (!ended && !failure) failure = new Error('the stream was closed before its end');
    wake?.();
  });
  async function* iterate(): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        queued -= chunk.length;
        if (queued < QUEUE_LIMIT / 2 && stream.isPaused()) stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (ended) {
        finished();
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  }
  return { chunks: { [Symbol.asyncIterator]: iterate }, ended: endedPromise };
}

/** A producer process: its whole output is read, and its exit status decides `done`. */
function processSource(file: string, command: string, args: string[], via: string): ImageSource {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = readFromNow(child.stdout);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4096);
  });
  let stoppedByUs = false;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new EnvironmentError(`cannot run ${command}: ${e.message}`)));
    child.once('close', (code, signal) => {
      if (stoppedByUs) return resolve();
      if (code === 0) return output.ended.then(resolve, (e: Error) => reject(corrupt(file, `${via}: ${e.message}`)));
      const why = stderr.split('\n').filter(Boolean).pop() ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(corrupt(file, `${via}: ${why.replace(/^[^:]+:\s*/, '')}`));
    });
  });
  done.catch(() => undefined);
  return {
    chunks: output.chunks,
    via,
    done,
    stop: () => {
      // a producer that already exited keeps its own verdict (a truncated file, say)
      if (child.exitCode !== null || child.signalCode !== null) return;
      stoppedByUs = true;
      child.kill('SIGTERM');
      child.stdout.destroy();
    },
  };
}

/** An in-process stream (node:zlib or a library decoder) with the same contract. */
function streamSource(file: string, stream: Readable, via: string): ImageSource {
  const output = readFromNow(stream);
  const done = output.ended.catch((e: Error) => {
    throw corrupt(file, `${via}: ${e.message}`);
  });
  done.catch(() => undefined);
  return { chunks: output.chunks, via, done, stop: () => stream.destroy() };
}

/**
 * Pure-JavaScript/WebAssembly decompression for machines without the tools: slower, but the
 * same streaming shape, so memory stays flat.
 */
async function libraryStream(file: string, codec: Codec): Promise<{ stream: Readable; via: string }> {
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  switch (codec) {
    case 'gz':
      return { stream: input.pipe(createGunzip({ chunkSize: 1024 * 1024 })), via: 'node:zlib' };
    case 'bz2': {
      const { default: unbzip2Stream } = await import('unbzip2-stream');
      // an old-style `through` stream: a PassThrough makes it a modern stream and carries its errors
      const decoder = input.pipe(unbzip2Stream());
      const stream = decoder.pipe(new PassThrough({ highWaterMark: 1024 * 1024 }));
      decoder.on('error', (e: Error) => stream.destroy(e));
      return { stream, via: 'unbzip2-stream' };
    }
    case 'zst':
      return { stream: input.pipe(await zstdChecked()), via: 'fzstd' };
    case 'xz': {
      // a CommonJS module: its named export is reached through the default one
      const { default: xz } = await import('xz-decompress');
      const { XzReadableStream } = xz;
      const web = new XzReadableStream(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
      return { stream: Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>), via: 'xz-decompress' };
    }
    case 'lz4':
    case 'lzo':
      input.destroy();
      throw new EnvironmentError(`the image ${file} is ${codec}-compressed and ${TOOLS[codec][0]!.command} is not installed`);
  }
}

/** YOCTOFORGE_DECOMPRESSOR=library skips the system tools (tests, and machines with broken ones). */
function systemToolFor(codec: Codec): { command: string; args: string[] } | undefined {
  if (process.env.YOCTOFORGE_DECOMPRESSOR === 'library' && codec !== 'lz4' && codec !== 'lzo') return undefined;
  return TOOLS[codec].find((t) => isOnPath(t.command));
}

async function codecSource(file: string, codec: Codec): Promise<ImageSource> {
  if (codec === 'gz') {
    const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
    return streamSource(file, input.pipe(createGunzip({ chunkSize: 1024 * 1024 })), 'node:zlib');
  }
  const tool = systemToolFor(codec);
  if (!tool) {
    const { stream, via } = await libraryStream(file, codec);
    return streamSource(file, stream, via);
  }
  return processSource(file, tool.command, [...tool.args, '--', file], tool.command);
}

/** The decompressed image as it streams: from the file, a decompressor or an archive tool. */
export async function openImage(file: string, format: ImageFormat): Promise<ImageSource> {
  if (format.archive === 'zip') {
    if (!isOnPath('unzip')) throw new EnvironmentError(`the zip archive ${file} needs unzip, which is not installed`);
    // unzip reads member names as patterns: the name is escaped so it means itself
    return processSource(file, 'unzip', ['-p', '--', file, format.member!.replace(/[[\]*?\\]/g, '\\$&')], 'unzip');
  }
  if (format.archive === 'tar') {
    const program = format.compression === 'none' ? [] : ['-I', tarProgram(format.compression)];
    return processSource(
      file,
      'tar',
      ['-xO', ...program, '--no-wildcards', '-f', file, '--', format.member!],
      `tar${format.compression === 'none' ? '' : ` (${format.compression})`}`,
    );
  }
  if (format.compression !== 'none') return await codecSource(file, format.compression);
  const stream = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
  return streamSource(file, stream, 'uncompressed');
}

/** The first `bytes` of a compressed file's content, to see what it holds. */
export async function peekDecompressed(file: string, codec: Codec, bytes = 1024): Promise<Buffer> {
  const source = await codecSource(file, codec);
  const parts: Buffer[] = [];
  let have = 0;
  try {
    for await (const item of source.chunks) {
      const chunk = Buffer.isBuffer(item) ? item : item.data;
      parts.push(chunk);
      have += chunk.length;
      if (have >= bytes) break;
    }
  } catch {
    // a damaged file: the flash itself names the reason
  } finally {
    source.stop();
  }
  return Buffer.concat(parts).subarray(0, bytes);
}

/**
 * An uncompressed image with a bmap: read only the mapped ranges, as positioned chunks, so a
 * 2 GiB image with 700 MB of data costs 700 MB of reading.
 */
export function readMappedRanges(file: string, ranges: Array<{ start: number; end: number }>): ImageSource {
  let stopped = false;
  let finish!: () => void;
  let failed!: (e: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    failed = reject;
  });
  done.catch(() => undefined);
  async function* chunks(): AsyncGenerator<PositionedChunk> {
    const handle = await open(file, 'r');
    try {
      for (const range of ranges) {
        for (let at = range.start; at < range.end && !stopped;) {
          const data = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, range.end - at));
          const { bytesRead } = await handle.read(data, 0, data.length, at);
          if (bytesRead === 0)
            throw new ImageError(`the image ${file} ends at ${at}, inside a range its bmap maps: the bmap belongs to another image`, at);
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
  // two chunks read ahead while the writer handles the current one
  const stream = Readable.from(chunks(), { objectMode: true, highWaterMark: 2 });
  return {
    chunks: stream,
    via: 'sparse read of the mapped ranges',
    done,
    stop: () => {
      stopped = true;
      stream.destroy();
      finish();
    },
  };
}
