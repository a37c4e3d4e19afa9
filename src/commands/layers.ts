import path from 'node:path';
import { InputError } from '../errors.js';
import { inspectLayers } from '../layers/check.js';
import { loadProject } from '../manifest/load.js';
import { loadOverrides, type OverrideFlags } from '../manifest/overrides.js';
import { resolveTarget, targetNames } from '../manifest/target.js';
import { printLines, terminalText } from '../util/output.js';

export async function runLayers(options: { projectDir: string; target?: string; json: boolean; overrides?: OverrideFlags }): Promise<void> {
  const project = await loadProject(options.projectDir);
  const overrides = await loadOverrides(project, options.overrides);
  const target =
    options.target || targetNames(project).length === 1 ? resolveTarget(project, options.target, overrides.forTarget) : undefined;
  const result = await inspectLayers(project, target);
  const rows = result.layers.flatMap((layer) =>
    layer.collections.map((c) => ({
      layer: layer.id,
      collection: c.name,
      path: path.relative(project.dir, layer.dir),
      priority: c.priority ?? '',
      compatible: c.seriesCompat.join(' '),
      status: layer.problems.length === 0 ? 'ok' : 'PROBLEM',
    })),
  );
  if (options.json) {
    const bitbake = result.bitbakeDir
      ? { path: path.relative(project.dir, result.bitbakeDir), version: result.bitbakeVersion ?? null }
      : null;
    process.stdout.write(
      `${JSON.stringify({ coreSeries: result.coreSeries, bitbake, layers: rows, problems: result.problems }, null, 2)}\n`,
    );
  } else {
    printTable(
      ['layer', 'collection', 'path', 'priority', 'compatible series', 'status'],
      rows.map((r) => [r.layer, r.collection, r.path, String(r.priority), r.compatible, r.status]),
    );
    if (result.coreSeries.length > 0) printLines([`core series: ${result.coreSeries.join(' ')}`]);
    // which BitBake runs the build: the release pairs a core series with one BitBake branch
    if (result.bitbakeDir)
      printLines([`bitbake: ${path.relative(project.dir, result.bitbakeDir)} (${result.bitbakeVersion ?? 'version unknown'})`]);
  }
  if (result.problems.length > 0) {
    throw new InputError(`layer check failed: ${result.problems.length} problem(s)`, result.problems);
  }
}

function printTable(header: string[], rows: string[][]): void {
  rows = rows.map((r) => r.map(terminalText));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  // cells come from layer.conf files: printLines shows their control characters as escapes
  printLines([line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)]);
}
