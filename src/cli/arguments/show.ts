import { Option, type Command } from 'commander';
import { projectDir } from './common.js';

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('the effective settings of a target after defaults are merged, each with the manifest key it came from')
    .argument('[target]', 'build target (default: the only one)')
    .addOption(new Option('--json', 'print it as JSON').conflicts('yaml'))
    .addOption(new Option('--yaml', 'print it as YAML').conflicts('json'))
    .action(async (target: string | undefined, opts: { json?: boolean; yaml?: boolean }, command: Command) => {
      const { runShow, showFormat } = await import('../../commands/show.js');
      await runShow({ projectDir: projectDir(command), target, format: showFormat(opts) });
    });
}
