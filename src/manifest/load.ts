import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../errors.js';
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
  let text: string;
  try {
    text = await readFile(manifestFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`no ${MANIFEST_FILE} in ${dir} (run \`yoctoforge init\` to create one)`);
    }
    throw new InputError(`cannot read ${manifestFile}: ${(error as Error).message}`);
  }
  return { dir, manifestFile, manifest: parseManifest(text, manifestFile), manifestText: text };
}

/** Parses and validates manifest text; every problem becomes one `file:line:col: key: ...` line. */
export function parseManifest(text: string, file: string): Manifest {
  return parseValidatedYaml(text, file, manifestSchema, 'manifest');
}

/** Parses YAML text and validates it with `schema`, every problem one `file:line:col: key: ...` line (exit 2). */
export function parseValidatedYaml<T>(text: string, file: string, schema: z.ZodType<T>, what: string): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const label = path.basename(file);
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${label}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
    });
    throw validationError(file, what, lines);
  }
  const data: unknown = doc.toJS() ?? {};
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) => describeIssue(issue, doc, lineCounter, label));
  throw validationError(file, what, lines);
}

function validationError(file: string, what: string, lines: string[]): InputError {
  const [first, ...rest] = lines;
  const count = lines.length === 1 ? '' : ` (${lines.length} problems)`;
  return new InputError(`invalid ${what} ${file}${count}`, [first ?? '', ...rest]);
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter, label: string): string[] {
  const keyPath = issue.path.map(String);
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
    if (shape) for (const [k, v] of Object.entries(shape)) { keys.add(k); walk(v, depth + 1); }
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
