import type { BuildReport } from '../bitbake/report.js';
import { formatDuration, formatSize } from '../util/units.js';
import { sstateReuse } from './summary.js';

export interface ReportDiff {
  added: Array<{ name: string; version: string }>;
  removed: Array<{ name: string; version: string }>;
  changed: Array<{ name: string; from: string; to: string }>;
  imageSizeDelta?: number;
  layersMoved: Array<{ repo: string; from?: string; to?: string }>;
  durationDelta: number;
  sstate: { before?: string; after?: string };
}

/** What changed from one build to the next: packages, image size, layers, time, sstate reuse. */
export function diffReports(before: BuildReport, after: BuildReport): ReportDiff {
  const versions = (r: BuildReport): Map<string, string> => new Map((r.packages ?? []).map((p) => [p.name, p.version]));
  const a = versions(before);
  const b = versions(after);
  const added = [...b].filter(([n]) => !a.has(n)).map(([name, version]) => ({ name, version }));
  const removed = [...a].filter(([n]) => !b.has(n)).map(([name, version]) => ({ name, version }));
  const changed = [...b].filter(([n, v]) => a.has(n) && a.get(n) !== v).map(([name, to]) => ({ name, from: a.get(name)!, to }));
  const commits = (r: BuildReport): Map<string, string> => new Map(r.layers.map((l) => [l.repo, l.commit]));
  const la = commits(before);
  const lb = commits(after);
  const layersMoved = [...new Set([...la.keys(), ...lb.keys()])]
    .sort()
    .filter((repo) => la.get(repo) !== lb.get(repo))
    .map((repo) => ({ repo, from: la.get(repo), to: lb.get(repo) }));
  return {
    added,
    removed,
    changed,
    imageSizeDelta: before.imageSize !== undefined && after.imageSize !== undefined ? after.imageSize - before.imageSize : undefined,
    layersMoved,
    durationDelta: after.durationSeconds - before.durationSeconds,
    sstate: { before: sstateReuse(before), after: sstateReuse(after) },
  };
}

export function formatDiff(d: ReportDiff, labels: { before: string; after: string }): string[] {
  const lines = [`changes from ${labels.before} to ${labels.after}:`];
  lines.push(`  packages: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed version`);
  for (const p of d.added) lines.push(`    + ${p.name} ${p.version}`);
  for (const p of d.removed) lines.push(`    - ${p.name} ${p.version}`);
  for (const p of d.changed) lines.push(`    ~ ${p.name} ${p.from} -> ${p.to}`);
  if (d.imageSizeDelta !== undefined) lines.push(`  image size: ${d.imageSizeDelta >= 0 ? '+' : ''}${formatSize(d.imageSizeDelta)}`);
  lines.push(`  layers moved: ${d.layersMoved.length === 0 ? 'none' : ''}`.trimEnd());
  for (const l of d.layersMoved) lines.push(`    ${l.repo}: ${l.from?.slice(0, 12) ?? '(new)'} -> ${l.to?.slice(0, 12) ?? '(removed)'}`);
  lines.push(`  build time: ${d.durationDelta >= 0 ? '+' : ''}${formatDuration(d.durationDelta)}`);
  lines.push(`  sstate reused: ${d.sstate.before ?? '-'} -> ${d.sstate.after ?? '-'}`);
  return lines;
}
