/**
 * How the CLI talks: interactive (listr2 spinners, bars) on a TTY, plain timestamped lines
 * in CI or when piped. Decided once per process.
 */
export interface OutputMode {
  interactive: boolean;
  ci: boolean;
  githubActions: boolean;
}

let forcedCi = false;

export function forceCiMode(): void {
  forcedCi = true;
}

export function outputMode(): OutputMode {
  const ci = forcedCi || Boolean(process.env.CI) || !process.stdout.isTTY;
  return {
    interactive: !ci,
    ci,
    githubActions: process.env.GITHUB_ACTIONS === 'true',
  };
}

export function timestamp(date = new Date()): string {
  return date.toISOString().slice(11, 19);
}

/** A plain log line: `[hh:mm:ss] message` in CI mode, the bare message otherwise. */
export function logLine(message: string): void {
  const mode = outputMode();
  process.stdout.write(mode.ci ? `[${timestamp()}] ${message}\n` : `${message}\n`);
}

export function warnLine(message: string): void {
  const mode = outputMode();
  if (mode.githubActions) process.stdout.write(`::warning::${message}\n`);
  else process.stderr.write(`warning: ${message}\n`);
}
