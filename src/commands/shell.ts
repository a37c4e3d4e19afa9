import { inBuildEnv } from '../bitbake/runner.js';
import { runInEnvironment } from '../engine/container.js';
import { ExitCode } from '../errors.js';
import type { OverrideFlags } from '../manifest/overrides.js';
import { keepStdoutForCommand, warnLine } from '../util/output.js';
import { shellQuote } from '../util/shell.js';
import { buildEnvironmentStep, checkLayersStep, loadBuildContext, prepare, renderConfStep, runSpecFor } from './prepare.js';

export interface ShellOptions {
  projectDir: string;
  target?: string;
  command: string[];
  engine?: string;
  baseImage?: string;
  overrides?: OverrideFlags;
}

/** A shell, or one command, in the target's build environment with oe-init-build-env sourced. */
export async function runShell(options: ShellOptions): Promise<void> {
  const interactive = options.command.length === 0;
  if (!interactive) keepStdoutForCommand();
  const loaded = await loadBuildContext(options);
  if (loaded.user.note) warnLine(loaded.user.note);
  // No sync here: a shell is for looking at and working on the layers as they are.
  const ctx = await prepare(loaded, [checkLayersStep, renderConfStep, buildEnvironmentStep]);
  // Not `exec`: the words may name a shell builtin (`shell -- exit 7`, `shell -- cd x`).
  const command = interactive ? 'exec bash -i' : options.command.map(shellQuote).join(' ');
  const script = inBuildEnv(ctx.layers, ctx.buildDir, command);
  const code = await runInEnvironment(runSpecFor(ctx, script, { tty: interactive && Boolean(process.stdin.isTTY) }), {
    inheritStdio: true,
  });
  if (code !== 0) process.exitCode = code === 130 ? ExitCode.interrupted : code;
}
