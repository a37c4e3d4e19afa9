import { OperationError } from '../errors.js';
import { formatFailure, type BuildProgress } from './knotty.js';

/**
 * Why a BitBake run failed, as one error: a failed task first, then a parse error, then BitBake's
 * refusal to start (root, sanity check, umask), else the last errors it printed.
 */
export function bitbakeFailure(progress: BuildProgress, exitCode: number | undefined, image: string, logFile: string): OperationError {
  const log = `full log: ${logFile}`;
  if (progress.failures.length > 0) {
    const first = progress.failures[0]!;
    const more = progress.failures.length > 1 ? ` (and ${progress.failures.length - 1} more)` : '';
    return new OperationError(`BitBake failed: ${first.recipe}:${first.task}${more}`, [...progress.failures.flatMap(formatFailure), log]);
  }
  const parseError = progress.errors.find((e) => e.startsWith('ParseError'));
  if (parseError) return new OperationError(`BitBake could not parse the metadata: ${parseError}`, [log]);
  const refusal = progress.errors.find((e) => /Do not use Bitbake as root|sanity check|Please use a umask/i.test(e));
  if (refusal) return new OperationError(`BitBake refused to run: ${refusal}`, [log]);
  const last = progress.errors.slice(-5);
  return new OperationError(`BitBake exited with code ${exitCode} for ${image}`, [...last, log]);
}
