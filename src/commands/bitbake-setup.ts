import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { exportBitbakeSetup } from '../bitbake-setup/export.js';
import { importBitbakeSetup } from '../bitbake-setup/import.js';
import { InputError } from '../errors.js';
import { locateBitbake } from '../layers/bitbake.js';
import { loadProject } from '../manifest/load.js';
import { readCurrentLock } from '../lock/lock.js';
import { projectPaths } from '../manifest/paths.js';
import { MANIFEST_FILE } from '../manifest/schema.js';
import { resolveTarget } from '../manifest/target.js';
import { pathExists, writeFileAtomic } from '../util/fs.js';

export interface ExportBitbakeSetupOptions {
  projectDir: string;
  target?: string;
  output?: string;
}

/** `yoctoforge export bitbake-setup`: the configuration JSON on stdout or in --output; what is left out on stderr. */
export async function runExportBitbakeSetup(options: ExportBitbakeSetupOptions): Promise<void> {
  const project = await loadProject(options.projectDir);
  const target = resolveTarget(project, options.target);
  const lock = await readCurrentLock(project, 'a bitbake-setup configuration');
  const bitbakeRef = project.manifest.bitbake ?? (await locateBitbake(project.manifest, projectPaths(project).repoDir)).ref;
  const result = exportBitbakeSetup({
    manifest: project.manifest,
    manifestName: path.basename(project.manifestFile),
    target,
    lock,
    bitbakeRef,
  });
  if (options.output && options.output !== '-') {
    await writeFileAtomic(path.resolve(options.output), result.text);
    process.stderr.write(`wrote ${options.output} (bitbake-setup configuration ${target.name})\n`);
  } else {
    process.stdout.write(result.text);
  }
  if (result.notExported.length > 0)
    process.stderr.write(`not exported (${result.notExported.length}):\n${result.notExported.map((n) => `  - ${n}\n`).join('')}`);
}

export interface ImportBitbakeSetupOptions {
  projectDir: string;
  file: string;
  choices: string[];
  output?: string;
  force?: boolean;
  target?: string;
  image?: string;
}

/** `yoctoforge import bitbake-setup FILE [CONFIG FRAGMENT...]`: writes layers.yaml and lists what it could not carry. */
export async function runImportBitbakeSetup(options: ImportBitbakeSetupOptions): Promise<void> {
  const outFile = path.resolve(options.output ?? path.join(options.projectDir, MANIFEST_FILE));
  if (!options.force && (await pathExists(outFile))) throw new InputError(`${outFile} exists (use --force to replace it)`);
  const json = await readFile(options.file, 'utf8').catch((error: Error) => {
    throw new InputError(`cannot read ${options.file}: ${error.message}`);
  });
  const result = importBitbakeSetup(json, {
    file: options.file,
    choices: options.choices,
    targetName: options.target ?? options.choices[0] ?? path.basename(options.file).replace(/\.conf\.json$|\.json$/, ''),
    image: options.image ?? 'core-image-base',
    outFile,
  });
  await writeFileAtomic(outFile, result.text);
  const lines = [
    `wrote ${path.relative(process.cwd(), outFile) || outFile}: ${Object.keys(result.manifest.repos).length} repos, target ${Object.keys(result.manifest.targets).join(', ')}`,
  ];
  if (result.notCarried.length > 0)
    lines.push(`not carried over (${result.notCarried.length}):`, ...result.notCarried.map((n) => `  - ${n}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}
