import type { Command } from 'commander';
import { projectDir } from './common.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('summarise a build report, or compare two (packages, image size, layers, time, sstate reuse)')
    .argument('[reports...]', 'target names or report.json files; two compare the older with the newer')
    .option('--html [file]', 'also write a self-contained HTML page (default: beside the newer report)')
    .option('--json', 'print the report and the changes as JSON')
    .action(async (reports: string[], opts: { html?: string | boolean; json?: boolean }, command: Command) => {
      const { runReport } = await import('../../commands/report.js');
      await runReport({ projectDir: projectDir(command), reports, ...opts });
    });
}
