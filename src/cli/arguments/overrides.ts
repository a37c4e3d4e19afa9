import type { Command } from 'commander';
import type { OverrideFlags } from '../../manifest/overrides.js';
import { collect } from './common.js';

/** The options every command that takes a target shares: override files, --machine, --distro, --set. */
export function addOverrideOptions(command: Command): Command {
  return command
    .option(
      '-f, --file <file>',
      'override file merged over layers.yaml (repeatable, in order; default: layers.local.yaml when it exists)',
      collect,
    )
    .option('--machine <machine>', 'MACHINE for this run (environment: YOCTOFORGE_MACHINE)')
    .option('--distro <distro>', 'DISTRO for this run (environment: YOCTOFORGE_DISTRO)')
    .option(
      '--set <key=value>',
      'a target setting for this run, e.g. init_manager=sysvinit, packages=docker,ntp-utils (a list is comma-separated and replaced), variables.NAME=VALUE; repeatable (environment: YOCTOFORGE_SET_<KEY>)',
      collect,
    );
}

/** What commander hands over for the options addOverrideOptions adds. */
export interface OverrideCliOptions {
  file?: string[];
  machine?: string;
  distro?: string;
  set?: string[];
}

/** The override flags out of a command's parsed options. */
export function overrideFlags(opts: OverrideCliOptions): OverrideFlags {
  return { files: opts.file, machine: opts.machine, distro: opts.distro, set: opts.set };
}
