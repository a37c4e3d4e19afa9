import { Transform } from 'node:stream';

const ZSTD_MAGIC = 0xfd2fb528;
const isSkippable = (magic: number): boolean => magic >>> 4 === 0x184d2a5;

/**
 * zstd through fzstd, with what fzstd leaves out and the zstd tool does: each frame's content
 * checksum (the low 32 bits of XXH64) and content size are checked, so a flipped byte is an
 * error rather than different output. The input is walked frame by frame (frame and block
 * headers only; fzstd decodes the blocks), each frame going to a fresh decoder.
 */
export async function zstdChecked(): Promise<Transform> {
  const { Decompress } = await import('fzstd');
  const { default: xxhash } = await import('xxhash-wasm');
  const { create64 } = await xxhash();

  type Phase = 'magic' | 'skipSize' | 'skip' | 'descriptor' | 'header' | 'blockHeader' | 'blockBody' | 'checksum';
  let phase: Phase = 'magic';
  let need = 4;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let skipLeft = 0;
  let bodyLeft = 0;
  let lastBlock = false;
  let hasChecksum = false;
  let contentSize: bigint | undefined;
  let produced = 0n;
  let frames = 0;
  let decoder: InstanceType<typeof Decompress> | undefined;
  let hash = create64(0n);

  const startFrame = (transform: Transform): void => {
    hash = create64(0n);
    produced = 0n;
    decoder = new Decompress((data) => {
      hash.update(data);
      produced += BigInt(data.length);
      transform.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
  };
  const take = (chunk: Buffer, pos: number): { got?: Buffer; pos: number } => {
    const n = Math.min(need - pendingLength, chunk.length - pos);
    pending.push(chunk.subarray(pos, pos + n));
    pendingLength += n;
    if (pendingLength < need) return { pos: pos + n };
    const got = Buffer.concat(pending);
    pending = [];
    pendingLength = 0;
    return { got, pos: pos + n };
  };

  const consume = (transform: Transform, chunk: Buffer): void => {
    let pos = 0;
    while (pos < chunk.length) {
      if (phase === 'blockBody') {
        const n = Math.min(bodyLeft, chunk.length - pos);
        decoder!.push(chunk.subarray(pos, pos + n));
        pos += n;
        bodyLeft -= n;
        if (bodyLeft === 0) endBlock(transform);
        continue;
      }
      if (phase === 'skip') {
        const n = Math.min(skipLeft, chunk.length - pos);
        pos += n;
        skipLeft -= n;
        if (skipLeft === 0) [phase, need] = ['magic', 4];
        continue;
      }
      const step = take(chunk, pos);
      pos = step.pos;
      if (step.got) parsed(transform, step.got);
    }
  };
  const endBlock = (transform: Transform): void => {
    if (!lastBlock) [phase, need] = ['blockHeader', 3];
    else if (hasChecksum) [phase, need] = ['checksum', 4];
    else endFrame(transform, undefined);
  };
  const endFrame = (transform: Transform, checksum: number | undefined): void => {
    decoder!.push(new Uint8Array(0), true);
    if (contentSize !== undefined && produced !== contentSize)
      throw new Error(`frame ${frames + 1} decodes to ${produced} bytes but says ${contentSize}`);
    if (checksum !== undefined && Number(hash.digest() & 0xffffffffn) !== checksum)
      throw new Error(`frame ${frames + 1}: content checksum mismatch (the data is corrupt)`);
    frames++;
    decoder = undefined;
    void transform;
    [phase, need] = ['magic', 4];
  };
  const parsed = (transform: Transform, bytes: Buffer): void => {
    switch (phase) {
      case 'magic': {
        const magic = bytes.readUInt32LE(0);
        if (isSkippable(magic)) return void ([phase, need] = ['skipSize', 4]);
        if (magic !== ZSTD_MAGIC) throw new Error(`unknown frame magic 0x${magic.toString(16)} (not zstd data)`);
        startFrame(transform);
        decoder!.push(bytes);
        return void ([phase, need] = ['descriptor', 1]);
      }
      case 'skipSize':
        skipLeft = bytes.readUInt32LE(0);
        phase = skipLeft === 0 ? 'magic' : 'skip';
        need = 4;
        return;
      case 'descriptor': {
        decoder!.push(bytes);
        const d = bytes[0]!;
        const fcsFlag = d >> 6;
        const singleSegment = (d >> 5) & 1;
        if ((d >> 3) & 1) throw new Error('reserved bit set in a frame header (not zstd data)');
        hasChecksum = Boolean((d >> 2) & 1);
        const didSize = [0, 1, 2, 4][d & 3]!;
        const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
        need = (singleSegment ? 0 : 1) + didSize + fcsSize;
        const headerRest = { fcsSize, offset: (singleSegment ? 0 : 1) + didSize };
        fcsLayout = headerRest;
        if (need === 0) {
          contentSize = undefined;
          return void ([phase, need] = ['blockHeader', 3]);
        }
        phase = 'header';
        return;
      }
      case 'header': {
        decoder!.push(bytes);
        const { fcsSize, offset } = fcsLayout;
        contentSize =
          fcsSize === 0
            ? undefined
            : fcsSize === 1
              ? BigInt(bytes[offset]!)
              : fcsSize === 2
                ? BigInt(bytes.readUInt16LE(offset) + 256)
                : fcsSize === 4
                  ? BigInt(bytes.readUInt32LE(offset))
                  : bytes.readBigUInt64LE(offset);
        return void ([phase, need] = ['blockHeader', 3]);
      }
      case 'blockHeader': {
        decoder!.push(bytes);
        const header = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
        lastBlock = Boolean(header & 1);
        const type = (header >> 1) & 3;
        if (type === 3) throw new Error('reserved block type (the data is corrupt)');
        bodyLeft = type === 1 ? 1 : header >>> 3;
        if (bodyLeft === 0) return endBlock(transform);
        phase = 'blockBody';
        return;
      }
      case 'checksum':
        decoder!.push(bytes);
        return endFrame(transform, bytes.readUInt32LE(0));
      default:
        throw new Error(`zstd frame walker in phase ${phase}`);
    }
  };
  let fcsLayout = { fcsSize: 0, offset: 0 };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        consume(this, chunk);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      if (phase !== 'magic' || pendingLength > 0) return callback(new Error('the data ends inside a frame (truncated)'));
      if (frames === 0) return callback(new Error('no zstd frame in the data'));
      callback();
    },
  });
}
