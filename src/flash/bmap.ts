import { createHash, getHashes } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { XMLParser } from 'fast-xml-parser';
import { BmapError } from './errors.js';

/** A block map as bmaptool writes it (formats 1.0 to 2.x): which blocks of the image hold data. */
export interface Bmap {
  version: string;
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  mappedBlocksCount: number;
  /** undefined for formats before 1.3, which carry no checksums */
  checksumType?: string;
  /** byte ranges [start, end), with the checksum of their content where the bmap has one */
  ranges: Array<{ start: number; end: number; checksum?: string }>;
}

/**
 * A bmap of a 1 TiB image with every other block mapped is about 13 GB of XML; real ones are a
 * few hundred KiB. Past this size it is not a bmap worth reading into memory.
 */
export const BMAP_SIZE_LIMIT = 64 * 1024 * 1024;

/** Reads a regular file up to `limit` bytes: a FIFO or a device would hang or never end. */
export async function readRegularFile(file: string, limit: number, what: string, fail: (message: string) => Error): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    throw fail(`cannot read the ${what} ${file}: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw fail(`the ${what} ${file} is not a regular file`);
    if (info.size > limit) throw fail(`the ${what} ${file} is ${info.size} bytes, more than the ${limit} a ${what} can be`);
    const data = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(data, 0, info.size, 0);
    return data.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const CLEARSIGN_MARKER = '-----BEGIN PGP SIGNED MESSAGE-----';

export function isClearsigned(data: Buffer): boolean {
  return data.subarray(0, CLEARSIGN_MARKER.length).toString('latin1') === CLEARSIGN_MARKER;
}

/**
 * The text inside a clearsigned message, without checking the signature (--no-sig-verify): the
 * armour headers end at the first empty line, dash-escaped lines lose their "- ".
 */
export function clearsignedText(data: Buffer): Buffer {
  const lines = data.toString('utf8').split(/\r?\n/);
  const start = lines.indexOf('', 1);
  const end = lines.indexOf('-----BEGIN PGP SIGNATURE-----');
  if (start < 0 || end < start) throw new BmapError('the bmap is clearsigned but its signed text cannot be found');
  return Buffer.from(
    `${lines
      .slice(start + 1, end)
      .map((l) => l.replace(/^- /, ''))
      .join('\n')}\n`,
  );
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => name === 'Range',
});

type XmlNode = string | { '#text'?: string; [key: string]: unknown };

function text(node: unknown): string | undefined {
  if (typeof node === 'string') return node.trim();
  if (node && typeof node === 'object' && '#text' in node) return String((node as { '#text': unknown })['#text']).trim();
  return undefined;
}

/**
 * The bmap's checksum of itself (BmapFileChecksum in 1.4/2.x, BmapFileSHA1 in 1.3), computed as
 * bmaptool does: over the file with the checksum's own digits replaced by zeros.
 */
function verifyFileChecksum(data: Buffer, expected: string, algorithm: string, file: string): void {
  const at = data.indexOf(expected, 0, 'latin1');
  if (at < 0) throw new BmapError(`${file}: its own checksum cannot be located`);
  const copy = Buffer.from(data);
  copy.fill('0', at, at + expected.length, 'latin1');
  const actual = createHash(algorithm).update(copy).digest('hex');
  if (actual !== expected.toLowerCase()) {
    throw new BmapError(
      `${file}: checksum mismatch for the bmap file itself (computed ${actual}, it says ${expected}): the bmap was changed or damaged`,
    );
  }
}

export function parseBmap(data: Buffer, file: string): Bmap {
  const xml = data.toString('utf8');
  // bmaps have no document type; refusing one keeps external entities and entity expansion out
  if (/<!(DOCTYPE|ENTITY)/i.test(xml))
    throw new BmapError(`${file}: a bmap has no DOCTYPE or ENTITY declarations; this one does and is refused`);
  let doc: { bmap?: Record<string, XmlNode> };
  try {
    doc = parser.parse(xml, true) as typeof doc;
  } catch (error) {
    const why = String((error as { err?: { msg?: string } }).err?.msg ?? (error as Error).message).split('\n')[0];
    throw new BmapError(`${file} is not a well-formed bmap (XML: ${why})`);
  }
  const root = doc.bmap;
  if (!root || typeof root !== 'object') throw new BmapError(`${file} is not a bmap file (no <bmap version="...">)`);
  const version = typeof root.version === 'string' ? root.version : undefined;
  const versionMatch = version ? /^(\d+)\.(\d+)$/.exec(version) : null;
  if (!version || !versionMatch) throw new BmapError(`${file} is not a bmap file (no <bmap version="...">)`);
  const major = Number(versionMatch[1]);
  const minor = Number(versionMatch[2]);
  if (major < 1 || major > 2) throw new BmapError(`${file}: bmap format ${version} is not supported (1.0 to 2.x are)`);
  const number = (name: string): number => {
    const value = text(root[name]);
    const n = value !== undefined && /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n)) throw new BmapError(`${file}: <${name}> is missing or not a number`);
    return n;
  };
  const imageSize = number('ImageSize');
  const blockSize = number('BlockSize');
  const blocksCount = number('BlocksCount');
  const mappedBlocksCount = number('MappedBlocksCount');
  if (blockSize === 0 || blockSize % 512 !== 0) throw new BmapError(`${file}: block size ${blockSize} is not a multiple of 512`);
  if (Math.ceil(imageSize / blockSize) !== blocksCount)
    throw new BmapError(`${file}: ImageSize ${imageSize} and BlocksCount ${blocksCount} disagree`);

  // 1.3 had SHA-1 under names with "sha1" in them; 1.4 is 2.0 released under the wrong number
  const modern = major >= 2 || minor >= 4;
  // before 1.3 the ranges may carry SHA-1 checksums but the file has none of its own
  const legacyRangeSums = !modern && JSON.stringify(root.BlockMap ?? '').includes('"sha1"');
  const checksumType = modern ? (text(root.ChecksumType) ?? '').toLowerCase() : minor === 3 || legacyRangeSums ? 'sha1' : undefined;
  if (checksumType !== undefined && !getHashes().includes(checksumType))
    throw new BmapError(`${file}: checksum type "${checksumType}" is not supported`);
  const fileChecksum = modern ? text(root.BmapFileChecksum) : minor === 3 ? text(root.BmapFileSHA1) : undefined;
  if (checksumType && (modern || minor === 3) && fileChecksum === undefined)
    throw new BmapError(`${file}: bmap format ${version} carries its own checksum, and this one has none`);
  if (checksumType && fileChecksum) verifyFileChecksum(data, fileChecksum, checksumType, file);

  const attribute = modern ? 'chksum' : 'sha1';
  const blockMap = root.BlockMap;
  const rangeNodes = blockMap && typeof blockMap === 'object' ? ((blockMap as { Range?: unknown[] }).Range ?? []) : [];
  const ranges: Bmap['ranges'] = [];
  let mapped = 0;
  for (const node of rangeNodes) {
    const value = text(node) ?? '';
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(value);
    if (!m) throw new BmapError(`${file}: <Range> "${value.slice(0, 40)}" is not a block range`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first || last >= blocksCount) throw new BmapError(`${file}: range ${value} lies outside the image's ${blocksCount} blocks`);
    const previous = ranges[ranges.length - 1];
    if (previous && first * blockSize < previous.end) throw new BmapError(`${file}: ranges overlap or are out of order at block ${first}`);
    const raw = node && typeof node === 'object' ? (node as Record<string, unknown>)[attribute] : undefined;
    const checksum = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
    if (checksum !== undefined && !/^[0-9a-f]+$/.test(checksum))
      throw new BmapError(`${file}: range ${value} has a checksum that is not hexadecimal`);
    ranges.push({ start: first * blockSize, end: Math.min((last + 1) * blockSize, imageSize), ...(checksum ? { checksum } : {}) });
    mapped += last - first + 1;
  }
  if (mapped !== mappedBlocksCount)
    throw new BmapError(`${file}: MappedBlocksCount says ${mappedBlocksCount} blocks but the ranges hold ${mapped}`);
  return { version, imageSize, blockSize, blocksCount, mappedBlocksCount, checksumType, ranges };
}

export function mappedBytes(bmap: Bmap): number {
  return bmap.ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
}
