import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isNode, isScalar, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { INPUT_LIMITS, readInputFile } from '../util/input.js';
import { parseYaml, problemsError } from '../util/yaml.js';
import { MANIFEST_FILE, manifestSchema, type Manifest } from './schema.js';

export interface Project {
  /** absolute project directory (where layers.yaml lives) */
  dir: string;
  /** absolute path of layers.yaml */
  manifestFile: string;
  manifest: Manifest;
  /** the manifest file's text, for digests and reports */
  manifestText: string;
}

export async function loadProject(projectDir: string): Promise<Project> {
  const dir = path.resolve(projectDir);
  const manifestFile = path.join(dir, MANIFEST_FILE);
  const text = await readInputFile(manifestFile, { what: 'manifest', maxBytes: INPUT_LIMITS.manifest, optional: true });
  if (text === undefined) throw new InputError(`no ${MANIFEST_FILE} in ${dir} (run \`yoctoforge init\` to create one)`);
  const manifest = parseManifest(text, manifestFile);
  await checkProjectPaths(dir, manifest, text, manifestFile);
  return { dir, manifestFile, manifest, manifestText: text };
}

/**
 * Local repos and patches name paths in the project. The schema keeps out `..` and absolute
 * paths; on disk each must exist and stay inside the project once symlinks are followed (the
 * container mounts only the project, and bundle and clean must never reach outside it).
 */
async function checkProjectPaths(dir: string, manifest: Manifest, text: string, file: string): Promise<void> {
  const wanted: Array<{ keyPath: string[]; rel: string; kind: 'directory' | 'file or directory' }> = [];
  for (const [name, spec] of Object.entries(manifest.repos)) {
    if (spec.path !== undefined) wanted.push({ keyPath: ['repos', name, 'path'], rel: spec.path, kind: 'directory' });
    (spec.patches ?? []).forEach((p, i) =>
      wanted.push({ keyPath: ['repos', name, 'patches', String(i)], rel: p, kind: 'file or directory' }),
    );
  }
  if (wanted.length === 0) return;
  const root = await realpath(dir);
  const problems: Array<{ keyPath: string[]; why: string }> = [];
  for (const { keyPath, rel, kind } of wanted) {
    const real = await realpath(path.join(dir, rel)).catch(() => undefined);
    const info = real === undefined ? undefined : await stat(real);
    if (real === undefined || !info)
      problems.push({ keyPath, why: `expected an existing ${kind} in the project, found nothing at ${rel}` });
    else if (real !== root && !real.startsWith(root + path.sep))
      problems.push({ keyPath, why: `expected a ${kind} inside the project, but ${rel} leads outside it through a symlink` });
    else if (kind === 'directory' ? !info.isDirectory() : !info.isDirectory() && !info.isFile())
      problems.push({ keyPath, why: `expected a ${kind}, found something else at ${rel}` });
  }
  if (problems.length === 0) return;
  const { doc, lineCounter } = parseYaml(text, file, `invalid manifest ${file}`);
  const label = path.basename(file);
  throw problemsError(
    `invalid manifest ${file}`,
    problems.map(({ keyPath, why }) => `${position(valueNode(doc, keyPath), lineCounter, label)}: ${formatPath(keyPath)}: ${why}`),
  );
}

/** Parses and validates manifest text; every problem becomes one `file:line:col: key: ...` line. */
export function parseManifest(text: string, file: string): Manifest {
  return parseValidatedYaml(text, file, manifestSchema, 'manifest');
}

/** Parses YAML text and validates it with `schema`, every problem one `file:line:col: key: ...` line (exit 2). */
export function parseValidatedYaml<T>(text: string, file: string, schema: z.ZodType<T>, what: string): T {
  const heading = `invalid ${what} ${file}`;
  const { doc, lineCounter, data } = parseYaml(text, file, heading);
  const label = path.basename(file);
  const controls = controlCharacterProblems(data, [], doc, lineCounter, label);
  if (controls.length > 0) throw problemsError(heading, controls);
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => describeIssue(issue, doc, lineCounter, label));
  throw problemsError(heading, lines);
}

/** Raw conf sections are multi-line text; no other value may hold a line break or a control character. */
const MULTILINE_KEYS = new Set(['local_conf', 'bblayers_conf']);

/**
 * NUL, escape sequences and line breaks in keys and values: refused before anything else looks at
 * them (a NUL in a URL would reach git's argv; a newline in a key would split every message).
 */
function controlCharacterProblems(value: unknown, keyPath: string[], doc: Document, lineCounter: LineCounter, label: string): string[] {
  // finding control characters is its job
  const bad = (text: string, multiline: boolean): boolean =>
    (multiline ? /[\u0000-\u0008\u000b-\u001f\u007f]/ : /[\u0000-\u001f\u007f]/).test(text);
  if (typeof value === 'string') {
    const multiline = MULTILINE_KEYS.has(keyPath[keyPath.length - 1] ?? '');
    if (!bad(value, multiline)) return [];
    const where = position(valueNode(doc, keyPath) ?? nearestNode(doc, keyPath), lineCounter, label);
    return [
      `${where}: ${formatPath(keyPath)}: expected text without control characters${multiline ? '' : ' or line breaks'}, found ${JSON.stringify(value).slice(0, 60)}`,
    ];
  }
  if (value === null || typeof value !== 'object') return [];
  const problems: string[] = [];
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (bad(key, false)) {
      problems.push(
        `${position(nearestNode(doc, [...keyPath, key]), lineCounter, label)}: ${formatPath(keyPath)}: the key ${JSON.stringify(key)} holds control characters or line breaks`,
      );
      continue;
    }
    problems.push(...controlCharacterProblems(inner, [...keyPath, key], doc, lineCounter, label));
  }
  return problems;
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter, label: string): string[] {
  const keyPath = issue.path.map(String);
  if (issue.code === 'invalid_key') {
    // a repository or target name that is not a name: say which and why, not "Invalid key in record"
    const key = keyPath[keyPath.length - 1] ?? '';
    const node = keyNode(doc, keyPath.slice(0, -1), key);
    const why = issue.issues
      .map((i) => (i.code === 'too_big' ? `at most ${String((i as { maximum: number }).maximum)} characters` : i.message))
      .join(', ');
    return [
      `${position(node, lineCounter, label)}: ${formatPath(keyPath.slice(0, -1))}: ${JSON.stringify(key.length > 60 ? `${key.slice(0, 57)}...` : key)} is not a valid name (expected ${why})`,
    ];
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const node = keyNode(doc, keyPath, key);
      const where = position(node, lineCounter, label);
      return `${where}: ${formatPath([...keyPath, key])}: unknown key "${key}"${suggestion(key)}`;
    });
  }
  const node = valueNode(doc, keyPath);
  const where = position(node ?? nearestNode(doc, keyPath), lineCounter, label);
  const found = node === undefined ? 'nothing' : describeValue(node);
  const expected = expectedText(issue);
  return [`${where}: ${formatPath(keyPath)}: expected ${expected}, found ${found}`];
}

/** What a schema issue expected, in words ("a list", "one of ...", the pattern's description). */
export function expectedText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.message.startsWith('Invalid input')) return articleFor(issue.expected);
    return issue.message;
  }
  if (issue.code === 'invalid_value') {
    const values = issue.values.map((v) => JSON.stringify(v));
    return values.length === 1 ? values[0]! : `one of ${values.join(', ')}`;
  }
  if (issue.code === 'too_small' && issue.origin === 'array') return `a list with at least ${String(issue.minimum)} item(s)`;
  if (issue.code === 'too_big' && issue.origin === 'string') return `at most ${String(issue.maximum)} characters`;
  return issue.message;
}

function articleFor(type: string): string {
  switch (type) {
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return type;
  }
}

function formatPath(keys: string[]): string {
  if (keys.length === 0) return '(top level)';
  return keys.map((k, i) => (/^\d+$/.test(k) ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function valueNode(doc: Document, keyPath: string[]): Node | undefined {
  if (keyPath.length === 0) return doc.contents ?? undefined;
  const node = doc.getIn(keyPath.map(asKey), true);
  return isNode(node) ? node : undefined;
}

function keyNode(doc: Document, parentPath: string[], key: string): Node | undefined {
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath.map(asKey), true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return pair && isNode(pair.key) ? pair.key : undefined;
}

function nearestNode(doc: Document, keyPath: string[]): Node | undefined {
  for (let n = keyPath.length - 1; n >= 0; n--) {
    const node = valueNode(doc, keyPath.slice(0, n));
    if (node) return node;
  }
  return undefined;
}

function asKey(k: string): string | number {
  return /^\d+$/.test(k) ? Number(k) : k;
}

function position(node: Node | undefined, lineCounter: LineCounter, label: string): string {
  const offset = node?.range?.[0];
  if (offset === undefined) return `${label}:1:1`;
  const pos = lineCounter.linePos(offset);
  return `${label}:${pos.line}:${pos.col}`;
}

function describeValue(node: Node): string {
  if (isScalar(node)) {
    if (node.value === null) return 'an empty value';
    const text = JSON.stringify(node.value);
    return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
  }
  if (isMap(node)) return 'a mapping';
  return 'a list';
}

/** "did you mean" for a typo of a key the schema knows somewhere. */
function suggestion(key: string): string {
  const candidates = allSchemaKeys();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

let schemaKeys: string[] | undefined;
function allSchemaKeys(): string[] {
  if (schemaKeys) return schemaKeys;
  const keys = new Set<string>();
  const walk = (schema: unknown, depth: number): void => {
    if (depth > 6 || schema === null || typeof schema !== 'object') return;
    const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return;
    const shape = def.shape as Record<string, unknown> | undefined;
    if (shape)
      for (const [k, v] of Object.entries(shape)) {
        keys.add(k);
        walk(v, depth + 1);
      }
    for (const inner of [def.innerType, def.element, def.valueType, def.in, def.out]) walk(inner, depth + 1);
  };
  walk(manifestSchema, 0);
  schemaKeys = [...keys];
  return schemaKeys;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length]!;
}
