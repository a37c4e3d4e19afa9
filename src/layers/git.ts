import type { SimpleGit } from 'simple-git';

/** Aborted on Ctrl-C/SIGTERM: simple-git then kills the git processes it is running. */
const interruption = new AbortController();

export function abortGit(): void {
  interruption.abort();
}

/**
 * A git runner for one directory. simple-git spawns the user's own git with the user's own
 * environment, so their configuration applies as is: credential helpers, `url.<base>.insteadOf`
 * mirrors, proxies, SSH keys, GIT_CONFIG_GLOBAL.
 */
export async function gitAt(dir: string, interactive: boolean): Promise<SimpleGit> {
  // Imported on first use: a warm sync that finds every repo in place never spawns git.
  const { simpleGit } = await import('simple-git');
  // In CI a credential prompt would hang the job forever; fail instead. Set on our own
  // environment (inherited by git) rather than through simple-git's env(), which would then
  // vet, and refuse, the user's GIT_CONFIG_* variables.
  if (!interactive) process.env.GIT_TERMINAL_PROMPT = '0';
  return simpleGit({ baseDir: dir, maxConcurrentProcesses: 8, trimmed: true, abort: interruption.signal });
}

/** The first meaningful line of a git failure, for one-line error messages. */
export function gitFailure(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const fatal = lines.find((l) => /^(fatal|error):/.test(l));
  return (fatal ?? lines[0] ?? 'git failed').replace(/^(fatal|error):\s*/, '');
}
