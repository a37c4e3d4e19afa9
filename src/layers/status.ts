import path from 'node:path';
import { followedRef, type Lock } from '../lock/lock.js';
import type { Project } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { detachedHead, hasCommit, hasLocalCommits, headCommit, isDirectory, uncommittedChanges } from './checkout.js';
import { gitAt } from './git.js';

export interface RepoStatus {
  repo: string;
  /** relative to the project */
  path: string;
  state: 'not-synced' | 'clean' | 'dirty' | 'not-a-git-repository';
  head?: string;
  detached?: boolean;
  /** tracked files with changes, described */
  changes?: string;
  /** HEAD has commits no remote branch or tag contains */
  localCommits?: boolean;
  lockCommit?: string;
  /** HEAD against the locked commit; undefined when either is unknown here */
  againstLock?: Position;
  /** the followed branch's last fetched head (no network is used) */
  branch?: string;
  againstBranch?: Position;
}

export interface Position {
  ahead: number;
  behind: number;
}

/** Where each checkout stands: its work tree, and HEAD against the lock and the last fetched branch head. */
export async function repoStatuses(project: Project, lock: Lock | undefined): Promise<RepoStatus[]> {
  const { layersDir } = projectPaths(project);
  const out: RepoStatus[] = [];
  for (const [repo, spec] of Object.entries(project.manifest.repos)) {
    const dir = path.join(layersDir, repo);
    const status: RepoStatus = { repo, path: path.relative(project.dir, dir), state: 'not-synced', lockCommit: lock?.repos[repo]?.commit };
    out.push(status);
    if (!(await isDirectory(dir))) continue;
    if (!(await isDirectory(path.join(dir, '.git')))) {
      status.state = 'not-a-git-repository';
      continue;
    }
    const git = await gitAt(dir, false);
    status.head = await headCommit(git);
    status.detached = (await detachedHead(dir)) !== undefined;
    status.changes = await uncommittedChanges(git);
    status.state = status.changes ? 'dirty' : 'clean';
    status.localCommits = await hasLocalCommits(git);
    const position = async (other: string): Promise<Position | undefined> => {
      if (!status.head || !(await hasCommit(git, other))) return undefined;
      const [behind, ahead] = (await git.raw(['rev-list', '--left-right', '--count', `${other}...${status.head}`]))
        .trim()
        .split(/\s+/)
        .map(Number);
      return { ahead: ahead ?? 0, behind: behind ?? 0 };
    };
    if (status.lockCommit) status.againstLock = await position(status.lockCommit);
    const branch = followedRef(spec, project.manifest.series).branch;
    if (branch) {
      const remoteHead = (
        await git.raw(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}^{commit}`]).catch(() => '')
      ).trim();
      if (remoteHead) {
        status.branch = branch;
        status.againstBranch = await position(remoteHead);
      }
    }
  }
  return out;
}

export function describePosition(p: Position | undefined, what: string): string {
  if (!p) return `${what} unknown`;
  if (p.ahead === 0 && p.behind === 0) return `at ${what}`;
  return [p.ahead ? `${p.ahead} ahead of` : '', p.behind ? `${p.behind} behind` : ''].filter(Boolean).join(', ') + ` ${what}`;
}
