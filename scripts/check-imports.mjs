#!/usr/bin/env node
// Checks that imports under src/ run down the data path
//   manifest -> lock -> layers -> conf -> engine -> bitbake -> report -> flash
// and never up it. Feature folders built on the path (bundle, kas, ci) may import the path but
// nothing on the path may import them. cli/ and commands/ compose everything and may import
// anything; ui/ may import the path (it displays it) but nothing imports ui/ except cli/ and
// commands/; util/, errors.ts and version.ts import
// nothing of ours but each other. Prints one line per violation; exit 1 when there is any.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? 'src');
const PATH = ['manifest', 'lock', 'layers', 'conf', 'engine', 'bitbake', 'report', 'flash'];
const FEATURES = ['bundle', 'kas', 'ci'];
const BASE = ['util', 'errors', 'version'];

function area(file) {
  const first = path.relative(root, file).split(path.sep)[0].replace(/\.ts$/, '');
  return first;
}

function allowed(from, to) {
  if (from === to || BASE.includes(to)) return true;
  if (from === 'cli' || from === 'commands') return true;
  if (BASE.includes(from)) return false;
  if (from === 'ui') return PATH.includes(to);
  if (FEATURES.includes(from)) return PATH.includes(to);
  if (PATH.includes(from)) return PATH.includes(to) && PATH.indexOf(to) <= PATH.indexOf(from);
  return false;
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(p);
    else if (entry.name.endsWith('.ts')) yield p;
  }
}

const problems = [];
for (const file of walk(root)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
    const spec = m[1] ?? m[2];
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
    const from = area(file);
    const to = area(target);
    if (!allowed(from, to)) problems.push(`${path.relative(root, file)}: imports ${spec} (${from} -> ${to})`);
  }
}
for (const p of problems) console.log(p);
if (problems.length > 0) process.exit(1);
console.log('imports run down the data path');
