import { isExtraUsersClassLine, isExtraUsersParamsLine, parseExtraUsers } from '../conf/extra-users.js';
import { FIXED_LOCAL_CONF_LINES, kasEntryOf, readSetting } from '../conf/lines.js';
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
  | { kind: 'var'; name: string; value: string; text: string; own: boolean }
  | { kind: 'extrausers-class'; text: string }
  | { kind: 'users'; text: string; groups: GroupSpec[]; users: UserSpec[] };

/**
 * Maps local_conf_header lines back to structured target keys where the line means exactly
 * what yoctoforge would write for that key; every other line is kept, in order, in local_conf
 * under a `# kas local_conf_header: KEY` label. The entry an export writes for local_conf comes
 * back verbatim.
 */
export function mapLocalConf(header: KasMap): Partial<TargetSettings> {
  const out: Partial<TargetSettings> = {};
  const chunks: Array<{ key: string; items: Item[] }> = [];
  let ownLocalConf: string | undefined;
  for (const key of Object.keys(header).sort()) {
    const value = header[key];
    const text = value === null || value === undefined ? '' : String(value);
    if (key === RAW_LOCAL_CONF_ENTRY) {
      ownLocalConf = text;
      continue;
    }
    const items: Item[] = [];
    for (const { text: line } of logicalLines(text)) {
      const trimmed = line.trim();
      if (FIXED_LOCAL_CONF_LINES.includes(trimmed)) continue;
      const setting = readSetting(trimmed, out);
      if (setting) {
        Object.assign(out, setting);
        continue;
      }
      if (isExtraUsersClassLine(trimmed)) {
        items.push({ kind: 'extrausers-class', text: line });
        continue;
      }
      if (isExtraUsersParamsLine(trimmed)) {
        const parsed = parseExtraUsers(trimmed);
        items.push(parsed ? { kind: 'users', text: line, ...parsed } : { kind: 'raw', text: line });
        continue;
      }
      let m: RegExpMatchArray | null;
      if ((m = /^([A-Z_][A-Za-z0-9_-]*(?::[a-z0-9_-]+)*)\s*=\s*"([^"]*)"$/.exec(trimmed)) && variableName.safeParse(m[1]).success && plainValue.safeParse(m[2]).success) {
        items.push({ kind: 'var', name: m[1]!, value: m[2]!, text: line, own: key === kasEntryOf('variables') });
        continue;
      }
      items.push({ kind: 'raw', text: line });
    }
    chunks.push({ key, items });
  }

  // users: the last EXTRA_USERS_PARAMS assignment wins, as in BitBake; it needs the extrausers class
  const all = chunks.flatMap((c) => c.items);
  const userItems = all.filter((i): i is Extract<Item, { kind: 'users' }> => i.kind === 'users');
  const hasClass = all.some((i) => i.kind === 'extrausers-class');
  const lastUsers = userItems.at(-1);
  if (lastUsers && hasClass) {
    if (lastUsers.groups.length > 0) out.groups = lastUsers.groups;
    if (lastUsers.users.length > 0) out.users = lastUsers.users;
  }
  // a plain assignment from another entry moves to variables only when nothing else touches it
  const rawTexts = all.filter((i) => i.kind === 'raw').map((i) => i.text);
  const varCount = new Map<string, number>();
  for (const i of all) if (i.kind === 'var') varCount.set(i.name, (varCount.get(i.name) ?? 0) + 1);
  const variables: Record<string, string> = {};
  const rawChunks: string[] = [];
  for (const chunk of chunks) {
    const lines: string[] = [];
    for (const item of chunk.items) {
      if (item.kind === 'var') {
        const base = item.name.split(':')[0]!;
        if (item.own || (varCount.get(item.name) === 1 && !rawTexts.some((t) => t.includes(base)))) {
          variables[item.name] = item.value;
          continue;
        }
      }
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
export function mapBblayersConf(header: KasMap): string | undefined {
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
      .filter((l) => !STANDARD_BBLAYERS_CONF_LINES.includes(l.trim()) && !['BBPATH ?= "${TOPDIR}"', 'BBFILES ??= ""'].includes(l.trim()));
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
    if (lines.length > 0) parts.push(`# kas bblayers_conf_header: ${key}\n${lines.join('\n')}\n`);
  }
  const all = [...parts, ...(own !== undefined ? [own] : [])];
  return all.length > 0 ? all.join('\n') : undefined;
}
