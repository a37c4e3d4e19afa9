import path from 'node:path';
import { createBundle } from '../bundle/create.js';
import { restoreBundle } from '../bundle/restore.js';
import { InputError } from '../errors.js';
import { loadProject } from '../manifest/load.js';
import { lockFilePath } from '../lock/lock.js';
import { refuseOverwritingInput } from '../util/fs.js';
import { resolveTarget } from '../manifest/target.js';
import { formatSize } from '../util/units.js';
import { logLine } from '../util/output.js';
import { existsSync, readdirSync } from 'node:fs';

export interface BundleCommandOptions {
  projectDir: string;
  target?: string;
  output?: string;
  shallow?: boolean;
  downloads?: boolean;
}

export async function runBundle(options: BundleCommandOptions): Promise<void> {
  const project = await loadProject(options.projectDir);
  const target = resolveTarget(project, options.target);
  const output = path.resolve(options.output ?? path.join(project.dir, `${target.name}.bundle.tar.gz`));
  refuseOverwritingInput(output, [project.manifestFile, lockFilePath(project)], '--output');
  const result = await createBundle(project, target, {
    output,
    shallow: options.shallow,
    downloads: options.downloads,
    onProgress: logLine,
  });
  for (const part of result.parts) logLine(`  ${part.name.padEnd(40)} ${formatSize(part.bytes)}`);
  logLine(`wrote ${path.relative(process.cwd(), result.file) || result.file} (${formatSize(result.bytes)})`);
}

export interface RestoreCommandOptions {
  projectDir: string;
  bundle: string;
  force?: boolean;
  /** init --from-bundle: the folder must not hold a project yet */
  fresh?: boolean;
  expectSha256?: string;
  signature?: string;
}

export async function runRestore(options: RestoreCommandOptions): Promise<void> {
  const dir = options.projectDir;
  if (options.fresh && existsSync(dir) && readdirSync(dir).length > 0 && !options.force) {
    throw new InputError(`${dir} is not empty: init --from-bundle restores into an empty folder (--force restores anyway)`);
  }
  const result = await restoreBundle(path.resolve(options.bundle), dir, {
    force: options.force,
    expectSha256: options.expectSha256,
    signature: options.signature && path.resolve(options.signature),
    onProgress: logLine,
  });
  for (const r of result.repos) logLine(`  ${r.name}: ${r.action} at ${r.commit.slice(0, 12)}`);
  if (result.downloads > 0) logLine(`  ${result.downloads} downloads in bundle-downloads/: builds use them as PREMIRRORS, offline`);
  logLine(`restored ${path.relative(process.cwd(), dir) || '.'} from ${path.basename(options.bundle)}, without the network`);
}
