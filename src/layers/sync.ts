import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, OperationError } from '../errors.js';
import type { Project } from '../manifest/load.js';
import { followedRef, lockStaleness, readLock, renderLock, repoLockProblem, writeLock, type Lock, type LockedRepo } from '../lock/lock.js';
import { projectPaths } from '../manifest/paths.js';
import type { RepoSpec } from '../manifest/schema.js';
import { mapLimit } from '../util/concurrency.js';
import { acquirePidfile, processAlive } from '../util/pidfile.js';
import type { SimpleGit } from 'simple-git';
import { gitAt, gitFailure } from './git.js';

/** One sync at a time per layers directory. */
const SYNC_PIDFILE = '.yoctoforge-sync.lock';

export type CloneMode = 'full' | 'shallow' | 'blobless';

export interface SyncOptions {
  /** fail unless the lock exists and matches the manifest */
  locked?: boolean;
  /** follow branch/tag heads and move the lock forward */
  update?: boolean;
  /** discard local changes and local commits */
  force?: boolean;
  cloneMode?: CloneMode;
  jobs?: number;
  interactive?: boolean;
  /** progress of one repo, for the display layer */
  onProgress?: (repo: string, message: string) => void;
}

export type RepoAction = 'cloned' | 'updated' | 'up-to-date' | 'left-dirty' | 'failed';

export interface RepoSyncResult {
  name: string;
  dir: string;
  action: RepoAction;
  commit?: string;
  /** what happened, for the report */
  detail: string;
}

export interface SyncResult {
  lock: Lock;
  lockWritten: boolean;
  repos: RepoSyncResult[];
}

interface RepoJob {
  name: string;
  spec: RepoSpec;
  dir: string;
  ref: { branch?: string; tag?: string };
  /** the commit to check out when already known (lock or pin); undefined = resolve from the ref */
  wanted?: string;
  /** the commit the lock held before, which is not "local work" */
  previouslyLocked?: string;
}

export interface SyncPlan {
  /** one job per repository, safe to run concurrently */
  repos: Array<{ name: string; run: () => Promise<RepoSyncResult> }>;
  jobs: number;
  /** writes the lock from the results (when complete and changed) and releases the sync's pid file */
  finish: (results: RepoSyncResult[]) => Promise<SyncResult>;
  /** releases the sync's pid file without writing anything (on interruption) */
  abandon: () => Promise<void>;
}

/**
 * Clones or updates every repository of the manifest and writes the lock. Safe to interrupt:
 * clones land under a temporary name and are renamed into place only once checked out.
 */
export async function syncLayers(project: Project, options: SyncOptions = {}): Promise<SyncResult> {
  const plan = await planSync(project, options);
  let results: RepoSyncResult[];
  try {
    results = await mapLimit(plan.repos, plan.jobs, (repo) => repo.run());
  } catch (error) {
    await plan.abandon();
    throw error;
  }
  return plan.finish(results);
}

/** The sync as named per-repository steps, so a display layer can show each one. */
export async function planSync(project: Project, options: SyncOptions = {}): Promise<SyncPlan> {
  const { layersDir } = projectPaths(project);
  const lock = await readLock(project);
  if (options.locked && options.update) throw new InputError('--locked and --update contradict each other');
  if (options.locked) {
    if (!lock) throw new InputError('--locked: layers.lock.yaml does not exist (run `yoctoforge sync` and commit the lock)');
    const stale = lockStaleness(project, lock);
    if (stale.length > 0) throw new InputError('--locked: layers.lock.yaml does not match layers.yaml (run `yoctoforge sync`)', stale);
  }

  await mkdir(layersDir, { recursive: true });
  const { release, recovered } = await acquirePidfile(path.join(layersDir, SYNC_PIDFILE), (pid) => `another yoctoforge sync (pid ${pid}) is working in ${layersDir}; wait for it to finish`);
  const jobs = Object.entries(project.manifest.repos).map(([name, spec]): RepoJob => {
    const lockedRepo = lock?.repos[name];
    const lockUsable = !options.update && lockedRepo !== undefined && !repoLockProblem(spec, lockedRepo, project.manifest.series);
    return {
      name,
      spec,
      dir: path.join(layersDir, name),
      ref: followedRef(spec, project.manifest.series),
      wanted: spec.commit ?? (lockUsable ? lockedRepo.commit : undefined),
      previouslyLocked: lockedRepo?.commit,
    };
  });
  const mode = options.cloneMode ?? project.manifest.sync?.clone ?? 'full';

  const finish = async (results: RepoSyncResult[]): Promise<SyncResult> => {
    try {
      const newLock: Lock = { version: 1, repos: {} };
      for (const job of jobs) {
        const result = results.find((r) => r.name === job.name);
        const moved = result && result.action !== 'left-dirty' && result.action !== 'failed';
        const commit = moved ? result.commit : lock?.repos[job.name]?.commit;
        if (!commit) continue;
        const entry: LockedRepo = { url: job.spec.url, ...job.ref, commit };
        newLock.repos[job.name] = entry;
      }
      const failed = results.filter((r) => r.action === 'failed' || r.action === 'left-dirty');
      const complete = failed.length === 0 && Object.keys(newLock.repos).length === jobs.length;
      let lockWritten = false;
      if (complete && (!lock || renderLock(newLock) !== renderLock(lock))) {
        await writeLock(project, newLock);
        lockWritten = true;
      }
      if (failed.length > 0) {
        throw new OperationError(
          `sync incomplete: ${failed.map((r) => r.name).join(', ')} not at the wanted commit (lock file left unchanged)`,
          failed.map((r) => `${r.name}: ${r.detail}`),
        );
      }
      return { lock: newLock, lockWritten, repos: results };
    } finally {
      await release();
    }
  };

  return {
    repos: jobs.map((job) => ({ name: job.name, run: () => syncRepo(job, mode, options, recovered) })),
    jobs: options.jobs ?? project.manifest.sync?.jobs ?? 4,
    finish,
    abandon: release,
  };
}

async function syncRepo(job: RepoJob, mode: CloneMode, options: SyncOptions, recovering: boolean): Promise<RepoSyncResult> {
  const report = (message: string): void => options.onProgress?.(job.name, message);
  const base = { name: job.name, dir: job.dir };
  try {
    await removeAbandonedClones(job);
    const exists = await isDirectory(job.dir);
    if (!exists) {
      report(`cloning ${job.spec.url}`);
      const commit = await cloneRepo(job, mode, options);
      return { ...base, action: 'cloned', commit, detail: `cloned at ${commit.slice(0, 12)}` };
    }
    if (recovering) await clearStaleGitLocks(job.dir);
    return await updateRepo(job, mode, options, report);
  } catch (error) {
    if (error instanceof LeftDirty) return { ...base, action: 'left-dirty', commit: error.head, detail: error.message };
    const detail = error instanceof InputError || error instanceof OperationError ? error.message : gitFailure(error);
    return { ...base, action: 'failed', detail };
  }
}

class LeftDirty extends Error {
  constructor(message: string, readonly head: string) {
    super(message);
  }
}

async function cloneRepo(job: RepoJob, mode: CloneMode, options: SyncOptions): Promise<string> {
  const partial = path.join(path.dirname(job.dir), `.${job.name}.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  const git = await gitAt(path.dirname(job.dir), options.interactive ?? false);
  // `git clone` (not init + fetch): from a local mirror it hardlinks objects instead of packing them.
  const ref = job.ref.branch ?? job.ref.tag;
  const args = ['--no-checkout', '--quiet'];
  // --no-local: a mirror on this machine would otherwise be hardlinked whole, ignoring depth and filter.
  if (mode === 'shallow') args.push('--depth', '1', '--no-local');
  if (mode === 'blobless') args.push('--filter=blob:none', '--no-local');
  if (ref && !(mode !== 'shallow' && job.wanted)) args.push('--branch', ref);
  try {
    await git.clone(job.spec.url, partial, args);
    const repo = await gitAt(partial, options.interactive ?? false);
    const commit = await resolveAfterClone(repo, job, mode);
    await repo.raw(['checkout', '--quiet', '--detach', commit]);
    await rename(partial, job.dir);
    return commit;
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw new OperationError(`clone of ${job.spec.url} failed: ${gitFailure(error)}`);
  }
}

/** The commit to check out in a fresh clone: the wanted one (fetched by id if the clone lacks it) or the ref's head. */
async function resolveAfterClone(git: SimpleGit, job: RepoJob, mode: CloneMode): Promise<string> {
  if (job.wanted) {
    if (!(await hasCommit(git, job.wanted))) {
      await git.raw(['fetch', '--quiet', '--update-shallow', ...(mode === 'shallow' ? ['--depth', '1'] : []), 'origin', job.wanted]);
    }
    if (!(await hasCommit(git, job.wanted))) throw new OperationError(`commit ${job.wanted} is not in ${job.spec.url}`);
    return job.wanted;
  }
  const ref = job.ref.tag ? `refs/tags/${job.ref.tag}` : job.ref.branch ? `refs/remotes/origin/${job.ref.branch}` : 'HEAD';
  return (await git.raw(['rev-parse', `${ref}^{commit}`])).trim();
}

/**
 * Makes `wanted` (or the followed ref's head) present locally, fetching only when needed.
 * Returns the commit to check out.
 */
async function fetchWanted(git: SimpleGit, job: RepoJob, mode: CloneMode): Promise<string> {
  const depth = mode === 'shallow' ? ['--depth', '1'] : [];
  const filter = mode === 'blobless' ? ['--filter=blob:none'] : [];
  if (job.wanted) {
    if (await hasCommit(git, job.wanted)) return job.wanted;
    if (mode === 'shallow') {
      await git.raw(['fetch', '--quiet', '--update-shallow', ...depth, 'origin', job.wanted]);
    } else {
      await git.raw(['fetch', '--quiet', '--update-shallow', '--tags', '--force', ...filter, 'origin', '+refs/heads/*:refs/remotes/origin/*']);
      // A pinned commit that no branch or tag reaches any more: ask for it by id.
      if (!(await hasCommit(git, job.wanted))) await git.raw(['fetch', '--quiet', '--update-shallow', ...filter, 'origin', job.wanted]);
    }
    if (!(await hasCommit(git, job.wanted))) throw new OperationError(`commit ${job.wanted} is not in ${job.spec.url}`);
    return job.wanted;
  }
  if (job.ref.tag) {
    await git.raw(['fetch', '--quiet', '--update-shallow', '--force', ...depth, ...filter, 'origin', `+refs/tags/${job.ref.tag}:refs/tags/${job.ref.tag}`]);
    return (await git.raw(['rev-parse', `refs/tags/${job.ref.tag}^{commit}`])).trim();
  }
  if (job.ref.branch) {
    const tracking = `refs/remotes/origin/${job.ref.branch}`;
    await git.raw(['fetch', '--quiet', '--update-shallow', '--force', ...depth, ...filter, ...(mode === 'full' || mode === 'blobless' ? ['--tags'] : []), 'origin', `+refs/heads/${job.ref.branch}:${tracking}`]);
    return (await git.raw(['rev-parse', `${tracking}^{commit}`])).trim();
  }
  await git.raw(['fetch', '--quiet', '--update-shallow', '--force', ...depth, ...filter, 'origin', '+HEAD:refs/remotes/origin/HEAD']);
  return (await git.raw(['rev-parse', 'refs/remotes/origin/HEAD^{commit}'])).trim();
}

async function updateRepo(job: RepoJob, mode: CloneMode, options: SyncOptions, report: (m: string) => void): Promise<RepoSyncResult> {
  const base = { name: job.name, dir: job.dir };
  if (!(await isDirectory(path.join(job.dir, '.git')))) {
    throw new InputError(`${job.dir} exists but is not a git repository; move it away or delete it`);
  }
  // Fast path: a detached HEAD already at the wanted commit needs no git process at all.
  const detached = await detachedHead(job.dir);
  if (job.wanted && detached === job.wanted) {
    return { ...base, action: 'up-to-date', commit: detached, detail: `at ${detached.slice(0, 12)}` };
  }
  const git = await gitAt(job.dir, options.interactive ?? false);
  const head = detached ?? (await git.raw(['rev-parse', '--verify', '--quiet', 'HEAD']).catch(() => '')).trim();
  if (job.wanted && head === job.wanted) {
    return { ...base, action: 'up-to-date', commit: head, detail: `at ${head.slice(0, 12)}` };
  }

  const remoteUrl = (await git.raw(['config', '--get', 'remote.origin.url']).catch(() => '')).trim();
  if (remoteUrl !== job.spec.url) {
    if (remoteUrl) await git.remote(['set-url', 'origin', job.spec.url]);
    else await git.addRemote('origin', job.spec.url);
  }
  report(job.wanted ? `fetching ${job.wanted.slice(0, 12)}` : `fetching ${job.ref.branch ?? job.ref.tag ?? 'HEAD'}`);
  const target = await fetchWanted(git, job, mode);
  if (target === head) {
    return { ...base, action: 'up-to-date', commit: head, detail: `at ${head.slice(0, 12)}` };
  }

  if (!options.force) {
    const dirty = await uncommittedChanges(git);
    if (dirty) throw new LeftDirty(`has uncommitted changes (${dirty}); left at ${head.slice(0, 12)} instead of ${target.slice(0, 12)} (commit or stash them, or use --force to discard)`, head);
    if (head && head !== job.previouslyLocked && head !== job.spec.commit && (await hasLocalCommits(git))) {
      throw new LeftDirty(`HEAD ${head.slice(0, 12)} has commits that no remote branch or tag contains; left as it is (push them, or use --force to move away from them)`, head);
    }
  }
  report(`checking out ${target.slice(0, 12)}`);
  if (options.force) await git.raw(['reset', '--quiet', '--hard']);
  await git.raw(['checkout', '--quiet', ...(options.force ? ['--force'] : []), '--detach', target]);
  return { ...base, action: 'updated', commit: target, detail: `${head ? head.slice(0, 12) : '(none)'} → ${target.slice(0, 12)}` };
}

/** The commit of a detached HEAD, read from .git/HEAD; undefined when HEAD is a branch or unreadable. */
async function detachedHead(repoDir: string): Promise<string | undefined> {
  const text = await readFile(path.join(repoDir, '.git', 'HEAD'), 'utf8').catch(() => '');
  const commit = text.trim();
  return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
}

async function hasCommit(git: SimpleGit, commit: string): Promise<boolean> {
  try {
    await git.raw(['cat-file', '-e', `${commit}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/** A short description of tracked changes, or '' when the work tree is clean. Untracked files are not lost by a checkout. */
async function uncommittedChanges(git: SimpleGit): Promise<string> {
  const files = (await git.raw(['diff', '--name-only', 'HEAD'])).split('\n').filter(Boolean);
  if (files.length === 0) return '';
  const first = files.slice(0, 3).join(', ');
  return files.length > 3 ? `${first} and ${files.length - 3} more` : first;
}

async function hasLocalCommits(git: SimpleGit): Promise<boolean> {
  const out = await git.raw(['rev-list', '-n', '1', 'HEAD', '--not', '--remotes', '--tags']);
  return out.trim().length > 0;
}

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Clones a killed sync left behind (their owner process is gone). */
async function removeAbandonedClones(job: RepoJob): Promise<void> {
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
async function clearStaleGitLocks(dir: string): Promise<void> {
  for (const name of ['index.lock', 'shallow.lock', 'HEAD.lock']) {
    await rm(path.join(dir, '.git', name), { force: true });
  }
}
