import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { variableName } from './conf-values.js';
import { expectedText, parseValidatedYaml, type Project } from './load.js';
import { NAME_PATTERN, targetSchema, targetSettingsShape, type TargetSettings } from './schema.js';
import type { SettingsSource, TargetOverrides } from './target.js';

/*
 * Target settings from outside the manifest, lowest first: override files (merged over
 * layers.yaml as kas merges files: mappings merged, scalars and lists replaced), the environment,
 * the command line. Every value passes the manifest's own schema, so nothing reaches a conf file
 * from here that layers.yaml could not hold.
 */

/** Read beside layers.yaml when it exists and no `-f` is given; `init` git-ignores it. */
export const LOCAL_OVERRIDE_FILE = 'layers.local.yaml';
export const ENV_MACHINE = 'YOCTOFORGE_MACHINE';
export const ENV_DISTRO = 'YOCTOFORGE_DISTRO';
/** YOCTOFORGE_SET_<KEY>=VALUE is `--set key=VALUE`; YOCTOFORGE_SET_VARIABLES_<NAME> sets variables.NAME. */
export const ENV_SET_PREFIX = 'YOCTOFORGE_SET_';

/** What the command line gives: override files (-f), --machine, --distro, --set KEY=VALUE. */
export interface OverrideFlags {
  files?: string[];
  machine?: string;
  distro?: string;
  set?: string[];
}

/** An override file holds target settings only: repos, caches and paths stay the manifest's (and the lock's). */
const overrideFileSchema = z.strictObject({
  defaults: targetSchema.optional(),
  targets: z.record(z.string().regex(NAME_PATTERN, 'a target name'), targetSchema).optional(),
});
type OverrideFile = z.infer<typeof overrideFileSchema>;

export interface Overrides {
  /** the override files read, as given (relative to the project when inside it) */
  files: string[];
  /** the sources for one target, as resolveTarget takes them */
  forTarget(target: string): TargetOverrides;
}

/** Settings a single flag or variable cannot carry: accounts are structured, raw conf text is unchecked. */
const NOT_FROM_COMMAND_LINE = new Set<keyof TargetSettings>(['groups', 'users', 'local_conf', 'bblayers_conf']);

/** Reads the override files and parses the environment and the flags; any bad value is an InputError naming its file, variable or flag. */
export async function loadOverrides(project: Project, flags: OverrideFlags = {}, env: NodeJS.ProcessEnv = process.env): Promise<Overrides> {
  const files = await readOverrideFiles(project, flags.files);
  const fromEnv: SettingsSource[] = [];
  if (env[ENV_MACHINE]) fromEnv.push(assignment(ENV_MACHINE, 'machine', env[ENV_MACHINE]));
  if (env[ENV_DISTRO]) fromEnv.push(assignment(ENV_DISTRO, 'distro', env[ENV_DISTRO]));
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (!name.startsWith(ENV_SET_PREFIX) || !value) continue;
    const rest = name.slice(ENV_SET_PREFIX.length);
    const key = rest.startsWith('VARIABLES_') ? `variables.${rest.slice('VARIABLES_'.length)}` : rest.toLowerCase();
    fromEnv.push(assignment(name, key, value));
  }
  const fromFlags: SettingsSource[] = [];
  for (const item of flags.set ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new InputError(`--set ${JSON.stringify(item)}: expected KEY=VALUE, e.g. --set init_manager=sysvinit`);
    const key = item.slice(0, at);
    fromFlags.push(assignment(`--set ${key}`, key, item.slice(at + 1)));
  }
  if (flags.machine !== undefined) fromFlags.push(assignment('--machine', 'machine', flags.machine));
  if (flags.distro !== undefined) fromFlags.push(assignment('--distro', 'distro', flags.distro));
  return {
    files: files.map((f) => f.label),
    forTarget: (target) => ({
      defaults: files.flatMap((f) => (f.content.defaults ? [{ origin: `${f.label}: defaults`, settings: f.content.defaults }] : [])),
      target: [
        ...files.flatMap((f) => {
          const own = f.content.targets?.[target];
          return own ? [{ origin: `${f.label}: targets.${target}`, settings: own }] : [];
        }),
        ...fromEnv,
        ...fromFlags,
      ],
    }),
  };
}

async function readOverrideFiles(
  project: Project,
  explicit: string[] | undefined,
): Promise<Array<{ label: string; content: OverrideFile }>> {
  const given = explicit && explicit.length > 0;
  const paths = given ? explicit.map((f) => path.resolve(f)) : [path.join(project.dir, LOCAL_OVERRIDE_FILE)];
  const out: Array<{ label: string; content: OverrideFile }> = [];
  for (const file of paths) {
    const relative = path.relative(project.dir, file);
    const label = relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (!given && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new InputError(
        `-f ${label}: cannot read the override file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    const content = parseValidatedYaml(text, file, overrideFileSchema, 'override file (only defaults: and targets: can be overridden)');
    for (const name of Object.keys(content.targets ?? {})) {
      if (!project.manifest.targets[name]) {
        throw new InputError(
          `${label}: targets.${name}: no target "${name}" in ${path.basename(project.manifestFile)} (an override file changes targets, it does not add them)`,
        );
      }
    }
    out.push({ label, content });
  }
  return out;
}

/**
 * One `KEY=VALUE` from a flag or a variable. A list setting takes a comma-separated value
 * (`packages=docker,ntp-utils`) and replaces the list, as a later kas file does; `variables.NAME`
 * sets one variable.
 */
function assignment(origin: string, key: string, value: string): SettingsSource {
  let settings: Record<string, unknown>;
  if (key.startsWith('variables.')) {
    const name = key.slice('variables.'.length);
    const named = variableName.safeParse(name);
    if (!named.success) throw new InputError(`${origin}: expected ${expectedText(named.error.issues[0]!)}, found ${JSON.stringify(name)}`);
    settings = { variables: { [name]: value } };
  } else {
    if (!Object.hasOwn(targetSettingsShape, key)) {
      throw new InputError(`${origin}: unknown target setting "${key}" (settable: ${settableKeys().join(', ')}, variables.NAME)`);
    }
    if (NOT_FROM_COMMAND_LINE.has(key as keyof TargetSettings)) {
      throw new InputError(
        `${origin}: ${key} cannot be set from the command line or the environment; put it in layers.yaml or an override file (-f)`,
      );
    }
    settings = {
      [key]: isListSetting(key)
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean)
        : value,
    };
  }
  const result = targetSchema.safeParse(settings);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InputError(`${origin}: expected ${expectedText(issue)}, found ${describeFound(settings, issue.path)}`);
  }
  return { origin, settings: result.data };
}

function settableKeys(): string[] {
  return Object.keys(targetSettingsShape).filter((k) => !NOT_FROM_COMMAND_LINE.has(k as keyof TargetSettings) && k !== 'variables');
}

function isListSetting(key: string): boolean {
  const schema = targetSettingsShape[key as keyof typeof targetSettingsShape];
  return schema instanceof z.ZodOptional && schema.unwrap() instanceof z.ZodArray;
}

/** The offending value itself (one list item, one variable), quoted so a newline shows as \n. */
function describeFound(settings: Record<string, unknown>, issuePath: PropertyKey[]): string {
  let value: unknown = settings;
  for (const step of issuePath) value = (value as Record<PropertyKey, unknown> | undefined)?.[step];
  if (value === undefined && issuePath.length > 0) value = issuePath[issuePath.length - 1];
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}..."` : text;
}
