import { accountName, passwordHash } from '../manifest/conf-values.js';
import type { GroupSpec, UserSpec } from '../manifest/schema.js';

export const EXTRA_USERS_COMMENT = 'Users and groups, created in the image by the extrausers class.';
const EXTRA_USERS_CLASS_LINE = 'IMAGE_CLASSES += "extrausers"';

/** The local.conf lines for the accounts: the class line and one EXTRA_USERS_PARAMS assignment; [] for none. */
export function extraUsersLines(groups: GroupSpec[], users: UserSpec[]): string[] {
  const commands = extraUsersCommands(groups, users);
  if (commands.length === 0) return [];
  return [EXTRA_USERS_CLASS_LINE, ['EXTRA_USERS_PARAMS = "\\', ...commands.map((c) => `    ${c} \\`), '"'].join('\n')];
}

/** Whether a logical conf line is the one that enables the extrausers class. */
export function isExtraUsersClassLine(line: string): boolean {
  return /^IMAGE_CLASSES\s*\+=\s*"\s*extrausers\s*"$/.test(line.trim());
}

/** Whether a logical conf line assigns EXTRA_USERS_PARAMS. */
export function isExtraUsersParamsLine(line: string): boolean {
  return /^EXTRA_USERS_PARAMS\s*=/.test(line.trim());
}

/**
 * EXTRA_USERS_PARAMS commands for the extrausers class: groups first (so users can join them),
 * then users, then memberships. Names are validated by the schema; `$` in password hashes is
 * escaped because extrausers evaluates the commands through a shell.
 */
function extraUsersCommands(groups: GroupSpec[], users: UserSpec[]): string[] {
  const commands: string[] = [];
  for (const g of groups) {
    commands.push(['groupadd', g.system ? '-r' : '', g.gid !== undefined ? `-g ${g.gid}` : '', g.name].filter(Boolean).join(' ') + ';');
  }
  for (const u of users) {
    const password = u.password_hash ? `-p '${u.password_hash.replace(/\$/g, '\\$')}'` : '';
    commands.push(
      [
        'useradd',
        '-m',
        u.uid !== undefined ? `-u ${u.uid}` : '',
        u.home ? `-d ${u.home}` : '',
        u.shell ? `-s ${u.shell}` : '',
        password,
        u.name,
      ]
        .filter(Boolean)
        .join(' ') + ';',
    );
    if (u.groups && u.groups.length > 0) commands.push(`usermod -a -G ${u.groups.join(',')} ${u.name};`);
  }
  for (const g of groups) {
    for (const member of g.members ?? []) commands.push(`usermod -a -G ${g.name} ${member};`);
  }
  return commands;
}

/**
 * Reads back the commands `extraUsersCommands` writes. A usermod right after the useradd of the
 * same user is that user's `groups`; later ones are group `members`. Anything else (other
 * commands or options) makes the whole assignment stay verbatim.
 */
export function parseExtraUsers(line: string): { groups: GroupSpec[]; users: UserSpec[] } | undefined {
  const m = /^EXTRA_USERS_PARAMS\s*=\s*"([\s\S]*)"$/.exec(line.trim());
  if (!m) return undefined;
  const body = m[1]!.replace(/\\\n/g, ' ');
  const commands = splitCommands(body);
  if (!commands) return undefined;
  const groups: GroupSpec[] = [];
  const users: UserSpec[] = [];
  let previous: { kind: string; name: string } | undefined;
  let membersPhase = false;
  for (const words of commands) {
    const [cmd, ...args] = words;
    const name = args.at(-1);
    if (!name || !accountName.safeParse(name).success) return undefined;
    const opts = args.slice(0, -1);
    if (cmd === 'groupadd') {
      if (users.length > 0 || membersPhase) return undefined;
      const g: GroupSpec = { name };
      for (let i = 0; i < opts.length; i++) {
        if (opts[i] === '-r') g.system = true;
        else if (opts[i] === '-g' && /^\d+$/.test(opts[i + 1] ?? '')) g.gid = Number(opts[++i]);
        else return undefined;
      }
      groups.push(g);
    } else if (cmd === 'useradd') {
      if (membersPhase || opts[0] !== '-m') return undefined;
      const u: UserSpec = { name };
      for (let i = 1; i < opts.length; i++) {
        const v = opts[i + 1];
        if (v === undefined) return undefined;
        if (opts[i] === '-u' && /^\d+$/.test(v)) u.uid = Number(v);
        else if (opts[i] === '-d') u.home = v;
        else if (opts[i] === '-s') u.shell = v;
        else if (opts[i] === '-p') {
          const hash = v.replace(/\\\$/g, '$');
          if (!passwordHash.safeParse(hash).success) return undefined;
          u.password_hash = hash;
        } else return undefined;
        i++;
      }
      users.push(u);
    } else if (cmd === 'usermod') {
      if (opts.length !== 3 || opts[0] !== '-a' || opts[1] !== '-G') return undefined;
      const list = opts[2]!.split(',');
      if (!list.every((g) => accountName.safeParse(g).success)) return undefined;
      const user = users.find((u) => u.name === name);
      if (!membersPhase && previous?.kind === 'useradd' && previous.name === name && user) {
        user.groups = list;
      } else {
        membersPhase = true;
        for (const groupName of list) {
          const g = groups.find((x) => x.name === groupName);
          if (!g) return undefined;
          g.members = [...(g.members ?? []), name];
        }
      }
    } else return undefined;
    previous = { kind: cmd, name };
  }
  return { groups, users };
}

/** `cmd a 'b c';` → [['cmd','a','b c']]; undefined on unbalanced quotes or shell syntax. */
function splitCommands(body: string): string[][] | undefined {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === "'") {
      const end = body.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word = (word ?? '') + body.slice(i + 1, end);
      i = end;
    } else if (c === ';') {
      if (word !== undefined) words.push(word);
      word = undefined;
      if (words.length > 0) commands.push(words);
      words = [];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '\\' && body[i + 1] === '$') {
      word = `${word ?? ''}\\$`;
      i++;
    } else if (/[|&<>`"$()]/.test(c)) {
      return undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  if (words.length > 0) commands.push(words);
  return commands;
}
