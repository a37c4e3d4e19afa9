import path from 'node:path';
import { InputError } from '../errors.js';
import { KAS_COMPATIBLE_FORMAT } from '../kas/common.js';
import { exportKas } from '../kas/export.js';
import { importKas } from '../kas/import.js';
import { loadProject } from '../manifest/load.js';
import { readCurrentLock } from '../lock/lock.js';
import { LOCK_FILE, MANIFEST_FILE } from '../manifest/schema.js';
import { resolveTarget } from '../manifest/target.js';
import { pathExists, refuseOverwritingInput, writeFileAtomic } from '../util/fs.js';

export interface ExportKasOptions {
  projectDir: string;
  target?: string;
  /** output file; default stdout */
  output?: string;
  /** newest kas format the reader understands */
  formatVersion?: number;
}

/** `yoctoforge export kas`: the kas file on stdout or in --output; what is left out on stderr. */
export async function runExportKas(options: ExportKasOptions): Promise<void> {
  const project = await loadProject(options.projectDir);
  const target = resolveTarget(project, options.target);
  const lock = await readCurrentLock(project, 'a kas file');
  const result = exportKas({
    manifest: project.manifest,
    manifestName: path.basename(project.manifestFile),
    target,
    lock,
    maxFormatVersion: options.formatVersion ?? KAS_COMPATIBLE_FORMAT,
  });
  if (options.output && options.output !== '-') {
    refuseOverwritingInput(path.resolve(options.output), [project.manifestFile, path.join(project.dir, LOCK_FILE)], '--output');
    await writeFileAtomic(path.resolve(options.output), result.text);
    process.stderr.write(`wrote ${options.output} (kas format version ${result.version}, target ${target.name})\n`);
  } else {
    process.stdout.write(result.text);
  }
  if (result.notExported.length > 0) {
    process.stderr.write(`not exported (${result.notExported.length}):\n${result.notExported.map((n) => `  - ${n}\n`).join('')}`);
  }
}

export interface ImportKasOptions {
  projectDir: string;
  files: string[];
  output?: string;
  force?: boolean;
  target?: string;
}

/** `yoctoforge import kas`: writes layers.yaml and lists what kas settings it could not carry. */
export async function runImportKas(options: ImportKasOptions): Promise<void> {
  const outFile = path.resolve(options.output ?? path.join(options.projectDir, MANIFEST_FILE));
  if (!options.force && (await pathExists(outFile))) throw new InputError(`${outFile} exists (use --force to replace it)`);
  refuseOverwritingInput(outFile, options.files, '--output');
  const result = importKas(options.files, { outFile, targetName: options.target });
  refuseOverwritingInput(outFile, result.files, '--output');
  await writeFileAtomic(outFile, result.text);
  const targets = Object.keys(result.manifest.targets);
  const lines = [
    `wrote ${path.relative(process.cwd(), outFile) || outFile} from ${result.files.length} kas file(s): ${Object.keys(result.manifest.repos).length} repos, target${targets.length > 1 ? 's' : ''} ${targets.join(', ')}`,
  ];
  if (result.notCarried.length > 0) {
    lines.push(`not carried over from kas (${result.notCarried.length}):`, ...result.notCarried.map((n) => `  - ${n}`));
  } else {
    lines.push('every kas setting was carried over');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
