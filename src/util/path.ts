import { statSync } from 'node:fs';

/** Whether an executable `command` is on PATH, without spawning anything. */
export function isOnPath(command: string, env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    try {
      const s = statSync(`${dir}/${command}`);
      if (s.isFile() && (s.mode & 0o111) !== 0) return true;
    } catch {
      // next
    }
  }
  return false;
}
