import { targetSettingsShape, type TargetSettings } from '../manifest/schema.js';
import type { CacheSettings } from '../manifest/shared-cache.js';
import type { Target } from '../manifest/target.js';
import { EXTRA_USERS_COMMENT, extraUsersLines } from './extra-users.js';
import { CONF_RELEASES, DEFAULT_CONF_RELEASE, type ConfRelease } from './release.js';

/*
 * The one table from target settings to local.conf lines. The renderer prints it block by
 * block, the kas export writes its entries as local_conf_header entries and the kas import reads
 * those lines back into settings, so a setting is spelled here and nowhere else.
 */

/** Where local.conf prints an entry (templates/local.conf.hbs places each block). */
export type LocalConfBlock = 'target' | 'caches' | 'poky-defaults' | 'variables' | 'conf-version' | 'kas-defaults';

/** What the cache lines are made of besides the target: this machine's cache paths and its role in a shared cache. */
export interface CacheContext {
  dlDir: string;
  sstateDir: string;
  persistentDir: string;
  cache: CacheSettings;
  /** whether the manifest names a shared cache (cache.shared) */
  shared: boolean;
}

/** How one setting is written in BitBake syntax, and read back from a logical line of it. */
interface Spelling<V> {
  render(value: V): string[];
  /** the value a logical line holds when it is spelled this way; checked against the schema afterwards */
  parse(line: string): V | undefined;
  /** repeated lines add up (`:append`) instead of the last one winning */
  adds?: boolean;
}

export interface LocalConfEntry {
  /** the manifest key the lines come from; undefined for the lines every local.conf carries */
  key?: keyof TargetSettings;
  block: LocalConfBlock;
  /**
   * The kas local_conf_header entry an export writes these lines to; kas writes entries sorted
   * by name, so the number fixes their order. Entries without one are kas keys of their own
   * (machine, distro) and are not read back from conf text.
   */
  kasEntry?: string;
  /** printed in local.conf above the lines, after a blank line */
  comment?: (targetName: string) => string;
  /** the lines of an entry every local.conf of a release carries, whatever the manifest says */
  fixed?: (release: ConfRelease) => readonly string[];
  /** the variable kas writes as a weak default (`NAME ??= "value"`) after local_conf in the kas layout */
  kasWeakDefault?: string;
  /** logical lines (a value may continue over several with a trailing backslash); [] when unset */
  lines(target: Target, release: ConfRelease, caches?: CacheContext): string[];
  /** the settings a logical line of kas conf text means, given those read so far; undefined when it is not this entry's line */
  read?(line: string, sofar: Partial<TargetSettings>): Partial<TargetSettings> | undefined;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function words(text: string): string[] | undefined {
  const list = text.trim().split(/\s+/).filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** `NAME = "value"` */
function assign<V extends string>(variable: string): Spelling<V> {
  const pattern = new RegExp(`^${escapeRegExp(variable)}\\s*=\\s*"([^"]*)"$`);
  return { render: (v) => [`${variable} = "${v}"`], parse: (line) => pattern.exec(line)?.[1] as V | undefined };
}

/** `NAME = "word word"` */
function assignWords(variable: string): Spelling<string[]> {
  const pattern = new RegExp(`^${escapeRegExp(variable)}\\s*=\\s*"([^"]*)"$`);
  return {
    render: (v) => (v.length > 0 ? [`${variable} = "${v.join(' ')}"`] : []),
    parse: (line) => {
      const m = pattern.exec(line);
      return m ? words(m[1]!) : undefined;
    },
  };
}

/** `NAME:append = " word word"` */
function appendWords(variable: string): Spelling<string[]> {
  const pattern = new RegExp(`^${escapeRegExp(variable)}:append\\s*=\\s*" ([^"]*)"$`);
  return {
    render: (v) => (v.length > 0 ? [`${variable}:append = " ${v.join(' ')}"`] : []),
    parse: (line) => {
      const m = pattern.exec(line);
      return m ? words(m[1]!) : undefined;
    },
    adds: true,
  };
}

/** A manifest key written with one spelling; read back only when the schema accepts the value. */
function setting<K extends keyof TargetSettings>(
  key: K,
  spelling: Spelling<NonNullable<TargetSettings[K]>>,
  options: {
    kasEntry?: string;
    value?: (target: Target) => NonNullable<TargetSettings[K]>;
    spellingFor?: (release: ConfRelease) => Spelling<NonNullable<TargetSettings[K]>>;
  } = {},
): LocalConfEntry {
  const valueOf = options.value ?? ((t: Target) => t.settings[key]);
  const check = targetSettingsShape[key];
  return {
    key,
    block: 'target',
    kasEntry: options.kasEntry,
    lines: (t, release) => {
      const value = valueOf(t);
      return value === undefined ? [] : (options.spellingFor?.(release) ?? spelling).render(value as NonNullable<TargetSettings[K]>);
    },
    read: options.kasEntry
      ? (line, sofar) => {
          const value = spelling.parse(line);
          if (value === undefined || !check.safeParse(value).success) return undefined;
          const previous = sofar[key];
          const merged = spelling.adds && Array.isArray(previous) && Array.isArray(value) ? [...previous, ...value] : value;
          return { [key]: merged } as Partial<TargetSettings>;
        }
      : undefined,
  };
}

function fixed(block: LocalConfBlock, lines: (release: ConfRelease) => readonly string[]): LocalConfEntry {
  return { block, kasEntry: KAS_STANDARD_ENTRY, fixed: lines, lines: (_t, release) => [...lines(release)] };
}

/** MACHINE/DISTRO as an assignment, or from whinlatter on as OE's built-in fragment (`machine/NAME`). */
function assignOrFragment(variable: string, fragmentPrefix: string): (release: ConfRelease) => Spelling<string> {
  const fragment: Spelling<string> = { render: (v) => [`OE_FRAGMENTS += "${fragmentPrefix}${v}"`], parse: () => undefined };
  return (release) => (release.fragments ? fragment : assign(variable));
}

/** The local_conf_header entry of the fixed lines: an export of yoctoforge's own layout carries it. */
export const KAS_STANDARD_ENTRY = 'yoctoforge-00-standard';

/** In kas order: the export writes entries in this order, lines of one entry joined. */
export const LOCAL_CONF_TABLE: readonly LocalConfEntry[] = [
  fixed('conf-version', (r) => [r.confVersionLine]),
  fixed('poky-defaults', (r) => r.sampleDefaults),
  {
    ...setting('machine', assign('MACHINE'), { value: (t) => t.machine, spellingFor: assignOrFragment('MACHINE', 'machine/') }),
    kasWeakDefault: 'MACHINE',
  },
  {
    ...setting('distro', assign('DISTRO'), { value: (t) => t.distro, spellingFor: assignOrFragment('DISTRO', 'distro/') }),
    kasWeakDefault: 'DISTRO',
  },
  setting('init_manager', assign('INIT_MANAGER'), { kasEntry: 'yoctoforge-10-init-manager' }),
  setting('distro_features', appendWords('DISTRO_FEATURES'), { kasEntry: 'yoctoforge-20-distro-features' }),
  setting('packages', appendWords('IMAGE_INSTALL'), { kasEntry: 'yoctoforge-30-packages' }),
  setting('image_features', appendWords('EXTRA_IMAGE_FEATURES'), { kasEntry: 'yoctoforge-40-image-features' }),
  setting('license_flags_accepted', appendWords('LICENSE_FLAGS_ACCEPTED'), { kasEntry: 'yoctoforge-50-license-flags' }),
  setting('image_fstypes', assignWords('IMAGE_FSTYPES'), { kasEntry: 'yoctoforge-60-image-fstypes' }),
  // read back by the kas import itself: the last EXTRA_USERS_PARAMS wins and needs the class line
  {
    key: 'users',
    block: 'target',
    kasEntry: 'yoctoforge-70-extra-users',
    comment: () => EXTRA_USERS_COMMENT,
    lines: (t) => extraUsersLines(t.groups, t.users),
  },
  // This machine's caches and its role in a shared one: local facts, never exported to kas.
  {
    block: 'caches',
    comment: () => 'Caches shared by every target and project of this user.',
    lines: (_t, _r, c) => [`DL_DIR = "${c!.dlDir}"`, `SSTATE_DIR = "${c!.sstateDir}"`],
  },
  {
    block: 'caches',
    lines: (_t, r, c) => [
      ...(c!.shared ? sharedCacheComment(c!.cache) : []),
      ...(c!.cache.hashserve !== 'auto'
        ? []
        : r.hashDatabase.variable === 'PERSISTENT_DIR'
          ? [
              '# One hash-equivalence database beside the shared sstate cache, so that equivalent task',
              '# outputs found by one build are reused by all.',
              `PERSISTENT_DIR = "${c!.persistentDir}"`,
            ]
          : [
              '# The hash-equivalence database beside the shared sstate cache (where BitBake recommends it),',
              '# so that equivalent task outputs found by one build are reused by all.',
              `BB_HASHSERVE_DB_DIR = "${r.hashDatabase.value}"`,
            ]),
      `BB_HASHSERVE = "${c!.cache.hashserve}"`,
      ...(c!.cache.hashserveUpstream ? [`BB_HASHSERVE_UPSTREAM = "${c!.cache.hashserveUpstream}"`] : []),
    ],
  },
  {
    block: 'caches',
    lines: (_t, _r, c) =>
      c!.cache.sstateMirrors.length > 0
        ? [['SSTATE_MIRRORS = "\\', ...c!.cache.sstateMirrors.map((m) => `    ${m} \\`), '"'].join('\n')]
        : [],
  },
  // read back by the kas import itself: a variable another entry also sets stays in local_conf
  {
    key: 'variables',
    block: 'variables',
    kasEntry: 'yoctoforge-80-variables',
    comment: (name) => `targets.${name}.variables`,
    lines: (t) =>
      Object.keys(t.variables)
        .sort()
        .map((name) => `${name} = "${t.variables[name]!}"`),
  },
];

/** The kas entry of a table key (the import treats the variables entry as its own). */
export function kasEntryOf(key: keyof TargetSettings): string | undefined {
  return LOCAL_CONF_TABLE.find((e) => e.key === key)?.kasEntry;
}

/** The conf variables a setting (or `variables.NAME`) is written to; [] for a setting no local.conf line carries. */
export function confVariablesOf(key: string, target: Target, release: ConfRelease = DEFAULT_CONF_RELEASE): string[] {
  if (key.startsWith('variables.')) return [key.slice('variables.'.length)];
  const entry = LOCAL_CONF_TABLE.find((e) => e.key === key);
  const names = (entry?.lines(target, release) ?? [])
    .map((line) => /^[A-Z_][A-Za-z0-9_-]*/.exec(line)?.[0])
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)];
}

/** Lines every local.conf carries whatever the manifest says: an import drops them again. */
export const FIXED_LOCAL_CONF_LINES: readonly string[] = [
  ...new Set(CONF_RELEASES.flatMap((r) => LOCAL_CONF_TABLE.flatMap((e) => e.fixed?.(r) ?? []))),
];

/** What a developer reads in the conf about the role: where the login comes from, what is written where. */
function sharedCacheComment(cache: CacheSettings): string[] {
  return cache.role === 'read-write'
    ? [
        "# Shared cache, role read-write (YOCTOFORGE_CACHE_ROLE): equivalences are reported to the team's",
        '# hash server, with BB_HASHSERVE_USERNAME/BB_HASHSERVE_PASSWORD from the environment.',
      ]
    : [
        "# Shared cache, role read-only: a local hash server reads the team's (BB_HASHSERVE_UPSTREAM) and",
        "# keeps what it learns to itself; sstate objects are read from the team's mirror.",
      ];
}

/**
 * Where an entry goes for a target, and its lines: in the kas layout the fixed lines are not
 * written and MACHINE/DISTRO become weak defaults after local_conf, as kas writes them.
 */
function placed(
  entry: LocalConfEntry,
  target: Target,
  release: ConfRelease,
  caches?: CacheContext,
): { block: LocalConfBlock; lines: () => string[] } | undefined {
  const own = { block: entry.block, lines: () => entry.lines(target, release, caches) };
  if (target.confLayout !== 'kas') return own;
  if (entry.fixed) return undefined;
  if (entry.kasWeakDefault) {
    const value = entry.key === 'machine' ? target.machine : target.distro;
    return { block: 'kas-defaults', lines: () => [`${entry.kasWeakDefault} ??= "${value}"`] };
  }
  return own;
}

/** One local.conf block: each entry's lines, with its comment after a blank line. */
export function renderBlock(
  block: LocalConfBlock,
  target: Target,
  release: ConfRelease = DEFAULT_CONF_RELEASE,
  caches?: CacheContext,
): string {
  const parts: string[] = [];
  for (const entry of LOCAL_CONF_TABLE) {
    const place = placed(entry, target, release, caches);
    if (place?.block !== block) continue;
    // only the entries of this block: the cache lines need the cache context, which only their block has
    const lines = place.lines();
    if (lines.length === 0) continue;
    parts.push([...(entry.comment ? ['', `# ${entry.comment(target.name)}`] : []), ...lines].join('\n'));
  }
  return parts.join('\n');
}

/** The local_conf_header entries of a target, in table order, each ending with a newline. */
export function kasEntries(target: Target, release: ConfRelease = DEFAULT_CONF_RELEASE): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of LOCAL_CONF_TABLE) {
    if (!entry.kasEntry || (entry.fixed && target.confLayout === 'kas')) continue;
    const lines = entry.lines(target, release);
    if (lines.length > 0) out[entry.kasEntry] = `${out[entry.kasEntry] ?? ''}${lines.join('\n')}\n`;
  }
  return out;
}

/** The settings a logical kas conf line means, read by the first entry that spells it so; undefined for any other line. */
export function readSetting(line: string, sofar: Partial<TargetSettings>): Partial<TargetSettings> | undefined {
  for (const entry of LOCAL_CONF_TABLE) {
    const update = entry.read?.(line, sofar);
    if (update) return update;
  }
  return undefined;
}
