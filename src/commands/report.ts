import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readReport } from '../bitbake/report.js';
import { InputError } from '../errors.js';
import { loadProject } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { resolveTarget } from '../manifest/target.js';
import { diffReports, formatDiff } from '../report/diff.js';
import { renderHtml } from '../report/html.js';
import { formatSummary } from '../report/summary.js';
import { refuseOverwritingInput } from '../util/fs.js';

export interface ReportOptions {
  projectDir: string;
  /** target names or report.json files: one to summarise, two to compare (older first) */
  reports: string[];
  html?: string | boolean;
  json?: boolean;
}

async function locate(spec: string | undefined, projectDir: string): Promise<string> {
  if (spec && (spec.endsWith('.json') || existsSync(path.resolve(projectDir, spec)))) return path.resolve(projectDir, spec);
  if (!existsSync(path.join(projectDir, 'layers.yaml'))) throw new InputError(`no layers.yaml in ${projectDir}: name a report.json file`);
  const project = await loadProject(projectDir);
  const target = resolveTarget(project, spec);
  return path.join(projectPaths(project).buildDir(target.name), 'report.json');
}

export async function runReport(options: ReportOptions): Promise<void> {
  if (options.reports.length > 2) throw new InputError('give one report (or target) to summarise, or two to compare');
  const files =
    options.reports.length === 0
      ? [await locate(undefined, options.projectDir)]
      : await Promise.all(options.reports.map((r) => locate(r, options.projectDir)));
  const reports = await Promise.all(files.map(readReport));
  const latest = reports[reports.length - 1]!;
  const rel = (f: string): string => path.relative(process.cwd(), f) || f;
  const diff = reports.length === 2 ? { diff: diffReports(reports[0]!, latest), before: rel(files[0]!), after: rel(files[1]!) } : undefined;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ report: latest, changes: diff?.diff }, null, 2)}\n`);
  } else {
    const lines = formatSummary(latest);
    if (diff) lines.push('', ...formatDiff(diff.diff, diff));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (options.html) {
    const out =
      typeof options.html === 'string'
        ? path.resolve(options.projectDir, options.html)
        : path.join(path.dirname(files[files.length - 1]!), 'report.html');
    refuseOverwritingInput(out, files, '--html');
    await writeFile(out, renderHtml(latest, diff));
    if (!options.json) process.stdout.write(`html: ${rel(out)}\n`);
  }
}
