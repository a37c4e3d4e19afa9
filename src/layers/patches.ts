import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { OperationError } from '../errors.js';
import type { LockedPatch } from '../lock/lock.js';
import { isDir, sha256File } from '../util/fs.js';
import { gitFailure } from './git.js';

/**
 * `patches:` of a repo: files (or folders of `git format-patch` output) kept in the project and
 * applied, in order, on top of the locked commit after every checkout. Each one becomes a commit,
 * so HEAD says what is applied and `git log` shows it; the lock keeps the base commit, every
 * patch's hash and the commit they produce.
 */

/** One patch file as the manifest lists it, expanded: path relative to the project. */
export type ResolvedPatch = LockedPatch;

/** The manifest's entries expanded to files (a folder: its *.patch files in name order), each hashed. */
export async function resolvePatches(projectDir: string, entries: readonly string[]): Promise<ResolvedPatch[]> {
  const out: ResolvedPatch[] = [];
  for (const entry of entries) {
    const abs = path.join(projectDir, entry);
    const files = (await isDir(abs))
      ? (await readdir(abs))
          .filter((n) => n.endsWith('.patch'))
          .sort()
          .map((n) => `${entry}/${n}`)
      : [entry];
    for (const file of files) out.push({ path: file, sha256: await sha256File(path.join(projectDir, file)) });
  }
  return out;
}

export function samePatches(a: readonly LockedPatch[] | undefined, b: readonly LockedPatch[]): boolean {
  return (a ?? []).length === b.length && b.every((p, i) => a![i]!.path === p.path && a![i]!.sha256 === p.sha256);
}

/** Who commits a patch: fixed, so that no user.name is needed and every machine makes the same commit. */
const IDENTITY = { name: 'yoctoforge', email: 'yoctoforge@localhost' };

/**
 * Settings that would make `git am`/`commit` behave differently per machine (hooks, signing, a
 * three-way fallback) pinned against the user's git config.
 */
const PINNED_CONFIG = [
  `user.name=${IDENTITY.name}`,
  `user.email=${IDENTITY.email}`,
  'core.hooksPath=/dev/null',
  'commit.gpgSign=false',
  'am.threeWay=false',
  'am.keepcr=true',
].flatMap((c) => ['-c', c]);

async function git(dir: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await execa('git', [...PINNED_CONFIG, ...args], { cwd: dir, env, stdin: 'ignore' });
  return result.stdout.trim();
}

/** `git format-patch` output (an mbox: `From <40 hex> ...` then headers) rather than a plain diff. */
async function isMailbox(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
    return /^From [0-9a-f]{40} /.test(buffer.subarray(0, bytesRead).toString('latin1'));
  } finally {
    await handle.close();
  }
}

/**
 * Applies the patches on `base` (HEAD, clean) and returns the commit they make. Commit ids are
 * the same on every machine: a format-patch file keeps its author and author date and is
 * committed with that date (`--committer-date-is-author-date`); a plain diff has neither, so it is
 * authored and committed by yoctoforge at the base commit's own date. On a patch that does not
 * apply, the checkout goes back to `base` and the error names the patch and the repo.
 */
export async function applyPatches(
  repo: string,
  dir: string,
  projectDir: string,
  base: string,
  patches: readonly ResolvedPatch[],
): Promise<string> {
  const baseDate = await git(dir, ['show', '-s', '--format=%cI', base]);
  for (const patch of patches) {
    const file = path.join(projectDir, patch.path);
    const mailbox = await isMailbox(file);
    try {
      if (mailbox) {
        await git(dir, ['am', '--quiet', '--keep-cr', '--no-3way', '--committer-date-is-author-date', file]);
      } else {
        await git(dir, ['apply', '--index', file]);
        const when = { GIT_AUTHOR_DATE: baseDate, GIT_COMMITTER_DATE: baseDate };
        const who = { GIT_AUTHOR_NAME: IDENTITY.name, GIT_AUTHOR_EMAIL: IDENTITY.email };
        await git(dir, ['commit', '--quiet', '--no-verify', '-m', `Apply ${path.basename(patch.path)}`], { ...when, ...who });
      }
    } catch (error) {
      if (mailbox) await git(dir, ['am', '--abort']).catch(() => undefined);
      await git(dir, ['checkout', '--quiet', '--force', '--detach', base]);
      throw new OperationError(
        `patch ${patch.path} does not apply to ${repo} (${gitFailure(stderrOf(error))}); ${repo} is back at ${base.slice(0, 12)}`,
      );
    }
  }
  return git(dir, ['rev-parse', 'HEAD']);
}

function stderrOf(error: unknown): string {
  const e = error as { stderr?: string; stdout?: string; message?: string };
  return [e.stderr, e.stdout, e.message].filter(Boolean).join('\n');
}
