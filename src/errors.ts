/**
 * Exit codes are part of the CLI contract (documented in README.md): CI pipelines branch on them.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  environment: 3,
  /** flash: the image is corrupt, truncated, of an unknown format or not a disk image */
  badImage: 4,
  /** flash: the bmap is malformed, fails its own checksum or signature, or belongs to another image */
  badBmap: 5,
  /** flash: the device failed a write or a read-back, or is too small */
  deviceFault: 6,
  /** flash: the device is refused (in use, the system disk, not confirmed, missing --force) */
  refused: 7,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, as every --help page and the README print it. */
export const EXIT_CODE_MEANINGS: Record<ExitCode, string> = {
  0: 'success',
  1: 'the work failed (a sync left a repo behind, a BitBake task failed)',
  2: 'bad input or configuration (manifest, lock, flags, layer check)',
  3: 'environment problem (no container engine, no disk space, a missing tool, another yoctoforge build or sync already working in the same directory)',
  4: 'flash: a bad image (corrupt, truncated, unknown format, not a disk image)',
  5: 'flash: a bad bmap, or one of another image (malformed, its own checksum or signature, a range checksum, the size)',
  6: 'flash: a device fault (write or read-back error, removed card, no space, verification mismatch)',
  7: 'flash: a refused device (in use, the system disk, too small, not confirmed, `--force` missing)',
  130: 'interrupted (Ctrl-C, SIGTERM)',
};

/** An error whose message is meant for the user as is: printed as one line, no stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.badInput,
    /** Extra lines (a table of problems, the tail of a log) printed after the one-line message. */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Bad manifest, bad flags, bad file: exit 2. */
export class InputError extends UserError {
  constructor(message: string, details: string[] = []) {
    super(message, ExitCode.badInput, details);
    this.name = 'InputError';
  }
}

/** The machine cannot do it (no engine, no disk space, missing tool): exit 3. */
export class EnvironmentError extends UserError {
  constructor(message: string, details: string[] = []) {
    super(message, ExitCode.environment, details);
    this.name = 'EnvironmentError';
  }
}

/** The work itself failed (BitBake task, verification mismatch): exit 1. */
export class OperationError extends UserError {
  constructor(message: string, details: string[] = []) {
    super(message, ExitCode.failed, details);
    this.name = 'OperationError';
  }
}

export class InterruptedError extends UserError {
  constructor(message = 'interrupted') {
    super(message, ExitCode.interrupted);
    this.name = 'InterruptedError';
  }
}
