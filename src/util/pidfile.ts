import { readFile, rm, writeFile } from 'node:fs/promises';
import { EnvironmentError } from '../errors.js';

export interface Pidfile {
  release: () => Promise<void>;
  /** the file was left by a process that died: whatever it was doing may be half done */
  recovered: boolean;
}

/**
 * One yoctoforge process at a time in a directory: the file holds our pid; a file whose process is
 * dead is taken over. Another live process is an EnvironmentError (exit 3): the input is fine and
 * the same command succeeds once the other process is done, which is what a CI retry should know.
 */
export async function acquirePidfile(file: string, busy: (pid: number) => string): Promise<Pidfile> {
  let recovered = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return {
        release: async () => {
          await rm(file, { force: true });
        },
        recovered,
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid !== process.pid && processAlive(pid)) throw new EnvironmentError(busy(pid));
      await rm(file, { force: true });
      recovered = true;
    }
  }
  throw new EnvironmentError(`cannot take the pid file ${file}`);
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
