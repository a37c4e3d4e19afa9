import { simpleGit, type SimpleGit } from 'simple-git';

/**
 * A git runner for one directory. simple-git spawns the user's own git, so their configuration
 * applies as is: credentials helpers, `url.<base>.insteadOf` mirrors, proxies, SSH keys.
 */
export function gitAt(dir: string, interactive: boolean): SimpleGit {
  const git = simpleGit({ baseDir: dir, maxConcurrentProcesses: 8, trimmed: true });
  // In CI a credential prompt would hang the job forever; fail instead.
  return interactive ? git : git.env({ ...process.env, GIT_TERMINAL_PROMPT: '0' });
}

/** The first meaningful line of a git failure, for one-line error messages. */
export function gitFailure(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const fatal = lines.find((l) => /^(fatal|error):/.test(l));
  return (fatal ?? lines[0] ?? 'git failed').replace(/^(fatal|error):\s*/, '');
}
