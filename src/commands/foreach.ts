import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InputError, OperationError } from '../errors.js';
import { loadProject } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { keepStdoutForCommand, logLine, warnLine } from '../util/output.js';

export interface ForeachOptions {
  projectDir: string;
  command: string[];
  /** stop at the first repo where the command fails */
  stopOnError: boolean;
}

/**
 * Runs a command in every repository checkout, one after the other, in manifest order. One word
 * is a shell command line (`foreach 'git log -1 --format=%h'`); several are a program and its
 * arguments. The repo is described to the command by YOCTOFORGE_REPO, YOCTOFORGE_REPO_PATH and
 * YOCTOFORGE_REPO_URL.
 */
export async function runForeach(options: ForeachOptions): Promise<void> {
  if (options.command.length === 0) throw new InputError('foreach needs a command, e.g. yoctoforge foreach -- git status --short');
  // The command's output is the product; yoctoforge's own lines go to stderr.
  keepStdoutForCommand();
  const project = await loadProject(options.projectDir);
  const { repoDir } = projectPaths(project);
  const [file, ...args] = options.command.length === 1 ? ['sh', '-c', options.command[0]!] : options.command;
  const failed: string[] = [];
  for (const [name, spec] of Object.entries(project.manifest.repos)) {
    const dir = repoDir(name);
    if (!existsSync(dir)) {
      warnLine(`${name}: not checked out (${path.relative(project.dir, dir)}); run yoctoforge sync`);
      failed.push(`${name}: not checked out`);
      continue;
    }
    logLine(`== ${name} (${path.relative(project.dir, dir)})`);
    const result = await execa(file!, args, {
      cwd: dir,
      env: { YOCTOFORGE_REPO: name, YOCTOFORGE_REPO_PATH: dir, ...(spec.url === undefined ? {} : { YOCTOFORGE_REPO_URL: spec.url }) },
      stdio: 'inherit',
      reject: false,
    });
    if (result.exitCode !== 0) {
      const why = result.exitCode === undefined ? `${result.signal ?? 'failed to start'}` : `exit ${result.exitCode}`;
      failed.push(`${name}: ${why}${result.failed && result.exitCode === undefined ? ` (${result.shortMessage})` : ''}`);
      if (options.stopOnError) break;
    }
  }
  if (failed.length > 0) throw new OperationError(`the command failed in ${failed.length} repo${failed.length === 1 ? '' : 's'}`, failed);
}
