import { ExitCode, UserError } from '../errors.js';

/**
 * The failure classes of a flash, each with its own exit code (README, "Exit codes") so that a
 * script can tell a bad download from a bad card. `offset` is the image offset where it applies.
 */
class FlashError extends UserError {
  constructor(
    message: string,
    exitCode: ExitCode,
    readonly offset?: number,
    details: string[] = [],
  ) {
    super(message, exitCode, details);
  }
}

/** corrupt, truncated, of an unknown format, not a disk image */
export class ImageError extends FlashError {
  constructor(message: string, offset?: number) {
    super(message, ExitCode.badImage, offset);
  }
}

/** malformed, failing its own checksum or signature, or describing another image */
export class BmapError extends FlashError {
  constructor(message: string, offset?: number) {
    super(message, ExitCode.badBmap, offset);
  }
}

/** a write or read-back failed, or the device is too small for what came */
export class DeviceError extends FlashError {
  constructor(message: string, offset?: number) {
    super(message, ExitCode.deviceFault, offset);
  }
}

/** in use, the system disk, not confirmed, --force missing */
export class RefusedError extends FlashError {
  constructor(message: string, details: string[] = []) {
    super(message, ExitCode.refused, undefined, details);
  }
}
