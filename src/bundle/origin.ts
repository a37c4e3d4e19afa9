import { stat } from 'node:fs/promises';
import { execa } from 'execa';
import { EnvironmentError, InputError } from '../errors.js';
import { sha256File } from '../util/fs.js';
import { isOnPath } from '../util/path.js';

export interface OriginCheck {
  /** the archive's SHA-256, as published beside it (`--expect-sha256`) */
  expectSha256?: string;
  /** a detached OpenPGP signature of the archive (`--signature`), checked with the user's keyring */
  signature?: string;
}

/**
 * Where a bundle comes from, checked before a single entry is unpacked: the archive must be a
 * regular file, and match the checksum or the signature the user names.
 */
export async function checkBundleOrigin(file: string, check: OriginCheck): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new InputError(`no bundle at ${file}`);
  if (!info.isFile()) throw new InputError(`${file} is not a regular file; a bundle is a .tar.gz archive`);
  if (check.expectSha256 !== undefined) {
    const expected = check.expectSha256.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(expected)) throw new InputError(`--expect-sha256 ${check.expectSha256}: expected 64 hexadecimal digits`);
    const actual = await sha256File(file);
    if (actual !== expected) throw new InputError(`${file} has SHA-256 ${actual}, not the expected ${expected}; nothing was unpacked`);
  }
  if (check.signature !== undefined) {
    const sig = await stat(check.signature).catch(() => undefined);
    if (!sig?.isFile()) throw new InputError(`no signature file at ${check.signature}`);
    if (!isOnPath('gpg')) throw new EnvironmentError('gpg is not installed: it is needed to check --signature (install gnupg)');
    const result = await execa('gpg', ['--batch', '--no-tty', '--status-fd', '1', '--verify', '--', check.signature, file], {
      reject: false,
      stdin: 'ignore',
    });
    // GOODSIG alone is not enough: a revoked or expired key still gives it; VALIDSIG needs a usable key
    if (result.exitCode !== 0 || !/^\[GNUPG:\] VALIDSIG /m.test(String(result.stdout))) {
      const reason =
        String(result.stderr)
          .split('\n')
          .map((l) => l.replace(/^gpg:\s*/, '').trim())
          .filter(Boolean)
          .pop() ?? `gpg exited with ${result.exitCode}`;
      throw new InputError(`${check.signature} is not a valid signature of ${file} (${reason}); nothing was unpacked`);
    }
  }
}
