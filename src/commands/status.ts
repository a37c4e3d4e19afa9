import { existsSync } from 'node:fs';
import path from 'node:path';
import { diskImageArtifact } from '../bitbake/artifacts.js';
import { readReport } from '../bitbake/report.js';
import { renderedConfState } from '../conf/current.js';
import { UserError } from '../errors.js';
import { inspectLayers } from '../layers/check.js';
import { repoStatuses, type Position, type RepoStatus } from '../layers/status.js';
import { readLock } from '../lock/lock.js';
import { loadProject } from '../manifest/load.js';
import { loadOverrides, type OverrideFlags } from '../manifest/overrides.js';
import { projectPaths } from '../manifest/paths.js';
import { resolveTarget, targetNames } from '../manifest/target.js';
import { formatDuration } from '../util/units.js';

export interface TargetStatus {
  target: string;
  conf: { state: 'current' | 'stale' | 'missing' | 'unknown'; differing?: string[]; reason?: string };
  lastBuild?: { result: string; mode: string; finishedAt: string; durationSeconds: number; image: string; diskImage?: string };
}

export interface ProjectStatus {
  overrideFiles: string[];
  repos: RepoStatus[];
  targets: TargetStatus[];
}

/** Layer checkouts against the lock and their branch, each target's conf and last build: read only, no network. */
export async function runStatus(options: { projectDir: string; json: boolean; overrides?: OverrideFlags }): Promise<void> {
  const project = await loadProject(options.projectDir);
  const overrides = await loadOverrides(project, options.overrides);
  const lock = await readLock(project);
  const repos = await repoStatuses(project, lock);
  const targets: TargetStatus[] = [];
  for (const name of targetNames(project)) {
    const buildDir = projectPaths(project).buildDir(name);
    const reportFile = path.join(buildDir, 'report.json');
    const report = existsSync(reportFile) ? await readReport(reportFile).catch(() => undefined) : undefined;
    const disk = report ? diskImageArtifact(report.artifacts) : undefined;
    targets.push({
      target: name,
      conf: await confStatus(),
      lastBuild: report && {
        result: report.result,
        mode: report.mode,
        finishedAt: report.finishedAt,
        durationSeconds: report.durationSeconds,
        image: report.image,
        diskImage: disk?.path,
      },
    });

    async function confStatus(): Promise<TargetStatus['conf']> {
      try {
        const target = resolveTarget(project, name, overrides.forTarget);
        const layers = await inspectLayers(project, target);
        if (layers.problems.length > 0) return { state: 'unknown', reason: `layer check: ${layers.problems[0]!}` };
        return await renderedConfState(project, target, layers);
      } catch (error) {
        if (error instanceof UserError) return { state: 'unknown', reason: error.message };
        throw error;
      }
    }
  }
  const status: ProjectStatus = { overrideFiles: overrides.files, repos, targets };
  process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : humanStatus(status));
}

function humanStatus(status: ProjectStatus): string {
  const out: string[] = [];
  if (status.overrideFiles.length > 0) out.push(`override files: ${status.overrideFiles.join(', ')}`, '');
  out.push('repos');
  const width = Math.max(...status.repos.map((r) => r.repo.length));
  for (const r of status.repos) {
    if (r.local) {
      const state = !r.present
        ? `missing: ${r.dir} does not exist`
        : r.changed.length > 0
          ? `dirty (${r.changed.length} changed)`
          : 'clean';
      out.push(`  ${r.repo.padEnd(width)}  local (${r.dir}), ${state}${r.untracked > 0 ? `, ${r.untracked} untracked` : ''}`);
      continue;
    }
    if (!r.present) {
      out.push(`  ${r.repo.padEnd(width)}  not checked out (${r.dir}): run \`yoctoforge sync\``);
      continue;
    }
    const parts = [
      r.detached
        ? `detached at ${r.head?.slice(0, 12) ?? '(no commit)'}`
        : `on branch ${r.branch!} at ${r.head?.slice(0, 12) ?? '(no commit)'}`,
    ];
    parts.push(
      r.changed.length > 0
        ? `dirty (${r.changed.length} changed: ${r.changed.slice(0, 3).join(', ')}${r.changed.length > 3 ? ', ...' : ''})`
        : 'clean',
    );
    if (r.untracked > 0) parts.push(`${r.untracked} untracked`);
    if (r.localCommits > 0) parts.push(`${r.localCommits} local commit${r.localCommits === 1 ? '' : 's'}`);
    if (r.patches)
      parts.push(
        `${r.patches.files} patch(es) ${r.patches.applied ? 'applied' : 'not applied'}${r.patches.changedSinceSync ? ', patches changed since sync (run `yoctoforge sync`)' : ''}`,
      );
    parts.push(r.lock ? describePosition(r.lock) : 'not in the lock');
    if (r.upstream) parts.push(describePosition(r.upstream));
    out.push(`  ${r.repo.padEnd(width)}  ${parts.join(', ')}`);
  }
  out.push('', 'targets');
  const targetWidth = Math.max(...status.targets.map((t) => t.target.length));
  for (const t of status.targets) {
    const conf =
      t.conf.state === 'stale'
        ? `conf stale (${t.conf.differing!.join(', ')}: run \`yoctoforge config ${t.target}\`)`
        : t.conf.state === 'unknown'
          ? `conf unknown (${t.conf.reason!})`
          : `conf ${t.conf.state}`;
    const b = t.lastBuild;
    const build = b
      ? `last ${b.mode} ${b.result} at ${b.finishedAt} (${formatDuration(b.durationSeconds)}), ${b.image}${b.diskImage ? ` → ${b.diskImage}` : ''}`
      : 'never built';
    out.push(`  ${t.target.padEnd(targetWidth)}  ${conf}; ${build}`);
  }
  return `${out.join('\n')}\n`;
}

function describePosition(p: Position): string {
  const where = p.against === 'lock' ? 'the lock' : p.against;
  if (p.ahead === undefined || p.behind === undefined) return `${where} ${p.commit?.slice(0, 12) ?? ''} not fetched`;
  if (p.ahead === 0 && p.behind === 0) return `at ${where}`;
  if (p.behind === 0) return `${p.ahead} ahead of ${where}`;
  return p.ahead === 0 ? `${p.behind} behind ${where}` : `${p.ahead} ahead of, ${p.behind} behind ${where}`;
}
