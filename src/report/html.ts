import type { BuildReport } from '../bitbake/report.js';
import { formatDiff, type ReportDiff } from './diff.js';
import { formatDuration, formatSize } from '../util/units.js';
import { summaryRows } from './summary.js';

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The slowest tasks as an SVG timeline: one bar per task at its start, as long as it ran. */
function timeline(r: BuildReport): string {
  const tasks = r.slowestTasks ?? [];
  if (tasks.length === 0) return '<p class="muted">No buildstats in this build (the buildstats class writes them to tmp/buildstats).</p>';
  const end = Math.max(...tasks.map((t) => t.start + t.seconds), 1);
  const rowHeight = 22;
  const label = 260;
  const width = 900;
  const scale = (width - label - 70) / end;
  const bars = tasks
    .map((t, i) => {
      const y = i * rowHeight;
      const x = label + t.start * scale;
      const w = Math.max(2, t.seconds * scale);
      return (
        `<g><text x="${label - 8}" y="${y + 15}" text-anchor="end">${escape(`${t.recipe}:${t.task}`)}</text>` +
        `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" class="${t.failed ? 'bar failed' : 'bar'}"><title>${escape(`${t.recipe}:${t.task} ${t.seconds}s`)}</title></rect>` +
        `<text x="${(x + w + 6).toFixed(1)}" y="${y + 15}">${escape(formatDuration(t.seconds))}</text></g>`
      );
    })
    .join('');
  return `<svg id="timeline" role="img" aria-label="slowest tasks" width="${width}" height="${tasks.length * rowHeight + 4}" viewBox="0 0 ${width} ${tasks.length * rowHeight + 4}">${bars}</svg>`;
}

function table(rows: Array<Array<string>>, head?: string[]): string {
  const th = head ? `<thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>` : '';
  return `<table>${th}<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** One self-contained page (inline CSS and SVG, no scripts, no external requests) a CI job can publish. */
export function renderHtml(r: BuildReport, diff?: { diff: ReportDiff; before: string; after: string }): string {
  const title = `${r.target}: ${r.result} — yoctoforge build report`;
  const sections = [
    `<h1>${escape(r.target)} <span class="${r.result === 'success' ? 'ok' : 'bad'}">${escape(r.result)}</span></h1>`,
    `<section id="summary"><h2>Summary</h2>${table(summaryRows(r))}</section>`,
    `<section id="layers"><h2>Layers</h2>${table(
      r.layers.map((l) => [l.repo, l.commit, l.url]),
      ['repo', 'commit', 'url'],
    )}</section>`,
    r.artifacts.length
      ? `<section id="artifacts"><h2>Artifacts</h2>${table(
          r.artifacts.map((a) => [a.path, a.type, formatSize(a.size)]),
          ['file', 'type', 'size'],
        )}</section>`
      : '',
    diff
      ? `<section id="changes"><h2>Changes</h2><pre>${escape(formatDiff(diff.diff, { before: diff.before, after: diff.after }).join('\n'))}</pre></section>`
      : '',
    `<section id="slowest"><h2>Slowest tasks</h2>${timeline(r)}</section>`,
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232a;background:#fff}
h1 span{font-size:.6em;padding:2px 8px;border-radius:4px;vertical-align:middle}
.ok{background:#d7f5dd;color:#135c23}.bad{background:#fbd9d9;color:#8a1414}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;font-family:ui-monospace,monospace;font-size:12px}
th{background:#f3f5f7}.muted{color:#6a737d}pre{background:#f6f8fa;padding:8px}
svg text{font:11px ui-monospace,monospace;fill:#1d232a}.bar{fill:#3b82f6}.bar.failed{fill:#dc2626}
</style></head><body>
${sections.filter(Boolean).join('\n')}
</body></html>
`;
}
