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
let ownOutput: NodeJS.WriteStream = process.stdout;

export function forceCiMode(): void {
  forcedCi = true;
}

/**
 * Sends yoctoforge's own lines to stderr, for commands whose stdout belongs to something else
 * (`shell -- CMD > file` must capture CMD's output and nothing of ours).
 */
export function keepStdoutForCommand(): void {
  ownOutput = process.stderr;
}

/** Where yoctoforge's progress lines go: stdout, unless a command's output owns it. */
export function progressStream(): NodeJS.WriteStream {
  return ownOutput;
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
  ownOutput.write(mode.ci ? `[${timestamp()}] ${message}\n` : `${message}\n`);
}

export function warnLine(message: string): void {
  const mode = outputMode();
  if (mode.githubActions) ownOutput.write(`::warning::${message}\n`);
  else process.stderr.write(`warning: ${message}\n`);
}
