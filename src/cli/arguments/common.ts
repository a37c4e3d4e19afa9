import path from 'node:path';
import type { Command } from 'commander';

/** The project directory: an explicit argument wins over the global -C/--project. */
export function projectDir(command: Command, explicit?: string): string {
  const globals = command.optsWithGlobals() as { project?: string };
  const base = globals.project ?? '.';
  return path.resolve(explicit && explicit !== '.' ? explicit : base);
}

/** Commander's accumulator for a repeatable option. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
