import type { SimpleGit } from 'simple-git';

/** Aborted on Ctrl-C/SIGTERM: simple-git then kills the git processes it is running. */
const interruption = new AbortController();

export function abortGit(): void {
  interruption.abort();
}

/**
 * Transports no manifest, lock or bundle may reach, whatever the user's protocol.allow says:
 * `fd::N` makes git wait on a file descriptor forever, `ext::CMD` runs a command. (A user who
 * really uses them sets GIT_ALLOW_PROTOCOL, which git lets override this.)
 */
const TRANSPORT_POLICY = ['protocol.fd.allow=never', 'protocol.ext.allow=never'];

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
  return simpleGit({
    baseDir: dir,
    maxConcurrentProcesses: 8,
    trimmed: true,
    abort: interruption.signal,
    config: TRANSPORT_POLICY,
    unsafe: { allowUnsafeProtocolOverride: true },
  });
}

/** The first meaningful line of a git failure, for one-line error messages. */
export function gitFailure(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.find((l) => /^(fatal|error):/.test(l));
  return (fatal ?? lines[0] ?? 'git failed').replace(/^(fatal|error):\s*/, '');
}

/** Whether a git failure says the branch or tag asked for does not exist on the remote. */
export function isMissingRef(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /Remote branch \S+ not found|couldn't find remote ref|not our ref|no such ref/i.test(text);
}

/** A missing release branch said plainly: the repository has no branch of the series' name. */
export function missingRefMessage(url: string, ref: string): string {
  return `${url} has no branch or tag "${ref}" (does this layer have a release of that name? check the repo's branch and the manifest's series)`;
}
