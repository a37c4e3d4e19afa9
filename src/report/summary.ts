import type { BuildReport } from '../bitbake/report.js';
import { formatDuration, formatSize } from '../util/units.js';

/** sstate reuse as "N of M (P%)", or undefined before BitBake printed its summary */
export function sstateReuse(r: BuildReport): string | undefined {
  const s = r.sstate;
  if (!s) return undefined;
  const reused = s.local + s.mirrors;
  return `${reused} of ${s.wanted} (${s.wanted ? Math.round((reused / s.wanted) * 100) : 0}%)`;
}

/** The facts of one build as label/value rows: the text, Markdown and HTML views all show these. */
export function summaryRows(r: BuildReport): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['target', `${r.target} (${r.image} for ${r.machine}, ${r.distro})`],
    ['result', `${r.result}${r.mode === 'dry-run' ? ' (dry run)' : ''}`],
    ['started', r.startedAt],
    ['duration', formatDuration(r.durationSeconds)],
    ['engine', r.engine],
  ];
  if (r.bitbake) rows.push(['ran', r.bitbake]);
  if (r.tasks) rows.push(['tasks', `${r.tasks.attempted} attempted, ${r.tasks.succeeded} succeeded, ${r.tasks.failed} failed`]);
  const reuse = sstateReuse(r);
  if (reuse) rows.push(['sstate reused', reuse]);
  if (r.imageSize !== undefined) rows.push(['image size', formatSize(r.imageSize)]);
  if (r.packages) rows.push(['packages', String(r.packages.length)]);
  if (r.graph) rows.push(['task graph', `${r.graph.recipes} recipes`]);
  rows.push(['warnings', String(r.warnings)]);
  for (const f of r.failures) rows.push(['failed', `${f.recipe}:${f.task}${f.logFile ? ` (${f.logFile})` : ''}`]);
  return rows;
}

export function formatSummary(r: BuildReport): string[] {
  const width = Math.max(...summaryRows(r).map(([k]) => k.length));
  const lines = summaryRows(r).map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (r.layers.length > 0) {
    lines.push('layers:');
    for (const l of r.layers) lines.push(`  ${l.repo.padEnd(22)} ${l.commit.slice(0, 12)}  ${l.url}`);
  }
  if (r.artifacts.length > 0) {
    lines.push('artifacts:');
    for (const a of r.artifacts) lines.push(`  ${a.path}  ${formatSize(a.size)}`);
  }
  if (r.slowestTasks?.length) {
    lines.push('slowest tasks:');
    for (const t of r.slowestTasks.slice(0, 10)) lines.push(`  ${formatDuration(t.seconds).padStart(8)}  ${t.recipe}:${t.task}`);
  }
  return lines;
}
