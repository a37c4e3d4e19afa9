// Every --help page shows examples, the environment it reads and the exit codes, from one table.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/arguments/index.js';
import { ENVIRONMENT } from '../../src/cli/help.js';
import { EXIT_CODE_MEANINGS } from '../../src/errors.js';
import { REPO_ROOT, runCli } from '../helpers/git-fixtures.js';

function leafCommands(): string[][] {
  const program = new Command();
  registerCommands(program);
  const out: string[][] = [];
  const visit = (c: Command, prefix: string[]): void => {
    for (const sub of c.commands) {
      if ((sub as unknown as { _hidden: boolean })._hidden) continue;
      if (sub.commands.length > 0) visit(sub, [...prefix, sub.name()]);
      else out.push([...prefix, sub.name()]);
    }
  };
  visit(program, []);
  return out;
}

describe('--help', () => {
  it.each(leafCommands().map((words) => [words.join(' '), words]))('%s --help: an example, the exit codes', (_name, words) => {
    const r = runCli([...(words as string[]), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\nExamples:\n {2}\$ yoctoforge /);
    expect(r.stdout).toContain(`Exit codes:\n    0   ${EXIT_CODE_MEANINGS[0]}\n`);
    expect(r.stdout).toContain(`  130   ${EXIT_CODE_MEANINGS[130]}`);
  });

  it('build --help lists the variables build reads; shell --help its own exit code', () => {
    const build = runCli(['build', '--help']).stdout;
    for (const name of ['YOCTOFORGE_ENGINE', 'YOCTOFORGE_MIN_FREE_GIB', 'BB_NUMBER_THREADS, PARALLEL_MAKE'])
      expect(build).toContain(`\n  ${name}\n`);
    expect(build).not.toContain('YOCTOFORGE_DECOMPRESSOR');
    expect(runCli(['shell', '--help']).stdout).toMatch(/ {4}N {3}with a command: the exit code of that command/);
  });

  it('the environment table names every YOCTOFORGE_ variable the sources read', () => {
    const files = readdirSync(path.join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('help.ts'),
    );
    const read = new Set<string>();
    for (const f of files)
      for (const m of readFileSync(path.join(REPO_ROOT, 'src', f), 'utf8').matchAll(/env(?:\?)?\.(YOCTOFORGE_[A-Z0-9_]+)/g))
        read.add(m[1]!);
    // YOCTOFORGE_REPO* are set by foreach for its command, not read.
    const documented = new Set(ENVIRONMENT.flatMap((v) => v.name.split(/,\s*/)));
    expect([...read].filter((n) => !documented.has(n))).toEqual([]);
    expect(read.size).toBeGreaterThan(5);
  });

  it("the README's exit-code table is the one --help prints", () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('## Development'));
    const rows = [...section.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(Object.entries(EXIT_CODE_MEANINGS));
  });
});
