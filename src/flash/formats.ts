import { open } from 'node:fs/promises';
import { execa } from 'execa';
import { EnvironmentError } from '../errors.js';
import { isOnPath } from '../util/path.js';
import { formatSize } from '../util/units.js';
import { tarProgram } from './decompress.js';
import { ImageError } from './errors.js';

export type Codec = 'bz2' | 'xz' | 'gz' | 'zst' | 'lz4' | 'lzo';
export type Compression = Codec | 'none';

/** What an image file is, decided by its content (a renamed or mislabelled download is still read right). */
export interface ImageFormat {
  /** the compression of the file (of the archive, for a compressed tar) */
  compression: Compression;
  archive?: 'zip' | 'tar';
  /** the archive member that is the image */
  member?: string;
  /** the image's length as its container records it, when it does: checked against what is read */
  recordedLength?: number;
  /** how it reads in one word or two, for the summary line */
  label: string;
}

const MAGIC: Array<{ codec: Codec; bytes: number[] }> = [
  { codec: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { codec: 'zst', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { codec: 'lz4', bytes: [0x04, 0x22, 0x4d, 0x18] },
  { codec: 'lzo', bytes: [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a] },
  { codec: 'gz', bytes: [0x1f, 0x8b] },
];

export function codecOf(head: Buffer): Codec | undefined {
  if (head.subarray(0, 3).toString('latin1') === 'BZh' && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bz2';
  return MAGIC.find((m) => head.length >= m.bytes.length && m.bytes.every((b, i) => head[i] === b))?.codec;
}

const isZip = (head: Buffer): boolean => head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'));
export const isTarHeader = (head: Buffer): boolean => head.length >= 263 && head.subarray(257, 262).toString('latin1') === 'ustar';

/**
 * Signs that an uncompressed file is a disk or file-system image: a partition table or a
 * file-system superblock where the on-disk formats put theirs.
 */
const DISK_SIGNS: Array<{ what: string; at: number; bytes: Buffer }> = [
  { what: 'MBR or FAT boot sector', at: 510, bytes: Buffer.from([0x55, 0xaa]) },
  { what: 'GPT', at: 512, bytes: Buffer.from('EFI PART', 'latin1') },
  { what: 'GPT (4 KiB sectors)', at: 4096, bytes: Buffer.from('EFI PART', 'latin1') },
  { what: 'ext2/3/4', at: 1080, bytes: Buffer.from([0x53, 0xef]) },
  { what: 'f2fs', at: 1024, bytes: Buffer.from([0x10, 0x20, 0xf5, 0xf2]) },
  { what: 'erofs', at: 1024, bytes: Buffer.from([0xe2, 0xe1, 0xf5, 0xe0]) },
  { what: 'squashfs', at: 0, bytes: Buffer.from('hsqs', 'latin1') },
  { what: 'xfs', at: 0, bytes: Buffer.from('XFSB', 'latin1') },
  { what: 'UBI', at: 0, bytes: Buffer.from('UBI#', 'latin1') },
  { what: 'ISO 9660', at: 32769, bytes: Buffer.from('CD001', 'latin1') },
  { what: 'btrfs', at: 65600, bytes: Buffer.from('_BHRfS_M', 'latin1') },
];
export const HEAD_PROBE = 65608;

export function diskSign(head: Buffer): string | undefined {
  return DISK_SIGNS.find((s) => head.length >= s.at + s.bytes.length && head.subarray(s.at, s.at + s.bytes.length).equals(s.bytes))?.what;
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new ImageError(`cannot open the image ${file}: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}`);
  });
  try {
    if (!(await handle.stat()).isFile()) throw new ImageError(`the image ${file} is not a regular file`);
    const head = Buffer.alloc(HEAD_PROBE);
    const { bytesRead } = await handle.read(head, 0, HEAD_PROBE, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

interface Member {
  name: string;
  size: number;
}

function chooseMember(file: string, kind: string, members: Member[], wanted: string | undefined): Member {
  if (wanted !== undefined) {
    const found = members.find((m) => m.name === wanted);
    if (!found)
      throw new ImageError(`the ${kind} ${file} has no file ${wanted}; it holds: ${members.map((m) => m.name).join(', ') || 'nothing'}`);
    return found;
  }
  if (members.length === 1) return members[0]!;
  if (members.length === 0) throw new ImageError(`the ${kind} ${file} holds no file`);
  throw new ImageError(
    `the ${kind} ${file} holds ${members.length} files, name the image with --member: ${members.map((m) => `${m.name} (${formatSize(m.size)})`).join(', ')}`,
  );
}

async function needTool(tool: string, why: string): Promise<void> {
  if (!isOnPath(tool)) throw new EnvironmentError(`${why} needs ${tool}, which is not installed`);
}

/** zipinfo's long listing: permissions, version, system, size, type, compressed size, method, date, time, name. */
async function zipMembers(file: string): Promise<Member[]> {
  await needTool('unzip', `the zip archive ${file}`);
  const r = await execa('unzip', ['-Z', '-l', file], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0)
    throw new ImageError(
      `the zip archive ${file} is damaged (${String(r.stdout || r.stderr)
        .split('\n')
        .filter(Boolean)
        .pop()})`,
    );
  const members: Member[] = [];
  for (const line of String(r.stdout).split('\n')) {
    const m = /^(\S)\S*\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s(.*)$/.exec(line);
    if (m && m[1] !== 'd' && !m[3]!.endsWith('/')) members.push({ name: m[3]!, size: Number(m[2]) });
  }
  return members;
}

/** GNU tar lists the archive; a compressed one through the decompressor we would use. */
async function tarMembers(file: string, codec?: Codec): Promise<Member[]> {
  await needTool('tar', `the tar archive ${file}`);
  const program = codec ? ['-I', tarProgram(codec)] : [];
  const r = await execa('tar', ['--numeric-owner', ...program, '-tvf', file], { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0) throw new ImageError(`the tar archive ${file} is damaged (${String(r.stderr).split('\n').filter(Boolean)[0]})`);
  const members: Member[] = [];
  for (const line of String(r.stdout).split('\n')) {
    const m = /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s(.*)$/.exec(line);
    if (m && (m[1] === '-' || m[1] === 'h')) members.push({ name: m[3]!.replace(/ link to .*$/, ''), size: Number(m[2]) });
  }
  return members;
}

/** xz keeps an index of every block's uncompressed size. */
async function xzRecordedLength(file: string): Promise<number | undefined> {
  if (!isOnPath('xz')) return undefined;
  const r = await execa('xz', ['--robot', '--list', file], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0)
    throw new ImageError(
      `the image ${file} is corrupt or truncated (xz: ${String(r.stderr)
        .split('\n')[0]!
        .replace(/^xz:\s*/, '')})`,
    );
  const totals = /^totals\t\d+\t\d+\t\d+\t(\d+)/m.exec(String(r.stdout));
  return totals ? Number(totals[1]) : undefined;
}

/**
 * Decides what the file is by content. `peek` gives the first bytes of a compressed file's
 * decompressed content (to find a tar inside). A file that is none of the formats and shows no
 * sign of being a disk image is refused unless `raw` says it is one.
 */
export async function detectFormat(
  file: string,
  opts: { raw?: boolean; member?: string; peek: (file: string, codec: Codec) => Promise<Buffer> },
): Promise<ImageFormat> {
  const head = await readHead(file);
  if (isZip(head)) {
    const member = chooseMember(file, 'zip archive', await zipMembers(file), opts.member);
    return { compression: 'none', archive: 'zip', member: member.name, recordedLength: member.size, label: `zip, ${member.name}` };
  }
  if (isTarHeader(head)) {
    const member = chooseMember(file, 'tar archive', await tarMembers(file), opts.member);
    return { compression: 'none', archive: 'tar', member: member.name, recordedLength: member.size, label: `tar, ${member.name}` };
  }
  const codec = codecOf(head);
  if (codec) {
    if (isTarHeader(await opts.peek(file, codec))) {
      const member = chooseMember(file, `${codec} tar archive`, await tarMembers(file, codec), opts.member);
      return {
        compression: codec,
        archive: 'tar',
        member: member.name,
        recordedLength: member.size,
        label: `tar.${codec}, ${member.name}`,
      };
    }
    if (opts.member !== undefined) throw new ImageError(`--member ${opts.member}: the image ${file} is ${codec}, not an archive`);
    // gzip's ISIZE is the length modulo 2^32 of the last member only: not a length to hold a file to
    const recordedLength = codec === 'xz' ? await xzRecordedLength(file) : undefined;
    return { compression: codec, recordedLength, label: codec };
  }
  if (opts.member !== undefined) throw new ImageError(`--member ${opts.member}: the image ${file} is not an archive`);
  if (!opts.raw && !diskSign(head)) {
    throw new ImageError(
      `${file} is neither a compressed image (bz2, xz, gz, zst, lz4, lzo, zip, tar) nor a disk image (no partition table or file-system superblock found): pass --raw to write it as it is`,
    );
  }
  return { compression: 'none', label: 'uncompressed' };
}
