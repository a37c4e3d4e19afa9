import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError, OperationError } from '../errors.js';
import type { Project } from '../manifest/load.js';
import { followedRef, lockStaleness, readLock, renderLock, repoLockProblem, writeLock, type Lock, type LockedRepo } from '../lock/lock.js';
import { projectPaths } from '../manifest/paths.js';
import { isRemoteRepo, matchesPin, type RemoteRepoSpec } from '../manifest/schema.js';
import { applyPatches, resolvePatches, samePatches, type ResolvedPatch } from './patches.js';
import { mapLimit } from '../util/concurrency.js';
import { acquirePidfile } from '../util/pidfile.js';
import {
  checkoutDetached,
  clearStaleGitLocks,
  cloneRepo,
  detachedHead,
  fetchWanted,
  hasLocalCommits,
  headCommit,
  isCreatedCheckout,
  isDirectory,
  removeAbandonedClones,
  setOrigin,
  tagIds,
  uncommittedChanges,
  type CheckoutJob,
  type CloneMode,
} from './checkout.js';
import { gitAt, gitFailure, isMissingRef, missingRefMessage } from './git.js';

export type { CloneMode } from './checkout.js';

/** One sync at a time per layers directory. */
const SYNC_PIDFILE = '.yoctoforge-sync.lock';

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

export type RepoAction = 'cloned' | 'updated' | 'up-to-date' | 'local' | 'left-dirty' | 'failed';

export interface RepoSyncResult {
  name: string;
  dir: string;
  action: RepoAction;
  commit?: string;
  /** the commit the repo's patches made on top of `commit` */
  patched?: string;
  /** what happened, for the report */
  detail: string;
}

export interface SyncResult {
  lock: Lock;
  lockWritten: boolean;
  repos: RepoSyncResult[];
}

interface RepoJob extends CheckoutJob {
  spec: RemoteRepoSpec;
  /** the commit the lock held before, which is not "local work" */
  previouslyLocked?: string;
  /** the lock's entry before this sync: its patches and the commit they made */
  lockedBefore?: LockedRepo;
  patches: ResolvedPatch[];
  projectDir: string;
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
  const { release, recovered } = await acquirePidfile(
    path.join(layersDir, SYNC_PIDFILE),
    (pid) => `another yoctoforge sync (pid ${pid}) is working in ${layersDir}; wait for it to finish`,
  );
  const paths = projectPaths(project);
  const jobs: RepoJob[] = [];
  const localRepos: Array<[string, string]> = [];
  try {
    for (const [name, spec] of Object.entries(project.manifest.repos)) {
      if (!isRemoteRepo(spec)) {
        localRepos.push([name, spec.path!]);
        continue;
      }
      const lockedRepo = lock?.repos[name];
      const lockUsable = !options.update && lockedRepo !== undefined && !repoLockProblem(spec, lockedRepo, project.manifest.series);
      const patches = await resolvePatches(project.dir, spec.patches ?? []);
      if (options.locked && !samePatches(lockedRepo?.patches, patches)) {
        throw new InputError(`--locked: the patches of ${name} are not the ones layers.lock.yaml records (run \`yoctoforge sync\`)`);
      }
      jobs.push({
        name,
        spec,
        url: spec.url,
        dir: paths.repoDir(name),
        ref: followedRef(spec, project.manifest.series),
        // the lock holds a pin's full id (an abbreviated pin is resolved in the clone once)
        wanted: (lockUsable ? lockedRepo.commit : undefined) ?? spec.commit,
        previouslyLocked: lockedRepo?.commit,
        lockedBefore: lockedRepo,
        patches,
        projectDir: project.dir,
      });
    }
  } catch (error) {
    await release();
    throw error;
  }
  const mode = options.cloneMode ?? project.manifest.sync?.clone ?? 'full';

  const finish = async (results: RepoSyncResult[]): Promise<SyncResult> => {
    try {
      const newLock: Lock = { version: 1, repos: {} };
      for (const job of jobs) {
        const result = results.find((r) => r.name === job.name);
        const moved = result && result.action !== 'left-dirty' && result.action !== 'failed';
        if (!moved) {
          if (lock?.repos[job.name]) newLock.repos[job.name] = lock.repos[job.name]!;
          continue;
        }
        if (!result.commit) continue;
        const entry: LockedRepo = { url: job.spec.url, ...job.ref, commit: result.commit };
        if (job.patches.length > 0) Object.assign(entry, { patches: job.patches, patched: result.patched });
        newLock.repos[job.name] = entry;
      }
      if (localRepos.length > 0) newLock.local = Object.fromEntries(localRepos.map(([name, dir]) => [name, { path: dir }]));
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
    repos: [
      ...jobs.map((job) => ({ name: job.name, run: () => syncRepo(job, mode, options, recovered) })),
      // never cloned, fetched or moved: not even --force touches the project's own files
      ...localRepos.map(([name, dir]) => ({
        name,
        run: async (): Promise<RepoSyncResult> => ({ name, dir: paths.repoDir(name), action: 'local', detail: `used in place (${dir})` }),
      })),
    ],
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
    let result: RepoSyncResult;
    if (!exists) {
      report(`cloning ${job.spec.url}`);
      const commit = await cloneRepo(job, mode, options.interactive ?? false);
      result = { ...base, action: 'cloned', commit, detail: `cloned at ${commit.slice(0, 12)}` };
    } else result = await updateRepo(job, mode, options, report, recovering);
    // Checked on the base commit, before patches. kas refuses a tag and a commit that disagree
    // (same id as the tag's commit or its annotated tag object, so an abbreviated commit beside a
    // tag is refused too); checked on every sync, so that a refused pin is never locked later.
    if (job.spec.tag && job.spec.commit && result.commit) {
      const tagged = await tagIds(await gitAt(job.dir, options.interactive ?? false), job.spec.tag, mode);
      if (job.spec.commit !== tagged.commit && job.spec.commit !== tagged.object) {
        throw new InputError(
          `repos.${job.name}: tag "${job.spec.tag}" is at ${tagged.commit}, not at commit ${job.spec.commit} (kas refuses the mismatch too): fix the tag or the commit`,
        );
      }
    }
    return await withPatches(job, result, options, report);
  } catch (error) {
    if (error instanceof LeftDirty) return { ...base, action: 'left-dirty', commit: error.head, detail: error.message };
    const ref = job.ref.branch ?? job.ref.tag;
    const detail =
      error instanceof InputError || error instanceof OperationError
        ? error.message
        : ref && isMissingRef(error)
          ? missingRefMessage(job.spec.url, ref)
          : gitFailure(error);
    return { ...base, action: 'failed', detail };
  }
}

/** Applies the job's patches on the commit the checkout is at, unless HEAD already is their result. */
async function withPatches(
  job: RepoJob,
  result: RepoSyncResult,
  options: SyncOptions,
  report: (m: string) => void,
): Promise<RepoSyncResult> {
  if (job.patches.length === 0 || result.patched || !result.commit) return result;
  const git = await gitAt(job.dir, options.interactive ?? false);
  const dirty = await uncommittedChanges(git);
  if (dirty && !options.force) {
    throw new LeftDirty(
      `has uncommitted changes (${dirty}); its patches are not applied on top of them (commit or stash them, or use --force to discard)`,
      await headCommit(git),
    );
  }
  if ((await headCommit(git)) !== result.commit || dirty) await checkoutDetached(git, result.commit, options.force ?? false);
  report(`applying ${job.patches.length} patch(es)`);
  const patched = await applyPatches(job.name, job.dir, job.projectDir, result.commit, job.patches);
  const n = job.patches.length;
  return {
    ...result,
    action: result.action === 'up-to-date' ? 'updated' : result.action,
    patched,
    detail: `${result.detail}, ${n} patch(es) applied → ${patched.slice(0, 12)}`,
  };
}

class LeftDirty extends Error {
  constructor(
    message: string,
    readonly head: string,
  ) {
    super(message);
  }
}

async function updateRepo(
  job: RepoJob,
  mode: CloneMode,
  options: SyncOptions,
  report: (m: string) => void,
  recovering: boolean,
): Promise<RepoSyncResult> {
  const base = { name: job.name, dir: job.dir };
  if (!(await isDirectory(path.join(job.dir, '.git')))) {
    throw new InputError(`${job.dir} exists but is not a git repository; move it away or delete it`);
  }
  // Fast path: a detached HEAD already at the wanted commit needs no git process at all.
  const detached = await detachedHead(job.dir);
  // HEAD is the commit the same patches made on the same base: nothing to do
  const alreadyPatched = (baseCommit: string | undefined, headCommitNow: string | undefined): RepoSyncResult | undefined => {
    const before = job.lockedBefore;
    if (job.patches.length === 0 || !before?.patched || headCommitNow !== before.patched || baseCommit !== before.commit) return undefined;
    if (!samePatches(before.patches, job.patches)) return undefined;
    const detail = `at ${before.commit.slice(0, 12)} + ${job.patches.length} patch(es)`;
    return { ...base, action: 'up-to-date', commit: before.commit, patched: before.patched, detail };
  };
  const patchedAlready = alreadyPatched(job.wanted, detached);
  if (patchedAlready) return patchedAlready;
  if (job.wanted && detached === job.wanted) {
    return { ...base, action: 'up-to-date', commit: detached, detail: `at ${detached.slice(0, 12)}` };
  }
  const git = await gitAt(job.dir, options.interactive ?? false);
  const head = detached ?? (await headCommit(git));
  if (job.wanted && head === job.wanted) {
    return { ...base, action: 'up-to-date', commit: head, detail: `at ${head.slice(0, 12)}` };
  }
  // not even --force touches a repository yoctoforge did not create
  if (!(await isCreatedCheckout(git, job.dir, job.url))) {
    throw new InputError(
      `${job.dir} is a git repository yoctoforge did not create (a branch checked out, or another origin); it is left untouched: point layers_dir elsewhere, or move it away and sync again`,
    );
  }
  if (recovering) await clearStaleGitLocks(job.dir);

  await setOrigin(git, job.url);
  report(job.wanted ? `fetching ${job.wanted.slice(0, 12)}` : `fetching ${job.ref.branch ?? job.ref.tag ?? 'HEAD'}`);
  const commit = await fetchWanted(git, job, mode);
  const patchedAtFetched = alreadyPatched(commit, head);
  if (patchedAtFetched) return patchedAtFetched;
  if (commit === head) {
    return { ...base, action: 'up-to-date', commit: head, detail: `at ${head.slice(0, 12)}` };
  }

  if (!options.force) {
    const dirty = await uncommittedChanges(git);
    if (dirty)
      throw new LeftDirty(
        `has uncommitted changes (${dirty}); left at ${head.slice(0, 12)} instead of ${commit.slice(0, 12)} (commit or stash them, or use --force to discard)`,
        head,
      );
    const ours = [job.previouslyLocked, job.lockedBefore?.patched];
    if (head && !ours.includes(head) && !(job.spec.commit && matchesPin(head, job.spec.commit)) && (await hasLocalCommits(git))) {
      throw new LeftDirty(
        `HEAD ${head.slice(0, 12)} has commits that no remote branch or tag contains; left as it is (push them, or use --force to move away from them)`,
        head,
      );
    }
  }
  report(`checking out ${commit.slice(0, 12)}`);
  await checkoutDetached(git, commit, options.force ?? false);
  return { ...base, action: 'updated', commit, detail: `${head ? head.slice(0, 12) : '(none)'} → ${commit.slice(0, 12)}` };
}
