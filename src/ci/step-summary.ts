import { appendFile } from 'node:fs/promises';
import type { BuildReport } from '../bitbake/report.js';
import { formatSize } from '../util/units.js';
import { summaryRows } from '../report/summary.js';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function stepSummaryMarkdown(r: BuildReport): string {
  const icon = r.result === 'success' ? '✅' : r.result === 'interrupted' ? '⏹️' : '❌';
  const lines = [
    `### ${icon} yoctoforge ${r.mode === 'dry-run' ? 'dry run' : 'build'} of \`${r.target}\`: ${r.result}`,
    '',
    '| | |',
    '|---|---|',
  ];
  for (const [k, v] of summaryRows(r)) lines.push(`| ${cell(k)} | ${cell(v)} |`);
  if (r.artifacts.length > 0) {
    lines.push('', '| artifact | size |', '|---|---|');
    for (const a of r.artifacts) lines.push(`| \`${cell(a.path)}\` | ${formatSize(a.size)} |`);
  }
  if (r.graph) {
    lines.push('', '| package | in the task graph | providers |', '|---|---|---|');
    for (const [p, info] of Object.entries(r.graph.packages))
      lines.push(`| ${cell(p)} | ${info.inGraph ? 'yes' : '**no**'} | ${cell(info.providers.join(', '))} |`);
  }
  return `${lines.join('\n')}\n\n`;
}

/** GitHub Actions shows this Markdown on the run's page (GITHUB_STEP_SUMMARY is a file it reads). */
export async function writeStepSummary(r: BuildReport, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  await appendFile(file, stepSummaryMarkdown(r));
  return true;
}
