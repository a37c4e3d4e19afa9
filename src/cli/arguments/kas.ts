import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { projectDir } from './common.js';

interface ExportKasCliOptions {
  output?: string;
  formatVersion?: number;
}

interface ImportKasCliOptions {
  output?: string;
  force?: boolean;
  target?: string;
}

function formatVersion(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n))
    throw new InvalidArgumentError('expected an integer kas format version, e.g. 12 for kas 3.1');
  return n;
}

/** `export kas` and `import kas`: kas (siemens/kas) interoperability. */
export function registerKas(program: Command): void {
  const exportCommand = program.command('export').description("write the project in another tool's format");
  exportCommand
    .command('kas')
    .description('write a kas configuration reproducing a target at the locked commits')
    .argument('[target]', 'build target (default: the only one)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option(
      '--format-version <n>',
      'newest kas format the reader understands (default 12: kas 3.1 to 5.x read it, commits as refspec; 14 or later adds branch/tag)',
      formatVersion,
    )
    .action(async (target: string | undefined, opts: ExportKasCliOptions, command: Command) => {
      const { runExportKas } = await import('../../commands/kas.js');
      await runExportKas({ projectDir: projectDir(command), target, output: opts.output, formatVersion: opts.formatVersion });
    });

  const importCommand = program.command('import').description("create layers.yaml from another tool's configuration");
  importCommand
    .command('kas')
    .description('create layers.yaml from kas files (merged as kas does, includes followed); lists what it cannot carry')
    .argument('<files...>', 'kas configuration files, merged in order')
    .option('-o, --output <file>', 'manifest to write (default: layers.yaml of the project)')
    .option('--target <name>', "name of the target in layers.yaml (default: the first file's name)")
    .option('-f, --force', 'replace an existing manifest')
    .action(async (files: string[], opts: ImportKasCliOptions, command: Command) => {
      const { runImportKas } = await import('../../commands/kas.js');
      await runImportKas({ projectDir: projectDir(command), files, output: opts.output, force: opts.force, target: opts.target });
    });
}
