import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Project } from '../manifest/load.js';
import { INPUT_LIMITS, readInputFile } from '../util/input.js';
import { parseYaml } from '../util/yaml.js';
import {
  commitId,
  gitUrl,
  isRemoteRepo,
  LOCK_FILE,
  matchesPin,
  MANIFEST_FILE,
  projectPath,
  repoName,
  type RemoteRepoSpec,
  type RepoSpec,
} from '../manifest/schema.js';

const lockedRepoSchema = z.strictObject({
  url: gitUrl,
  branch: z.string().optional(),
  tag: z.string().optional(),
  /** the upstream commit the patches apply on; HEAD is `patched` */
  commit: commitId,
  /** the manifest's patches in the order applied, each file with its content's hash */
  patches: z.array(z.strictObject({ path: projectPath, sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hash') })).optional(),
  /** the commit the patches produced (reproducible: fixed identity and dates) */
  patched: commitId.optional(),
});

/** A local repo (`path:` in the manifest): used in place, so there is no commit to lock. */
const lockedLocalRepoSchema = z.strictObject({ path: projectPath });

const lockSchema = z.strictObject({
  version: z.literal(1),
  // names become paths under layers/: `../../x` must never get that far
  repos: z.record(repoName, lockedRepoSchema),
  local: z.record(repoName, lockedLocalRepoSchema).optional(),
});

export type LockedRepo = z.infer<typeof lockedRepoSchema>;
export type LockedPatch = NonNullable<LockedRepo['patches']>[number];
export type Lock = z.infer<typeof lockSchema>;

export function lockFilePath(project: Project): string {
  return path.join(project.dir, LOCK_FILE);
}

export async function readLock(project: Project): Promise<Lock | undefined> {
  const file = lockFilePath(project);
  const text = await readInputFile(file, { what: 'lock file', maxBytes: INPUT_LIMITS.manifest, optional: true });
  return text === undefined ? undefined : parseLock(text, file);
}

export function parseLock(text: string, file: string): Lock {
  const { data } = parseYaml(text, file, `${file} is not valid YAML`);
  const result = lockSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InputError(
      `${file} is not a yoctoforge lock file: ${
        issue.path
          .map(String)
          .map((k) => JSON.stringify(k).slice(1, -1))
          .join('.') || '(top level)'
      }: ${issue.message} (delete it and run \`yoctoforge sync\`)`,
    );
  }
  return result.data;
}

export function renderLock(lock: Lock): string {
  const lines = [
    '# Exact commits of every layer repository, written by `yoctoforge sync`.',
    '# Commit this file next to layers.yaml; `yoctoforge sync --update` moves it forward.',
    'version: 1',
    'repos:',
  ];
  for (const name of Object.keys(lock.repos).sort()) {
    const repo = lock.repos[name]!;
    lines.push(`  ${name}:`);
    lines.push(`    url: ${JSON.stringify(repo.url)}`);
    if (repo.branch) lines.push(`    branch: ${JSON.stringify(repo.branch)}`);
    if (repo.tag) lines.push(`    tag: ${JSON.stringify(repo.tag)}`);
    lines.push(`    commit: ${repo.commit}`);
    if (repo.patches) {
      lines.push('    patches:');
      for (const p of repo.patches) lines.push(`      - path: ${JSON.stringify(p.path)}`, `        sha256: ${p.sha256}`);
    }
    if (repo.patched) lines.push(`    patched: ${repo.patched}`);
  }
  const local = Object.keys(lock.local ?? {}).sort();
  if (local.length > 0) {
    lines.push('# Repos kept in the project itself, used in place: no commit to lock.', 'local:');
    for (const name of local) lines.push(`  ${name}:`, `    path: ${JSON.stringify(lock.local![name]!.path)}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function writeLock(project: Project, lock: Lock): Promise<void> {
  await writeFileAtomic(lockFilePath(project), renderLock(lock));
}

/** The ref a repo follows: manifest's branch or tag, else the release series. */
export function followedRef(spec: RepoSpec, series: string | undefined): { branch?: string; tag?: string } {
  if (spec.tag) return { tag: spec.tag };
  if (spec.branch) return { branch: spec.branch };
  if (series) return { branch: series };
  return {};
}

/**
 * Why the lock no longer describes the manifest, one reason per repo; empty when it does.
 * A lock entry is stale when its repo's URL or followed ref changed, or a pinned commit differs.
 */
/** The lock, required to exist and to match the manifest, for exports that pin commits (`what` says which). */
export async function readCurrentLock(project: Project, what: string): Promise<Lock> {
  const lock = await readLock(project);
  if (!lock) throw new InputError(`no ${LOCK_FILE} in ${project.dir}: ${what} pins commits, so run \`yoctoforge sync\` first`);
  const stale = lockStaleness(project, lock);
  if (stale.length > 0) throw new InputError(`${LOCK_FILE} does not match ${MANIFEST_FILE} (run \`yoctoforge sync\`)`, stale);
  return lock;
}

export function lockStaleness(project: Project, lock: Lock): string[] {
  const repos = project.manifest.repos;
  const reasons = Object.entries(repos).flatMap(([name, spec]) => {
    const problem = isRemoteRepo(spec)
      ? repoLockProblem(spec, lock.repos[name], project.manifest.series)
      : localLockProblem(spec.path!, lock.local?.[name]);
    return problem ? [`${name}: ${problem}`] : [];
  });
  for (const name of [...Object.keys(lock.repos), ...Object.keys(lock.local ?? {})]) {
    if (!(name in repos)) reasons.push(`${name}: in the lock but no longer in the manifest`);
  }
  return reasons;
}

function localLockProblem(dir: string, locked: { path: string } | undefined): string | undefined {
  if (!locked) return 'not in the lock';
  return locked.path === dir ? undefined : `path changed (${locked.path} → ${dir})`;
}

/** Why one lock entry does not describe its manifest entry, or undefined when it does. */
export function repoLockProblem(spec: RemoteRepoSpec, locked: LockedRepo | undefined, series: string | undefined): string | undefined {
  if (!locked) return 'not in the lock';
  if (locked.url !== spec.url) return `url changed (${locked.url} → ${spec.url})`;
  const ref = followedRef(spec, series);
  if ((ref.branch ?? '') !== (locked.branch ?? '') || (ref.tag ?? '') !== (locked.tag ?? '')) {
    return `ref changed (${describeRef(locked)} → ${describeRef(ref)})`;
  }
  if (spec.commit && !matchesPin(locked.commit, spec.commit)) {
    return `pinned commit ${spec.commit.slice(0, 12)} but locked ${locked.commit.slice(0, 12)}`;
  }
  return undefined;
}

function describeRef(ref: { branch?: string; tag?: string }): string {
  return ref.tag ? `tag ${ref.tag}` : ref.branch ? `branch ${ref.branch}` : 'default branch';
}
