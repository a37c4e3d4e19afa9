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

/**
 * Text from a file someone else wrote (a layer.conf, a manifest key, a git message) made safe for
 * one line of a terminal: control characters, escape sequences and line breaks become visible
 * escapes (`\x1b`, `\n`), so they can neither redraw the screen nor start a line of their own.
 */
export function terminalText(text: string): string {
  // C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder what is shown
  // finding control characters is its job
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * One line as GitHub Actions reads it: the runner treats a line starting with `::` as a
 * workflow command, and `%`, CR and LF inside an annotation as its own escapes.
 */
function actionsLine(text: string): string {
  const safe = terminalText(text).replace(/%/g, '%25');
  return /^\s*::/.test(safe) ? safe.replace('::', ':\u200b:') : safe;
}

/** Writes lines to stdout, each made safe (terminalText; under GitHub Actions no forged commands). */
export function printLines(lines: string[], stream: NodeJS.WritableStream = process.stdout): void {
  const gha = outputMode().githubActions;
  stream.write(lines.map((l) => `${gha ? actionsLine(l) : terminalText(l)}\n`).join(''));
}

/** A plain log line: `[hh:mm:ss] message` in CI mode, the bare message otherwise. */
export function logLine(message: string): void {
  const mode = outputMode();
  const text = mode.githubActions ? actionsLine(message) : terminalText(message);
  ownOutput.write(mode.ci ? `[${timestamp()}] ${text}\n` : `${text}\n`);
}

/** A warning: under GitHub Actions an annotation (workflow commands go to stdout), else on stderr. */
export function warnLine(message: string): void {
  const mode = outputMode();
  if (mode.githubActions) ownOutput.write(`::warning::${actionsLine(message)}\n`);
  else process.stderr.write(`warning: ${terminalText(message)}\n`);
}

/** An error and its detail lines, on stderr; under GitHub Actions the first is an `::error::` annotation. */
export function errorLines(message: string, details: string[] = []): void {
  const mode = outputMode();
  const first = mode.githubActions ? `::error::${actionsLine(message)}` : `yoctoforge: error: ${terminalText(message)}`;
  const rest = details.map((d) => `  ${mode.githubActions ? actionsLine(d) : terminalText(d)}`);
  process.stderr.write([first, ...rest].map((l) => `${l}\n`).join(''));
}
