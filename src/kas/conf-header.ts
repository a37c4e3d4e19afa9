import { isExtraUsersClassLine, isExtraUsersParamsLine, parseExtraUsers } from '../conf/extra-users.js';
import { FIXED_LOCAL_CONF_LINES, kasEntryOf, readSetting } from '../conf/lines.js';
import { KAS_BBLAYERS_SEARCH_LINES } from '../conf/standard.js';
import { plainValue, variableName } from '../manifest/conf-values.js';
import type { GroupSpec, TargetSettings, UserSpec } from '../manifest/schema.js';
import { BBLAYERS_CONF_KEYS, RAW_LOCAL_CONF_ENTRY, STANDARD_BBLAYERS_CONF_LINES, type KasMap } from './common.js';

/* local_conf_header and bblayers_conf_header: conf text back into target settings, through the table of conf/lines.ts. */

interface LogicalLine {
  text: string;
}

/** Splits conf text into logical lines (a trailing backslash continues a line). */
function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let current: string[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    current.push(line);
    if (!line.endsWith('\\')) {
      out.push({ text: current.join('\n') });
      current = [];
    }
  }
  if (current.length > 0) out.push({ text: current.join('\n') });
  return out;
}

type Item =
  | { kind: 'raw'; text: string }
  | { kind: 'var'; name: string; value: string; text: string; own: boolean; mappable: boolean }
  | { kind: 'setting'; update: Partial<TargetSettings>; text: string; mappable: boolean }
  | { kind: 'extrausers-class'; text: string }
  | { kind: 'users'; text: string; groups: GroupSpec[]; users: UserSpec[] };

/** How many logical lines name each word (a variable, its overrides, a reference): one pass over the text. */
function wordLines(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    for (const word of new Set(line.match(/[A-Za-z0-9_-]+/g) ?? [])) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** The variable a line assigns (without overrides and flags). */
function assignedVariable(line: string): string | undefined {
  return /^(?:export\s+)?([A-Za-z0-9_-]+)/.exec(line)?.[1];
}

/**
 * Maps local_conf_header lines back to structured target keys where that gives every variable
 * the value kas gives it; every other line is kept, in order, in local_conf under a
 * `# kas local_conf_header: KEY` label.
 *
 * `kas` layout (a kas file): local_conf is rendered where kas writes its header, so only a line
 * that is the one line naming its variable (no other assignment, override, flag or reference)
 * and has no comment above it moves to a key; everything else stays in kas's order, comments
 * with what they describe. `yoctoforge` layout (an export of yoctoforge): the lines conf/lines.ts
 * spells come back as their keys, the fixed lines are dropped, the raw local_conf entry comes
 * back verbatim.
 */
export function mapLocalConf(header: KasMap, layout: 'kas' | 'yoctoforge'): Partial<TargetSettings> {
  const out: Partial<TargetSettings> = {};
  const kas = layout === 'kas';
  const entries: Array<{ key: string; lines: string[] }> = [];
  let ownLocalConf: string | undefined;
  for (const key of Object.keys(header).sort()) {
    const value = header[key];
    const text = value === null || value === undefined ? '' : String(value);
    if (key === RAW_LOCAL_CONF_ENTRY && !kas) {
      ownLocalConf = text;
      continue;
    }
    entries.push({ key, lines: logicalLines(text).map((l) => l.text) });
  }
  const words = wordLines(entries.flatMap((e) => e.lines));
  const sole = (line: string): boolean => {
    const name = assignedVariable(line.trim());
    return name !== undefined && words.get(name) === 1;
  };

  const chunks: Array<{ key: string; items: Item[] }> = [];
  for (const { key, lines } of entries) {
    const items: Item[] = [];
    let commented = false;
    for (const line of lines) {
      const trimmed = line.trim();
      const afterComment = commented;
      commented = trimmed.startsWith('#');
      if (!kas && FIXED_LOCAL_CONF_LINES.includes(trimmed)) continue;
      const mappable = !kas || (sole(trimmed) && !afterComment);
      const setting = readSetting(trimmed, out);
      if (setting) {
        items.push({ kind: 'setting', update: setting, text: line, mappable });
        if (mappable) Object.assign(out, setting);
        continue;
      }
      if (isExtraUsersClassLine(trimmed)) {
        items.push({ kind: 'extrausers-class', text: line });
        continue;
      }
      if (isExtraUsersParamsLine(trimmed)) {
        const parsed = parseExtraUsers(trimmed);
        items.push(parsed && (!kas || mappable) ? { kind: 'users', text: line, ...parsed } : { kind: 'raw', text: line });
        continue;
      }
      const m = /^([A-Z_][A-Za-z0-9_-]*(?::[a-z0-9_-]+)*)\s*=\s*"([^"]*)"$/.exec(trimmed);
      if (m && variableName.safeParse(m[1]).success && plainValue.safeParse(m[2]).success) {
        items.push({ kind: 'var', name: m[1]!, value: m[2]!, text: line, own: key === kasEntryOf('variables'), mappable });
        continue;
      }
      items.push({ kind: 'raw', text: line });
    }
    chunks.push({ key, items });
  }

  // users: the last EXTRA_USERS_PARAMS assignment wins, as in BitBake; it needs the extrausers class
  const all = chunks.flatMap((c) => c.items);
  const userItems = all.filter((i): i is Extract<Item, { kind: 'users' }> => i.kind === 'users');
  const classItems = all.filter((i) => i.kind === 'extrausers-class');
  // in kas's layout the class line may move only when it is the one line naming IMAGE_CLASSES
  const hasClass =
    classItems.length > 0 && (!kas || (classItems.length === 1 && words.get('IMAGE_CLASSES') === 1 && userItems.length === 1));
  const lastUsers = userItems.at(-1);
  if (lastUsers && hasClass) {
    if (lastUsers.groups.length > 0) out.groups = lastUsers.groups;
    if (lastUsers.users.length > 0) out.users = lastUsers.users;
  }
  // a plain assignment from another entry moves to variables only when nothing else touches it
  const variables: Record<string, string> = {};
  const rawChunks: string[] = [];
  for (const chunk of chunks) {
    const lines: string[] = [];
    for (const item of chunk.items) {
      if (item.kind === 'var' && item.mappable) {
        const base = item.name.split(':')[0]!;
        if (item.own || words.get(base) === 1) {
          variables[item.name] = item.value;
          continue;
        }
      }
      if (item.kind === 'setting' && item.mappable) continue;
      if (item.kind === 'users' && item === lastUsers && hasClass) continue;
      if (item.kind === 'extrausers-class' && lastUsers && hasClass) continue;
      lines.push(item.text);
    }
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    if (lines.length > 0) rawChunks.push(`# kas local_conf_header: ${chunk.key}\n${lines.join('\n')}\n`);
  }
  if (Object.keys(variables).length > 0) out.variables = variables;
  // an export's own local_conf entry comes back verbatim; labelled leftovers go before it
  const parts = [...rawChunks, ...(ownLocalConf !== undefined ? [ownLocalConf] : [])];
  if (parts.length > 0) out.local_conf = parts.join('\n');
  return out;
}

/** bblayers_conf_header: lines yoctoforge writes itself are dropped, the rest kept (labelled). */
export function mapBblayersConf(header: KasMap, layout: 'kas' | 'yoctoforge'): string | undefined {
  const parts: string[] = [];
  let own: string | undefined;
  for (const key of Object.keys(header).sort()) {
    const text = header[key] === null || header[key] === undefined ? '' : String(header[key]);
    if (key === BBLAYERS_CONF_KEYS.bblayersConf) {
      own = text;
      continue;
    }
    const lines = logicalLines(text)
      .map((l) => l.text)
      .filter(
        (l) => layout === 'kas' || (!STANDARD_BBLAYERS_CONF_LINES.includes(l.trim()) && !KAS_BBLAYERS_SEARCH_LINES.includes(l.trim())),
      );
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    if (lines.length > 0) parts.push(`# kas bblayers_conf_header: ${key}\n${lines.join('\n')}\n`);
  }
  const all = [...parts, ...(own !== undefined ? [own] : [])];
  return all.length > 0 ? all.join('\n') : undefined;
}
