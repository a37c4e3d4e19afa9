import { inBuildEnv } from '../bitbake/runner.js';
import { runInEnvironment } from '../engine/container.js';
import { ExitCode } from '../errors.js';
import { warnLine } from '../util/output.js';
import { shellQuote } from '../util/shell.js';
import { buildEnvironmentStep, checkLayersStep, loadBuildContext, prepare, renderConfStep, runSpecFor } from './prepare.js';

export interface ShellOptions {
  projectDir: string;
  target?: string;
  command: string[];
  engine?: string;
  baseImage?: string;
}

/** A shell, or one command, in the target's build environment with oe-init-build-env sourced. */
export async function runShell(options: ShellOptions): Promise<void> {
  const loaded = await loadBuildContext(options);
  if (loaded.user.note) warnLine(loaded.user.note);
  // No sync here: a shell is for looking at and working on the layers as they are.
  const ctx = await prepare(loaded, [checkLayersStep, renderConfStep, buildEnvironmentStep]);
  const interactive = options.command.length === 0;
  const command = interactive ? 'exec bash -i' : `exec ${options.command.map(shellQuote).join(' ')}`;
  const script = inBuildEnv(ctx.layers.initScript, ctx.buildDir, command);
  const code = await runInEnvironment(runSpecFor(ctx, script, { tty: interactive && Boolean(process.stdin.isTTY) }), { inheritStdio: true });
  if (code !== 0) process.exitCode = code === 130 ? ExitCode.interrupted : code;
}
