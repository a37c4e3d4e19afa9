import type { Command } from 'commander';
import { collect, projectDir } from './common.js';

interface CiInitCliOptions {
  provider: string;
  target?: string[];
  force?: boolean;
}

export function registerCi(program: Command): void {
  const ci = program.command('ci').description('continuous integration for the project');
  ci.command('init')
    .description(
      'write a CI pipeline: checks on every push and pull request, nightly full builds with cached downloads and sstate, a nightly layer-bump pull request',
    )
    .option('--provider <provider>', 'github (.github/workflows/yoctoforge.yml) or gitlab (.gitlab-ci.yml)', 'github')
    .option('--target <name>', 'target to build (repeatable; default: every target in layers.yaml)', collect)
    .option('--force', 'overwrite an existing pipeline file')
    .action(async (opts: CiInitCliOptions, command: Command) => {
      const { runCiInit } = await import('../../commands/ci.js');
      await runCiInit({ projectDir: projectDir(command), ...opts });
    });
}
