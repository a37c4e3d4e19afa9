import { InterruptedError } from '../errors.js';

/**
 * Runs `work`; on SIGINT/SIGTERM runs `cleanup` once and ends with an InterruptedError (exit 130),
 * so a Ctrl-C never prints "done" and never leaves a lock behind.
 */
export async function interruptible<T>(cleanup: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = (signal) => {
      void cleanup().finally(() => reject(new InterruptedError(`interrupted by ${signal}`)));
    };
  });
  process.once('SIGINT', onSignal!);
  process.once('SIGTERM', onSignal!);
  try {
    return await Promise.race([work(), interrupted]);
  } finally {
    process.removeListener('SIGINT', onSignal!);
    process.removeListener('SIGTERM', onSignal!);
  }
}
