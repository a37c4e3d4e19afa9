// The layout is the architecture: data flows manifest -> lock -> layers -> conf -> engine ->
// bitbake -> report -> flash, and a module may import only from its own folder, from folders
// earlier on that path, and from the base (util, errors, version). Features built on the path
// (kas, bundle, ci, ...) may use the path but the path never uses them; commands and cli compose
// everything. flash is a copier like bmaptool's: it takes a file and a device and knows no project.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'src');
const DATA_PATH = ['manifest', 'lock', 'layers', 'conf', 'engine', 'bitbake', 'report', 'flash'];
const BASE = ['util', 'errors.ts', 'version.ts'];
const TOP = ['commands', 'cli'];
/** what a folder of the path may import besides the base, when it is not "every earlier folder" */
const NARROWER: Record<string, string[]> = { flash: [] };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** src's top-level folder (or file) that a path inside src belongs to */
function unit(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!.replace(/\.js$/, '.ts');
}

function allowed(from: string, to: string): boolean {
  if (from === to || BASE.includes(to)) return true;
  if (TOP.includes(from)) return true;
  if (BASE.includes(from)) return to === 'errors.ts' || to === 'version.ts' || (from !== 'util' && to === 'util');
  // ui draws what the path produces; the path never draws
  if (from === 'ui') return !TOP.includes(to);
  const i = DATA_PATH.indexOf(from);
  const j = DATA_PATH.indexOf(to);
  if (i >= 0) {
    if (NARROWER[from]) return NARROWER[from].includes(to);
    return j >= 0 && j < i;
  }
  // a feature folder: the path, the base and other features are fine; never ui, commands or cli
  return !TOP.includes(to) && to !== 'ui';
}

describe('imports run down the data path', () => {
  it('no module imports a folder later on the path, a feature, or a command', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = unit(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm)) {
        const spec = m[1] ?? m[2]!;
        const to = unit(path.resolve(path.dirname(file), spec));
        if (!allowed(from, to)) violations.push(`${path.relative(SRC, file)} imports ${spec} (${from} -> ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });
});
