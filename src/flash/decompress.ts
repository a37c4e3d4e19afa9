import { open } from 'node:fs/promises';
import { createReadStream, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { InputError } from '../errors.js';

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
  gz: [
    { command: 'pigz', args: ['-dc'] },
    { command: 'gzip', args: ['-dc'] },
  ],
};

export interface DecompressedStream {
  stream: Readable;
  /** how it is decompressed, for the report line */
  via: string;
  /** resolves when the decompressor finished; rejects with a one-line reason when it failed */
  done: Promise<void>;
  stop: () => void;
}

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      if (statSync(`${dir}/${command}`).isFile()) return true;
    } catch {
      // next
    }
  }
  return false;
}

export function decompress(file: string, compression: Compression): DecompressedStream {
  if (compression === 'none') {
    const stream = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
    return { stream, via: 'uncompressed', done: new Promise((resolve, reject) => stream.once('end', resolve).once('error', reject)), stop: () => stream.destroy() };
  }
  const tool = TOOLS[compression].find((t) => onPath(t.command));
  if (!tool) {
    if (compression === 'gz') {
      // node:zlib is the pure fallback for gzip; it keeps memory flat like the tools do.
      const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
      const stream = createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(gunzip);
      return { stream, via: 'node:zlib', done: new Promise((resolve, reject) => stream.once('end', resolve).once('error', (e) => reject(new InputError(`the image ${file} is corrupt or truncated: ${e.message}`)))), stop: () => stream.destroy() };
    }
    const names = TOOLS[compression].map((t) => t.command).join(', ');
    throw new InputError(`no decompressor for .${compression} images on this machine: install one of ${names}`);
  }
  const child: ResultPromise = execa(tool.command, [...tool.args, file], { reject: false, buffer: { stdout: false, stderr: true }, stdin: 'ignore', stripFinalNewline: true });
  const done = (async () => {
    const result = await child;
    if (result.exitCode !== 0 && !result.isTerminated) {
      const why = String(result.stderr ?? '').split('\n').filter(Boolean).pop() ?? `exit code ${result.exitCode}`;
      throw new InputError(`the image ${file} is corrupt or truncated (${tool.command}: ${why.replace(/^[^:]+:\s*/, '')})`);
    }
  })();
  return { stream: child.stdout!, via: tool.command, done, stop: () => child.kill('SIGTERM') };
}
