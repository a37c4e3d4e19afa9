import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { EnvironmentError } from '../errors.js';
import { BMAP_SIZE_LIMIT, clearsignedText, isClearsigned, parseBmap, readRegularFile, type Bmap } from './bmap.js';
import { BmapError } from './errors.js';
import { isOnPath } from '../util/path.js';

export interface SignedBmap {
  bmap: Bmap;
  /** who signed it (gpg's user id), "not checked" with --no-sig-verify, undefined when unsigned */
  signature?: string;
}

/**
 * gpg as bmaptool runs it: batch, no key fetching, status lines on a descriptor. The verdict comes
 * from the status lines, not from the exit code alone: GOODSIG and VALIDSIG both, no BADSIG.
 */
async function gpgVerify(args: string[], file: string): Promise<{ signer: string; output: Buffer }> {
  if (!isOnPath('gpg')) throw new EnvironmentError(`${file} is signed and gpg is not installed: install gnupg, or pass --no-sig-verify`);
  const r = await execa('gpg', ['--batch', '--no-auto-key-retrieve', '--no-auto-check-trustdb', '--status-fd=2', ...args], {
    reject: false,
    encoding: 'buffer',
    stdin: 'ignore',
    // the signed text byte for byte: the bmap's own checksum covers its last newline
    stripFinalNewline: false,
  });
  const status = Buffer.from(r.stderr as Uint8Array).toString('utf8');
  if (/^\[GNUPG:\] (NO_PUBKEY|ERRSIG) /m.test(status)) {
    throw new BmapError(
      `the signature of ${file} cannot be checked: the signer's public key is not in your gpg keyring (import it, or pass --no-sig-verify)`,
    );
  }
  const good = /^\[GNUPG:\] GOODSIG [0-9A-F]+ (.*)$/m.exec(status);
  if (r.exitCode !== 0 || !good || !/^\[GNUPG:\] VALIDSIG /m.test(status) || /^\[GNUPG:\] BADSIG /m.test(status)) {
    throw new BmapError(
      `the signature of ${file} is bad: the bmap was changed after it was signed, or the signature belongs to another file`,
    );
  }
  return { signer: good[1]!, output: Buffer.from(r.stdout as Uint8Array) };
}

/**
 * Reads a bmap the way bmaptool does: a clearsigned one is verified and unwrapped, a detached
 * `.asc` or `.sig` beside it is verified, and `--no-sig-verify` skips the check only (the XML of
 * a clearsigned bmap is unwrapped all the same).
 */
export async function readBmap(file: string, opts: { verifySignature: boolean } = { verifySignature: true }): Promise<SignedBmap> {
  const data = await readRegularFile(file, BMAP_SIZE_LIMIT, 'bmap', (m) => new BmapError(m));
  if (isClearsigned(data)) {
    if (!opts.verifySignature) return { bmap: parseBmap(clearsignedText(data), file), signature: 'not checked (--no-sig-verify)' };
    const { signer, output } = await gpgVerify(['--output', '-', '--verify', file], file);
    return { bmap: parseBmap(output, file), signature: signer };
  }
  const detached = [`${file}.asc`, `${file}.sig`].find((f) => existsSync(f));
  if (!detached) return { bmap: parseBmap(data, file) };
  if (!opts.verifySignature) return { bmap: parseBmap(data, file), signature: 'not checked (--no-sig-verify)' };
  // gpg reads what we parse: a copy, so the file cannot change between the check and the parse
  const dir = await mkdtemp(path.join(os.tmpdir(), 'yoctoforge-bmap-'));
  try {
    const copy = path.join(dir, 'bmap');
    const signature = path.join(dir, 'sig');
    await writeFile(copy, data);
    await writeFile(signature, await readRegularFile(detached, 1024 * 1024, 'signature', (m) => new BmapError(m)));
    const { signer } = await gpgVerify(['--verify', signature, copy], file);
    return { bmap: parseBmap(data, file), signature: signer };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
