import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { parseLock, type Lock } from '../lock/lock.js';
import { LOCK_FILE } from '../manifest/schema.js';
import { INPUT_LIMITS, readInputFile } from '../util/input.js';
import { gitAt, gitFailure } from './git.js';

export interface RepoMove {
  repo: string;
  change: 'moved' | 'added' | 'removed' | 'unchanged';
  from?: string;
  to?: string;
  /** one line per commit between the two, newest first; undefined when the checkout lacks them */
  log?: string[];
  /** commits from..to counted, and whether `to` descends from `from` */
  ahead?: number;
  behind?: number;
  note?: string;
}

/**
 * A lock from a file, or from a revision of the project's own git history (`HEAD`,
 * `origin/main`, a commit): `REV:layers.lock.yaml`.
 */
export async function loadLockFrom(spec: string, projectDir: string): Promise<{ lock: Lock; label: string }> {
  const asFile = path.resolve(projectDir, spec);
  if (existsSync(asFile))
    return { lock: parseLock(await readInputFile(asFile, { what: 'lock file', maxBytes: INPUT_LIMITS.manifest }), spec), label: spec };
  // a revision is never an option: `lock diff -- --output=FILE` must not make git write a file
  if (spec.startsWith('-')) throw new InputError(`${spec} is neither a lock file nor a git revision`);
  const git = await gitAt(projectDir, false);
  let text: string;
  try {
    const prefix = (await git.revparse(['--show-prefix'])).trim();
    text = await git.show(['--end-of-options', `${spec}:${prefix}${LOCK_FILE}`]);
  } catch (error) {
    throw new InputError(`${spec} is neither a lock file nor a git revision holding ${LOCK_FILE} (${gitFailure(error)})`);
  }
  return { lock: parseLock(text, `${spec}:${LOCK_FILE}`), label: `${spec}:${LOCK_FILE}` };
}

/** Which repos moved between two locks, with the commits in between from the local checkouts. */
export async function diffLocks(older: Lock, newer: Lock, repoDir: (repo: string) => string): Promise<RepoMove[]> {
  const names = [...new Set([...Object.keys(older.repos), ...Object.keys(newer.repos)])].sort();
  return Promise.all(
    names.map(async (repo): Promise<RepoMove> => {
      const a = older.repos[repo];
      const b = newer.repos[repo];
      if (!a) return { repo, change: 'added', to: b!.commit };
      if (!b) return { repo, change: 'removed', from: a.commit };
      if (a.commit === b.commit) return { repo, change: 'unchanged', from: a.commit, to: b.commit };
      const move: RepoMove = { repo, change: 'moved', from: a.commit, to: b.commit };
      if (a.url !== b.url) move.note = `url changed from ${a.url} to ${b.url}`;
      const checkout = repoDir(repo);
      if (!existsSync(path.join(checkout, '.git'))) return { ...move, note: `no checkout in ${checkout} to list the commits` };
      try {
        const git = await gitAt(checkout, false);
        const [behind, ahead] = (await git.raw(['rev-list', '--left-right', '--count', `${a.commit}...${b.commit}`]))
          .trim()
          .split(/\s+/)
          .map(Number);
        const log = (await git.raw(['log', '--format=%h %s', `${a.commit}..${b.commit}`])).split('\n').filter(Boolean);
        return { ...move, ahead, behind, log };
      } catch {
        return { ...move, note: `the commits are not in ${checkout}: run \`yoctoforge sync\` first` };
      }
    }),
  );
}

export function formatLockDiff(moves: RepoMove[], labels: { older: string; newer: string }): string[] {
  const changed = moves.filter((m) => m.change !== 'unchanged');
  if (changed.length === 0) return [`no repo moved between ${labels.older} and ${labels.newer}`];
  const lines = [`${changed.length} of ${moves.length} repos changed between ${labels.older} and ${labels.newer}:`];
  const short = (c?: string): string => c?.slice(0, 12) ?? '';
  for (const m of changed) {
    if (m.change === 'added') lines.push(`  ${m.repo}: added at ${short(m.to)}`);
    else if (m.change === 'removed') lines.push(`  ${m.repo}: removed (was ${short(m.from)})`);
    else {
      const count =
        m.ahead !== undefined
          ? ` (${m.ahead} new commit${m.ahead === 1 ? '' : 's'}${m.behind ? `, ${m.behind} dropped: not a fast-forward` : ''})`
          : '';
      lines.push(`  ${m.repo}: ${short(m.from)} -> ${short(m.to)}${count}`);
      for (const entry of m.log ?? []) lines.push(`      ${entry}`);
    }
    if (m.note) lines.push(`      (${m.note})`);
  }
  return lines;
}
