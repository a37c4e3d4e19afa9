import { ExitCode, UserError } from '../errors.js';
import { outputMode } from '../util/output.js';

/** Prints an error as one line (plus its details) and returns the exit code to use. */
export function reportError(error: unknown): number {
  const mode = outputMode();
  const prefix = mode.githubActions ? '::error::' : 'yoctoforge: error: ';
  if (error instanceof UserError) {
    process.stderr.write(`${prefix}${error.message}\n`);
    for (const line of error.details) process.stderr.write(`  ${line}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${prefix}${message.split('\n')[0]}\n`);
  if (process.env.YOCTOFORGE_DEBUG && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  } else {
    process.stderr.write('  (this is a bug in yoctoforge; set YOCTOFORGE_DEBUG=1 for a stack trace)\n');
  }
  return ExitCode.failed;
}
