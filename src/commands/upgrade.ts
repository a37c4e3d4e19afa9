import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { locateBitbake } from '../layers/bitbake.js';
import { findCoreRepo } from '../layers/check.js';
import { checkReposForSeries } from '../layers/release-check.js';
import { loadProject, parseManifest } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { LOCK_FILE, MANIFEST_FILE } from '../manifest/schema.js';
import { findRelease, SERIES_NAMES } from '../manifest/series.js';
import { targetNames } from '../manifest/target.js';
import { planUpgrade } from '../manifest/upgrade.js';
import { pathExists, writeFileAtomic } from '../util/fs.js';
import { logLine, outputMode } from '../util/output.js';
import { formatDuration } from '../util/units.js';

/** Where an upgrade keeps the manifest and lock it replaced, for `upgrade --undo`. */
export const UPGRADE_BACKUP_DIR = '.yoctoforge-upgrade';

export interface UpgradeOptions {
  projectDir: string;
  series?: string;
  undo?: boolean;
}

export async function runUpgrade(options: UpgradeOptions): Promise<void> {
  if (options.undo) return undoUpgrade(options.projectDir);
  const started = Date.now();
  const project = await loadProject(options.projectDir);
  const to = findRelease(options.series);
  if (!to) throw new InputError(`--series ${options.series ?? '(missing)'}: name the release to move to (${SERIES_NAMES.join(', ')})`);
  const from = project.manifest.series ?? 'scarthgap';
  if (from === to.series) throw new InputError(`the manifest is already on ${to.series}`);
  const backupDir = path.join(project.dir, UPGRADE_BACKUP_DIR);
  if (await pathExists(backupDir)) {
    throw new InputError(
      `${UPGRADE_BACKUP_DIR}/ holds the manifest from before an earlier upgrade: undo it (\`yoctoforge upgrade --undo\`) or delete the folder first`,
    );
  }

  // The layout is read from the checkouts: the repository that holds both the core layer and BitBake is a combined poky.
  const { repoDir } = projectPaths(project);
  const [coreRepo, bitbake] = await Promise.all([findCoreRepo(project.manifest, repoDir), locateBitbake(project.manifest, repoDir)]);
  if (!coreRepo || !bitbake.ref)
    throw new InputError(
      'the core layer or BitBake is not in layers/: run `yoctoforge sync` before an upgrade',
      bitbake.problem ? [bitbake.problem] : [],
    );
  const pokyRepo = bitbake.ref.split('/')[0] === coreRepo ? coreRepo : undefined;

  const plan = planUpgrade(project.manifestText, project.manifest, to, pokyRepo);
  logLine(`checking ${plan.repos.length} repositories for ${to.series} (${to.version})`);
  const check = await checkReposForSeries(plan.repos, to.series, outputMode().interactive);
  if (check.problems.length > 0) {
    throw new InputError(`cannot move to ${to.series}: ${check.problems.length} problem(s); nothing was changed`, check.problems);
  }
  parseManifest(plan.text, project.manifestFile);

  await mkdir(backupDir, { recursive: true });
  await copyFile(project.manifestFile, path.join(backupDir, MANIFEST_FILE));
  const lockFile = path.join(project.dir, LOCK_FILE);
  const hadLock = await pathExists(lockFile);
  if (hadLock) await copyFile(lockFile, path.join(backupDir, LOCK_FILE));
  await writeFileAtomic(project.manifestFile, plan.text);
  // The old lock pins the old release's commits; the next sync writes one for the new branches.
  if (hadLock) await rm(lockFile);

  for (const repo of plan.repos) {
    const ref = repo.ref.branch ?? repo.ref.tag ?? 'HEAD';
    logLine(`${repo.name}: ${repo.added ? `added (${repo.url})` : 'moves'} → ${ref} (${check.heads[repo.name]?.slice(0, 12) ?? '?'})`);
  }
  if (plan.replacedPoky) {
    logLine(
      `${plan.replacedPoky}: replaced by ${to.coreRepos.map((c) => c.name).join(' + ')}; layers/${plan.replacedPoky} is no longer used (delete it once the move is done)`,
    );
  }
  for (const note of plan.notes) logLine(`note: ${note}`);
  logLine(
    `moved ${MANIFEST_FILE} from ${from} to ${to.series} in ${formatDuration((Date.now() - started) / 1000)}; the old manifest${hadLock ? ' and lock are' : ' is'} in ${UPGRADE_BACKUP_DIR}/ (undo: yoctoforge upgrade --undo)`,
  );
  const target = targetNames(project)[0];
  logLine(`next: yoctoforge sync && yoctoforge build ${target ?? 'TARGET'} --dry-run`);
}

/** Puts back the manifest and lock an upgrade replaced. */
async function undoUpgrade(projectDir: string): Promise<void> {
  const dir = path.resolve(projectDir);
  const backupDir = path.join(dir, UPGRADE_BACKUP_DIR);
  const savedManifest = path.join(backupDir, MANIFEST_FILE);
  if (!(await pathExists(savedManifest))) throw new InputError(`nothing to undo: no ${UPGRADE_BACKUP_DIR}/${MANIFEST_FILE} in ${dir}`);
  parseManifest(await readFile(savedManifest, 'utf8'), savedManifest);
  await writeFileAtomic(path.join(dir, MANIFEST_FILE), await readFile(savedManifest));
  const savedLock = path.join(backupDir, LOCK_FILE);
  if (await pathExists(savedLock)) await writeFileAtomic(path.join(dir, LOCK_FILE), await readFile(savedLock));
  else await rm(path.join(dir, LOCK_FILE), { force: true });
  await rm(backupDir, { recursive: true, force: true });
  logLine(`restored ${MANIFEST_FILE}${(await pathExists(path.join(dir, LOCK_FILE))) ? ` and ${LOCK_FILE}` : ''} from before the upgrade`);
  logLine('next: yoctoforge sync');
}
