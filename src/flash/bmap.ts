import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';

/** A block map as bmaptool writes it (formats 1.4 and 2.0): which blocks of the image hold data. */
export interface Bmap {
  version: string;
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  mappedBlocksCount: number;
  checksumType: 'sha256' | 'sha1';
  /** byte ranges [start, end) with the checksum of their content */
  ranges: Array<{ start: number; end: number; checksum: string }>;
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>\\s*([^<]*?)\\s*</${name}>`).exec(xml)?.[1];
}

export function parseBmap(xml: string, file: string): Bmap {
  const version = /<bmap\s+version\s*=\s*"([^"]+)"/.exec(xml)?.[1];
  if (!version) throw new InputError(`${file} is not a bmap file (no <bmap version="...">)`);
  const major = Number(version.split('.')[0]);
  const minor = Number(version.split('.')[1] ?? 0);
  if (!(major === 2 || (major === 1 && minor >= 4))) {
    throw new InputError(`${file}: bmap format ${version} is not supported (1.4 and 2.x are; recreate it with a current bmaptool)`);
  }
  const number = (name: string): number => {
    const text = tag(xml, name);
    const value = text === undefined ? NaN : Number(text);
    if (!Number.isSafeInteger(value) || value < 0) throw new InputError(`${file}: <${name}> is missing or not a number`);
    return value;
  };
  const imageSize = number('ImageSize');
  const blockSize = number('BlockSize');
  const blocksCount = number('BlocksCount');
  const mappedBlocksCount = number('MappedBlocksCount');
  const checksumType = (tag(xml, 'ChecksumType') ?? (major >= 2 ? 'sha256' : 'sha1')).toLowerCase();
  if (checksumType !== 'sha256' && checksumType !== 'sha1') throw new InputError(`${file}: checksum type ${checksumType} is not supported`);
  if (blockSize === 0 || blockSize % 512 !== 0) throw new InputError(`${file}: block size ${blockSize} is not a multiple of 512`);
  if (Math.ceil(imageSize / blockSize) !== blocksCount) throw new InputError(`${file}: ImageSize ${imageSize} and BlocksCount ${blocksCount} disagree`);
  const ranges: Bmap['ranges'] = [];
  let mapped = 0;
  for (const m of xml.matchAll(/<Range\s+chksum\s*=\s*"([0-9a-fA-F]+)"\s*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g)) {
    const first = Number(m[2]);
    const last = m[3] === undefined ? first : Number(m[3]);
    if (last < first || last >= blocksCount) throw new InputError(`${file}: range ${m[2]}-${m[3] ?? m[2]} lies outside the image's ${blocksCount} blocks`);
    const previous = ranges[ranges.length - 1];
    if (previous && first * blockSize < previous.end) throw new InputError(`${file}: ranges overlap or are out of order at block ${first}`);
    ranges.push({ start: first * blockSize, end: Math.min((last + 1) * blockSize, imageSize), checksum: m[1]!.toLowerCase() });
    mapped += last - first + 1;
  }
  if (mapped !== mappedBlocksCount) throw new InputError(`${file}: MappedBlocksCount says ${mappedBlocksCount} blocks but the ranges hold ${mapped}`);
  return { version, imageSize, blockSize, blocksCount, mappedBlocksCount, checksumType, ranges };
}

export async function readBmap(file: string): Promise<Bmap> {
  const xml = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read the bmap ${file}: ${e.code ?? e.message}`);
  });
  return parseBmap(xml, file);
}

export function mappedBytes(bmap: Bmap): number {
  return bmap.ranges.reduce((sum, r) => sum + (r.end - r.start), 0);
}
