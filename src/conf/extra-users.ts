import type { GroupSpec, UserSpec } from '../manifest/schema.js';

/**
 * EXTRA_USERS_PARAMS commands for the extrausers class: groups first (so users can join them),
 * then users, then memberships. Names are validated by the schema; `$` in password hashes is
 * escaped because extrausers evaluates the commands through a shell.
 */
export function extraUsersCommands(groups: GroupSpec[], users: UserSpec[]): string[] {
  const commands: string[] = [];
  for (const g of groups) {
    commands.push(['groupadd', g.system ? '-r' : '', g.gid !== undefined ? `-g ${g.gid}` : '', g.name].filter(Boolean).join(' ') + ';');
  }
  for (const u of users) {
    const password = u.password_hash ? `-p '${u.password_hash.replace(/\$/g, '\\$')}'` : '';
    commands.push(
      ['useradd', '-m', u.uid !== undefined ? `-u ${u.uid}` : '', u.home ? `-d ${u.home}` : '', u.shell ? `-s ${u.shell}` : '', password, u.name]
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
