import { ExitCode, UserError } from '../errors.js';

/**
 * The failure classes of a flash, each with its own exit code (README, "Exit codes") so that a
 * script can tell a bad download from a bad card. `offset` is the image offset where it applies.
 */
export class ImageError extends UserError {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message, ExitCode.badImage);
    this.name = 'ImageError';
  }
}

export class BmapError extends UserError {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message, ExitCode.badBmap);
    this.name = 'BmapError';
  }
}

export class DeviceError extends UserError {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(message, ExitCode.deviceFault);
    this.name = 'DeviceError';
  }
}

export class RefusedError extends UserError {
  constructor(message: string, details: string[] = []) {
    super(message, ExitCode.refused, details);
    this.name = 'RefusedError';
  }
}
