import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readReport, type BuildReport } from '../bitbake/report.js';
import { renderConfText } from '../conf/render.js';
import { inspectLayers } from '../layers/check.js';
import { describePosition, repoStatuses, type RepoStatus } from '../layers/status.js';
import { readLock } from '../lock/lock.js';
import { loadProject } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { resolveTarget, targetNames } from '../manifest/target.js';

export interface StatusOptions {
  projectDir: string;
  json: boolean;
}

interface TargetStatus {
  target: string;
  /** whether build/TARGET/conf holds what yoctoforge would render now */
  conf: 'current' | 'stale' | 'not-rendered' | 'unknown';
  lastBuild?: Pick<BuildReport, 'result' | 'mode' | 'finishedAt' | 'durationSeconds'> & { ran?: string; image?: string };
}

/** The checkouts against the lock, and per target whether its conf is current and how its last build went. */
export async function runStatus(options: StatusOptions): Promise<void> {
  const project = await loadProject(options.projectDir);
  const lock = await readLock(project);
  const repos = await repoStatuses(project, lock);
  const targets: TargetStatus[] = [];
  for (const name of targetNames(project)) {
    const target = resolveTarget(project, name);
    const buildDir = projectPaths(project).buildDir(name);
    const status: TargetStatus = { target: name, conf: 'unknown' };
    try {
      const text = await renderConfText(project, target, await inspectLayers(project, target));
      const onDisk = await Promise.all(
        ['local.conf', 'bblayers.conf'].map((f) => readFile(path.join(buildDir, 'conf', f), 'utf8').catch(() => undefined)),
      );
      status.conf = onDisk.some((t) => t === undefined)
        ? 'not-rendered'
        : onDisk[0] === text.localConf && onDisk[1] === text.bblayersConf
          ? 'current'
          : 'stale';
    } catch {
      // layers not synced: what would be rendered is not known yet
    }
    const report = await readReport(path.join(buildDir, 'report.json')).catch(() => undefined);
    if (report) {
      const image = report.artifacts.find((a) => /^(wic|img|sdimg)/.test(a.type));
      status.lastBuild = {
        result: report.result,
        mode: report.mode,
        finishedAt: report.finishedAt,
        durationSeconds: report.durationSeconds,
        ran: report.bitbake,
        image: image?.path,
      };
    }
    targets.push(status);
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ repos, targets }, null, 2)}\n`);
    return;
  }
  const lines = ['repos:'];
  const width = Math.max(...repos.map((r) => r.repo.length));
  for (const r of repos) lines.push(`  ${r.repo.padEnd(width)}  ${repoLine(r)}`);
  lines.push('targets:');
  const tWidth = Math.max(...targets.map((t) => t.target.length));
  for (const t of targets) {
    const build = t.lastBuild
      ? `last ${t.lastBuild.mode} ${t.lastBuild.result} at ${t.lastBuild.finishedAt}${t.lastBuild.ran ? ` (${t.lastBuild.ran})` : ''}${t.lastBuild.image ? `, image ${t.lastBuild.image}` : ''}`
      : 'never built';
    lines.push(`  ${t.target.padEnd(tWidth)}  conf ${t.conf}; ${build}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function repoLine(r: RepoStatus): string {
  if (r.state === 'not-synced') return 'not synced (run yoctoforge sync)';
  if (r.state === 'not-a-git-repository') return `${r.path} is not a git repository`;
  const parts = [
    `${r.head?.slice(0, 12) ?? 'no commit'}${r.detached ? '' : ' (on a branch)'}`,
    r.state === 'dirty' ? `dirty: ${r.changes}` : 'clean',
  ];
  if (r.localCommits) parts.push('local commits');
  parts.push(r.lockCommit ? describePosition(r.againstLock, 'the lock') : 'not in the lock');
  if (r.branch) parts.push(describePosition(r.againstBranch, `origin/${r.branch}`));
  return parts.join(', ');
}
