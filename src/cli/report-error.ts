import { ExitCode, UserError } from '../errors.js';
import { describeErrno } from '../util/input.js';
import { errorLines } from '../util/output.js';

/** What a system call failing on the machine means for the exit code. */
const ENVIRONMENT_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EMFILE', 'ENFILE', 'EACCES', 'EPERM', 'EBUSY', 'EXDEV']);
const INPUT_ERRNOS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENAMETOOLONG', 'ELOOP', 'ENOTEMPTY', 'EINVAL']);

/**
 * A file-system error nobody caught on its way up (a read-only project, a full disk, a cache path
 * that is a file): one line naming the file and the reason, not a stack trace.
 */
function systemError(error: unknown): UserError | undefined {
  const e = error as NodeJS.ErrnoException & { dest?: string };
  if (!(error instanceof Error) || typeof e.code !== 'string' || typeof e.syscall !== 'string') return undefined;
  const exit = ENVIRONMENT_ERRNOS.has(e.code) ? ExitCode.environment : INPUT_ERRNOS.has(e.code) ? ExitCode.badInput : undefined;
  if (exit === undefined) return undefined;
  const target = e.path ? `${e.path}${e.dest ? ` -> ${e.dest}` : ''}` : 'a file';
  return new UserError(`cannot ${e.syscall} ${target}: ${describeErrno(e)}`, exit);
}

/** Prints an error as one line (plus its details) and returns the exit code to use. */
export function reportError(error: unknown): number {
  const known = error instanceof UserError ? error : systemError(error);
  if (known) {
    errorLines(known.message, known.details);
    return known.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  const details =
    process.env.YOCTOFORGE_DEBUG && error instanceof Error && error.stack
      ? error.stack.split('\n')
      : ['(this is a bug in yoctoforge; set YOCTOFORGE_DEBUG=1 for a stack trace)'];
  errorLines(message.split('\n')[0] ?? '', details);
  return ExitCode.failed;
}
