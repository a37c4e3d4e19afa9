import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { formatSize } from './units.js';

/** Upper bounds of the files yoctoforge reads: far above any real one, far below what exhausts memory. */
export const INPUT_LIMITS = {
  /** layers.yaml and layers.lock.yaml: 200,000 repositories fit */
  manifest: 32 * 1024 ** 2,
  /** report.json: thousands of packages and tasks */
  report: 64 * 1024 ** 2,
  /** small metadata: bundle.json, a layer.conf */
  small: 1024 ** 2,
  /** a bundle's SHA256SUMS */
  checksums: 16 * 1024 ** 2,
  /** a kas file: the largest of the kas corpus is 10 KiB */
  kas: 8 * 1024 ** 2,
} as const;

function kindOf(stat: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Reads an input file as UTF-8: the one way yoctoforge reads a file someone else may have
 * written. Only regular files (a FIFO, a device or /dev/zero would hang or never end), at most
 * `maxBytes` (checked while reading too: /proc files claim size 0). Opened non-blocking so that
 * opening a FIFO does not wait for a writer. Returns undefined for a missing file when `optional`.
 */
export async function readInputFile(file: string, options: { what: string; maxBytes: number; optional?: boolean }): Promise<string>;
export async function readInputFile(file: string, options: { what: string; maxBytes: number; optional: true }): Promise<string | undefined>;
export async function readInputFile(
  file: string,
  options: { what: string; maxBytes: number; optional?: boolean },
): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, OPEN_FLAGS);
  } catch (error) {
    return openFailed(file, options, error);
  }
  try {
    const stat = await handle.stat();
    checkStat(file, options, stat);
    const content = boundedContent(file, options);
    for (
      let buffer = content.next();
      content.add(buffer, (await handle.read(buffer, 0, buffer.length, null)).bytesRead);
      buffer = content.next()
    );
    return content.text();
  } catch (error) {
    throw readFailed(file, options, error);
  } finally {
    await handle.close();
  }
}

/**
 * readInputFile for a caller that must stay synchronous (the kas include walk, which kas itself
 * does depth first while merging): the same checks, the same messages.
 */
export function readInputFileSync(file: string, options: { what: string; maxBytes: number; optional?: boolean }): string;
export function readInputFileSync(file: string, options: { what: string; maxBytes: number; optional: true }): string | undefined;
export function readInputFileSync(file: string, options: { what: string; maxBytes: number; optional?: boolean }): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (error) {
    return openFailed(file, options, error);
  }
  try {
    checkStat(file, options, fstatSync(fd));
    const content = boundedContent(file, options);
    for (let buffer = content.next(); content.add(buffer, readSync(fd, buffer, 0, buffer.length, null)); buffer = content.next());
    return content.text();
  } catch (error) {
    throw readFailed(file, options, error);
  } finally {
    closeSync(fd);
  }
}

/** Non-blocking: opening a FIFO does not wait for a writer. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

function openFailed(file: string, options: { what: string; optional?: boolean }, error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.optional) return undefined;
  throw new InputError(`cannot read ${options.what} ${file}: ${describeErrno(error)}`);
}

/** Only regular files, and none that claims more than `maxBytes` (checked while reading too: /proc files claim size 0). */
function checkStat(
  file: string,
  options: { what: string; maxBytes: number },
  stat: Parameters<typeof kindOf>[0] & { isFile(): boolean; size: number },
): void {
  if (!stat.isFile()) throw new InputError(`${options.what} ${file} is ${kindOf(stat)}, not a regular file; refusing to read it`);
  if (stat.size > options.maxBytes) throw tooLarge(file, options);
}

/** What a read loop has read, refusing more than `maxBytes` as soon as it is read (a file may grow, /proc files claim size 0). */
function boundedContent(file: string, options: { what: string; maxBytes: number }) {
  const chunks: Buffer[] = [];
  let total = 0;
  return {
    next: (): Buffer => Buffer.alloc(Math.min(1024 ** 2, options.maxBytes + 1 - total)),
    /** false at the end of the file */
    add(buffer: Buffer, bytesRead: number): boolean {
      if (bytesRead === 0) return false;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > options.maxBytes) throw tooLarge(file, options);
      return true;
    },
    text: (): string => Buffer.concat(chunks).toString('utf8'),
  };
}

function tooLarge(file: string, options: { what: string; maxBytes: number }): InputError {
  return new InputError(`${options.what} ${file} is larger than ${formatSize(options.maxBytes)}; refusing to read it`);
}

function readFailed(file: string, options: { what: string }, error: unknown): InputError {
  if (error instanceof InputError) return error;
  return new InputError(`cannot read ${options.what} ${file}: ${describeErrno(error)}`);
}

/** "no such file or directory (ENOENT)": a system error without the syscall and path Node adds. */
export function describeErrno(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (!e?.code) return error instanceof Error ? error.message : String(error);
  const reason = ERRNO_TEXT[e.code] ?? e.message.replace(/^[A-Z0-9_]+:\s*/, '').replace(/,\s*\w+\s+'.*$/, '');
  return `${reason} (${e.code})`;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENOTEMPTY: 'directory not empty',
  EXDEV: 'on another file system',
  EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument',
};
