import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { followedRef, type Lock } from '../lock/lock.js';
import type { Project } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { isRemoteRepo } from '../manifest/schema.js';
import { resolvePatches, samePatches } from './patches.js';
import { hasCommit, headCommit, isDirectory } from './checkout.js';
import { gitAt } from './git.js';

/** Ahead/behind counts of HEAD against a commit; undefined counts when that commit is not in the checkout. */
export interface Position {
  /** what HEAD is compared with: the locked commit, or the remote-tracking ref (e.g. origin/scarthgap) */
  against: string;
  commit?: string;
  ahead?: number;
  behind?: number;
}

/** One layer checkout as it is on disk, read without the network. */
export interface RepoStatus {
  repo: string;
  /** relative to the project */
  dir: string;
  present: boolean;
  head?: string;
  /** the checked-out branch; undefined when detached (sync leaves checkouts detached at the lock) */
  branch?: string;
  detached: boolean;
  /** tracked files with uncommitted changes */
  changed: string[];
  untracked: number;
  /** commits no remote-tracking ref or tag contains: work that exists only here */
  localCommits: number;
  lock?: Position;
  /** the followed branch's (or tag's) last fetched head; undefined when neither is known locally */
  upstream?: Position;
  /** a repo kept in the project (`path:`): used in place, never moved by sync; git facts are of the repository holding it, if any */
  local?: boolean;
  /** the repo's `patches:`: how many files, whether HEAD is the commit they made, whether a file changed since the lock */
  patches?: { files: number; applied: boolean; changedSinceSync: boolean };
}

export async function repoStatuses(project: Project, lock: Lock | undefined): Promise<RepoStatus[]> {
  const paths = projectPaths(project);
  return Promise.all(
    Object.entries(project.manifest.repos).map(async ([repo, spec]): Promise<RepoStatus> => {
      const dir = paths.repoDir(repo);
      const base = { repo, dir: path.relative(project.dir, dir) || '.', changed: [], untracked: 0, localCommits: 0, detached: false };
      if (!isRemoteRepo(spec)) return localStatus(base, dir);
      if (!(await isDirectory(path.join(dir, '.git')))) return { ...base, present: false };
      const git = await gitAt(dir, false);
      const head = await headCommit(git);
      const branch = (await git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim() || undefined;
      const { changed, untracked } = await workTree(git);
      const entry = lock?.repos[repo];
      // the commits sync made from the patches are not local work
      const ours = entry?.patched && (await hasCommit(git, entry.patched)) ? [entry.patched] : [];
      const localCommits = head
        ? Number((await git.raw(['rev-list', '--count', 'HEAD', '--not', '--remotes', '--tags', ...ours])).trim())
        : 0;
      const locked = entry ? (entry.patched ?? entry.commit) : undefined;
      const patches = spec.patches
        ? await resolvePatches(project.dir, spec.patches).then((files) => ({
            files: files.length,
            applied: head !== '' && head === entry?.patched,
            changedSinceSync: !samePatches(entry?.patches, files),
          }))
        : undefined;
      const ref = followedRef(spec, project.manifest.series);
      const upstreamRef = ref.tag ? `refs/tags/${ref.tag}` : ref.branch ? `refs/remotes/origin/${ref.branch}` : 'refs/remotes/origin/HEAD';
      const upstreamCommit =
        (await git.raw(['rev-parse', '--verify', '--quiet', `${upstreamRef}^{commit}`]).catch(() => '')).trim() || undefined;
      return {
        ...base,
        present: true,
        head: head || undefined,
        branch,
        detached: branch === undefined,
        changed,
        untracked,
        localCommits,
        ...(patches ? { patches } : {}),
        lock: locked ? await position(git, head, 'lock', locked) : undefined,
        upstream: upstreamCommit
          ? await position(git, head, upstreamRef.replace(/^refs\/(remotes\/|tags\/)?/, ''), upstreamCommit)
          : undefined,
      };
    }),
  );
}

/** A local repo: there when its folder is; clean or dirty when a git repository holds it (the project's own, usually). */
async function localStatus(base: Omit<RepoStatus, 'present'>, dir: string): Promise<RepoStatus> {
  if (!(await isDirectory(dir))) return { ...base, local: true, present: false };
  const git = await gitAt(dir, false);
  const inRepo = (await git.raw(['rev-parse', '--is-inside-work-tree']).catch(() => '')).trim() === 'true';
  if (!inRepo) return { ...base, local: true, present: true };
  const list = async (args: string[]): Promise<string[]> => (await git.raw(args).catch(() => '')).split('\n').filter(Boolean);
  return {
    ...base,
    local: true,
    present: true,
    changed: await list(['diff', '--name-only', '--relative', 'HEAD', '--', '.']),
    untracked: (await list(['ls-files', '--others', '--exclude-standard', '--', '.'])).length,
  };
}

async function workTree(git: SimpleGit): Promise<{ changed: string[]; untracked: number }> {
  const list = async (args: string[]): Promise<string[]> => (await git.raw(args)).split('\n').filter(Boolean);
  return {
    changed: await list(['diff', '--name-only', 'HEAD']),
    untracked: (await list(['ls-files', '--others', '--exclude-standard'])).length,
  };
}

async function position(git: SimpleGit, head: string, against: string, commit: string): Promise<Position> {
  if (!head || !(await hasCommit(git, commit))) return { against, commit };
  const [ahead, behind] = (await git.raw(['rev-list', '--left-right', '--count', `${head}...${commit}`])).trim().split(/\s+/).map(Number);
  return { against, commit, ahead, behind };
}
