import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';

/**
 * The project directory: the global -C/--project, and an explicit directory argument taken
 * relative to it (`-C dir init sub` means dir/sub, as `git -C dir init sub` does).
 */
export function projectDir(command: Command, explicit?: string): string {
  const globals = command.optsWithGlobals() as { project?: string };
  const base = path.resolve(globals.project ?? '.');
  return explicit && explicit !== '.' ? path.resolve(base, explicit) : base;
}

/** Commander parser for counts such as `-j N`: a whole number from 1 to `max`, else exit 2. */
export function positiveInteger(max: number): (value: string) => number {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}, found "${value}"`);
    }
    return Number(value);
  };
}

/** Commander parser for repeatable options (`--target a --target b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
