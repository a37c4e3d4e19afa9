import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { InputError, OperationError, UserError } from '../errors.js';
import { processAlive } from '../util/pidfile.js';
import { gitAt, gitFailure, isMissingRef, missingRefMessage } from './git.js';

/**
 * The git mechanics of one layer checkout: clone, fetch a wanted commit, look at the work tree,
 * check out. What to do with a repository (skip, refuse, force, write the lock) is sync.ts's.
 */

export type CloneMode = 'full' | 'shallow' | 'blobless';

/** One repository as the mechanics see it. */
export interface CheckoutJob {
  name: string;
  url: string;
  dir: string;
  ref: { branch?: string; tag?: string };
  /**
   * the commit to check out when already known (lock or pin; a pin may be abbreviated and is
   * resolved in the clone); undefined = resolve from the ref
   */
  wanted?: string;
}

/** Set in the config of every checkout yoctoforge creates: the ones sync may move, fetch into and repoint. */
const CREATED_MARKER = 'yoctoforge.created';

export async function markCreated(git: SimpleGit): Promise<void> {
  await git.raw(['config', CREATED_MARKER, 'true']);
}

/**
 * Whether yoctoforge created this checkout: its marker, or, for checkouts made before the marker
 * existed, a detached HEAD (yoctoforge never checks out a branch) fetching from the manifest's
 * URL; such a checkout is marked now. Anything else is someone's own repository that a manifest
 * happens to point at (`layers_dir: ..`): sync must not change its origin, fetch into it or move it.
 */
export async function isCreatedCheckout(git: SimpleGit, dir: string, url: string): Promise<boolean> {
  const marker = (await git.raw(['config', '--bool', '--get', CREATED_MARKER]).catch(() => '')).trim();
  if (marker === 'true') return true;
  const origin = (await git.raw(['config', '--get', 'remote.origin.url']).catch(() => '')).trim();
  if (!(await detachedHead(dir)) || origin !== url) return false;
  await markCreated(git);
  return true;
}

/** Points remote `origin` at `url` (a manifest may move a repo to a mirror). */
export async function setOrigin(git: SimpleGit, url: string): Promise<void> {
  const remoteUrl = (await git.raw(['config', '--get', 'remote.origin.url']).catch(() => '')).trim();
  if (remoteUrl === url) return;
  if (remoteUrl) await git.remote(['set-url', 'origin', url]);
  else await git.addRemote('origin', url);
}

/** Moves the work tree to `commit`, detached; `force` discards tracked changes first. */
export async function checkoutDetached(git: SimpleGit, commit: string, force: boolean): Promise<void> {
  if (force) await git.raw(['reset', '--quiet', '--hard']);
  await git.raw(['checkout', '--quiet', ...(force ? ['--force'] : []), '--detach', commit]);
}

/**
 * An abbreviated pin can be found only among fetched commits (a server fetches full ids only),
 * so a shallow sync of one fetches the history instead.
 */
function modeFor(job: CheckoutJob, mode: CloneMode): CloneMode {
  return mode === 'shallow' && job.wanted !== undefined && !isFullId(job.wanted) ? 'full' : mode;
}

const isFullId = (commit: string): boolean => /^[0-9a-f]{40}$/.test(commit);

export async function cloneRepo(job: CheckoutJob, requestedMode: CloneMode, interactive: boolean): Promise<string> {
  const mode = modeFor(job, requestedMode);
  const partial = path.join(path.dirname(job.dir), `.${job.name}.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  const git = await gitAt(path.dirname(job.dir), interactive);
  // `git clone` (not init + fetch): from a local mirror it hardlinks objects instead of packing them.
  const ref = job.ref.branch ?? job.ref.tag;
  const args = ['--no-checkout', '--quiet'];
  // --no-local: a mirror on this machine would otherwise be hardlinked whole, ignoring depth and filter.
  if (mode === 'shallow') args.push('--depth', '1', '--no-local');
  if (mode === 'blobless') args.push('--filter=blob:none', '--no-local');
  if (ref && !(mode !== 'shallow' && job.wanted)) args.push('--branch', ref);
  try {
    await git.clone(job.url, partial, args);
    const repo = await gitAt(partial, interactive);
    const commit = await resolveAfterClone(repo, job, mode);
    await repo.raw(['checkout', '--quiet', '--detach', commit]);
    await markCreated(repo);
    await rename(partial, job.dir);
    return commit;
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    if (error instanceof UserError) throw error;
    throw new OperationError(
      ref && isMissingRef(error) ? missingRefMessage(job.url, ref) : `clone of ${job.url} failed: ${gitFailure(error)}`,
    );
  }
}

/** The commit to check out in a fresh clone: the wanted one (fetched by id if the clone lacks it) or the ref's head. */
async function resolveAfterClone(git: SimpleGit, job: CheckoutJob, mode: CloneMode): Promise<string> {
  if (job.wanted) {
    const present = await resolveCommit(git, job);
    if (present) return present;
    if (isFullId(job.wanted)) {
      await git.raw(['fetch', '--quiet', '--update-shallow', ...(mode === 'shallow' ? ['--depth', '1'] : []), 'origin', job.wanted]);
    }
    return (await resolveCommit(git, job)) ?? missingCommit(job);
  }
  const ref = job.ref.tag ? `refs/tags/${job.ref.tag}` : job.ref.branch ? `refs/remotes/origin/${job.ref.branch}` : 'HEAD';
  return (await git.raw(['rev-parse', `${ref}^{commit}`])).trim();
}

/**
 * Makes `wanted` (or the followed ref's head) present locally, fetching only when needed.
 * Returns the commit to check out.
 */
export async function fetchWanted(git: SimpleGit, job: CheckoutJob, requestedMode: CloneMode): Promise<string> {
  const mode = modeFor(job, requestedMode);
  const depth = mode === 'shallow' ? ['--depth', '1'] : [];
  const filter = mode === 'blobless' ? ['--filter=blob:none'] : [];
  if (job.wanted) {
    const present = await resolveCommit(git, job);
    if (present) return present;
    if (mode === 'shallow') {
      await git.raw(['fetch', '--quiet', '--update-shallow', ...depth, 'origin', job.wanted]);
    } else {
      await git.raw([
        'fetch',
        '--quiet',
        '--update-shallow',
        '--tags',
        '--force',
        ...filter,
        ...(requestedMode === 'shallow' && (await isShallow(git)) ? ['--unshallow'] : []),
        'origin',
        '+refs/heads/*:refs/remotes/origin/*',
      ]);
      // A pinned commit that no branch or tag reaches any more: ask for it by id.
      if (isFullId(job.wanted) && !(await hasCommit(git, job.wanted)))
        await git.raw(['fetch', '--quiet', '--update-shallow', ...filter, 'origin', job.wanted]);
    }
    return (await resolveCommit(git, job)) ?? missingCommit(job);
  }
  if (job.ref.tag) {
    await git.raw([
      'fetch',
      '--quiet',
      '--update-shallow',
      '--force',
      ...depth,
      ...filter,
      'origin',
      `+refs/tags/${job.ref.tag}:refs/tags/${job.ref.tag}`,
    ]);
    return (await git.raw(['rev-parse', `refs/tags/${job.ref.tag}^{commit}`])).trim();
  }
  if (job.ref.branch) {
    const tracking = `refs/remotes/origin/${job.ref.branch}`;
    await git.raw([
      'fetch',
      '--quiet',
      '--update-shallow',
      '--force',
      ...depth,
      ...filter,
      ...(mode === 'full' || mode === 'blobless' ? ['--tags'] : []),
      'origin',
      `+refs/heads/${job.ref.branch}:${tracking}`,
    ]);
    return (await git.raw(['rev-parse', `${tracking}^{commit}`])).trim();
  }
  await git.raw(['fetch', '--quiet', '--update-shallow', '--force', ...depth, ...filter, 'origin', '+HEAD:refs/remotes/origin/HEAD']);
  return (await git.raw(['rev-parse', 'refs/remotes/origin/HEAD^{commit}'])).trim();
}

/** The commit of a detached HEAD, read from .git/HEAD; undefined when HEAD is a branch or unreadable. */
export async function detachedHead(repoDir: string): Promise<string | undefined> {
  const text = await readFile(path.join(repoDir, '.git', 'HEAD'), 'utf8').catch(() => '');
  const commit = text.trim();
  return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
}

/** HEAD's commit, or '' in a repository without one. */
export async function headCommit(git: SimpleGit): Promise<string> {
  return (await git.raw(['rev-parse', '--verify', '--quiet', 'HEAD']).catch(() => '')).trim();
}

/**
 * A tag of origin: the commit it points at and its own object id (an annotated tag's differs),
 * fetching the tag when the clone lacks it.
 */
export async function tagIds(git: SimpleGit, tag: string, mode: CloneMode): Promise<{ commit: string; object: string }> {
  const ref = `refs/tags/${tag}`;
  const local = (await git.raw(['rev-parse', '--verify', '--quiet', ref]).catch(() => '')).trim();
  if (!local) await git.raw(['fetch', '--quiet', '--force', ...(mode === 'shallow' ? ['--depth', '1'] : []), 'origin', `+${ref}:${ref}`]);
  const [object, commit] = (await git.raw(['rev-parse', ref, `${ref}^{commit}`])).trim().split('\n');
  return { commit: commit!, object: object! };
}

async function isShallow(git: SimpleGit): Promise<boolean> {
  return (await git.raw(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
}

function missingCommit(job: CheckoutJob): never {
  if (!isFullId(job.wanted!)) throw new OperationError(`repos.${job.name}.commit: no commit of ${job.url} starts with "${job.wanted}"`);
  throw new OperationError(`commit ${job.wanted} is not in ${job.url}`);
}

/**
 * The full id of `job.wanted` when the clone has that commit, as kas resolves an abbreviated
 * commit (git rev-parse in its clone); an abbreviation that names several commits is refused.
 */
async function resolveCommit(git: SimpleGit, job: CheckoutJob): Promise<string | undefined> {
  const wanted = job.wanted!;
  if (isFullId(wanted)) return (await hasCommit(git, wanted)) ? wanted : undefined;
  const candidates = (await git.raw(['rev-parse', `--disambiguate=${wanted}`]).catch(() => '')).split('\n').filter(Boolean);
  const commits: string[] = [];
  for (const id of candidates) if (await hasCommit(git, id)) commits.push(id);
  if (commits.length > 1) {
    throw new InputError(
      `repos.${job.name}.commit: "${wanted}" is ambiguous in ${job.url} (${commits.length} commits start with it: ${commits.map((c) => c.slice(0, 12)).join(', ')}); write more of the id`,
    );
  }
  return commits[0];
}

export async function hasCommit(git: SimpleGit, commit: string): Promise<boolean> {
  try {
    await git.raw(['cat-file', '-e', `${commit}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/** A short description of tracked changes, or '' when the work tree is clean. Untracked files are not lost by a checkout. */
export async function uncommittedChanges(git: SimpleGit): Promise<string> {
  const files = (await git.raw(['diff', '--name-only', 'HEAD'])).split('\n').filter(Boolean);
  if (files.length === 0) return '';
  const first = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${first} and ${files.length - 3} more` : first;
}

export async function hasLocalCommits(git: SimpleGit): Promise<boolean> {
  const out = await git.raw(['rev-list', '-n', '1', 'HEAD', '--not', '--remotes', '--tags']);
  return out.trim().length > 0;
}

export async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Clones a killed sync left behind (their owner process is gone). */
export async function removeAbandonedClones(job: CheckoutJob): Promise<void> {
  const parent = path.dirname(job.dir);
  const prefix = `.${job.name}.partial-`;
  const entries = await readdir(parent).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (pid !== process.pid && processAlive(pid)) continue;
    await rm(path.join(parent, entry), { recursive: true, force: true });
  }
}

/**
 * git leaves index.lock behind when it is killed. Called only when the previous sync died while
 * holding the layers directory's lock: the git locks it left belong to nobody alive.
 */
export async function clearStaleGitLocks(dir: string): Promise<void> {
  for (const name of ['index.lock', 'shallow.lock', 'HEAD.lock']) {
    await rm(path.join(dir, '.git', name), { force: true });
  }
}
