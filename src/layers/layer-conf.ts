import path from 'node:path';
import { InputError } from '../errors.js';
import { INPUT_LIMITS, readInputFile } from '../util/input.js';

/**
 * Reads the assignments of a layer's conf/layer.conf the way BitBake would for the variables we
 * need (collections, dependencies, series, priorities). Inline Python is never evaluated: a value
 * that needs it is kept as written.
 */
const MAX_VALUE_LENGTH = 1024 ** 2;

export function parseConfAssignments(text: string, layerDir: string): Map<string, string> {
  const vars = new Map<string, string>();
  const defaults = new Map<string, string>();
  const expand = (value: string): string =>
    bounded(
      value.replace(/\$\{([A-Za-z0-9_:+.-]+)\}/g, (whole, name: string) => {
        if (name === 'LAYERDIR') return layerDir;
        return vars.get(name) ?? defaults.get(name) ?? whole;
      }),
    );
  // `A .= "${A}${A}"` forty times is a few hundred bytes that expand to terabytes
  const bounded = (value: string): string => {
    if (value.length > MAX_VALUE_LENGTH)
      throw new InputError(
        `${path.join(layerDir, 'conf', 'layer.conf')}: a variable expands to more than ${MAX_VALUE_LENGTH} characters; refusing it`,
      );
    return value;
  };

  for (const statement of logicalLines(text)) {
    const match = /^(?:export\s+)?([A-Za-z0-9_${}/.+:-]+?)\s*(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*(?:"(.*)"|'(.*)')\s*$/s.exec(statement);
    if (!match) continue;
    const [, rawName, op, doubleQuoted, singleQuoted] = match;
    const name = expand(rawName!);
    const value = doubleQuoted ?? singleQuoted ?? '';
    const appendMatch = /^(.*):(append|prepend|remove)$/.exec(name);
    if (appendMatch) {
      const [, base, kind] = appendMatch;
      const current = vars.get(base!) ?? '';
      const v = expand(value);
      if (kind === 'append') vars.set(base!, bounded(current + v));
      else if (kind === 'prepend') vars.set(base!, bounded(v + current));
      else
        vars.set(
          base!,
          words(current)
            .filter((w) => !words(v).includes(w))
            .join(' '),
        );
      continue;
    }
    const current = vars.get(name);
    switch (op) {
      case '=':
      case ':=':
        vars.set(name, expand(value));
        break;
      case '?=':
        if (current === undefined) vars.set(name, expand(value));
        break;
      case '??=':
        defaults.set(name, expand(value));
        break;
      case '+=':
        vars.set(name, bounded(current ? `${current} ${expand(value)}` : expand(value)));
        break;
      case '=+':
        vars.set(name, bounded(current ? `${expand(value)} ${current}` : expand(value)));
        break;
      case '.=':
        vars.set(name, bounded((current ?? '') + expand(value)));
        break;
      case '=.':
        vars.set(name, bounded(expand(value) + (current ?? '')));
        break;
    }
  }
  for (const [name, value] of defaults) if (!vars.has(name)) vars.set(name, value);
  return vars;
}

/** Statements with their backslash continuations joined; comments and blank lines dropped. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of text.split(/\r?\n/)) {
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const statement = (pending + line).trim();
    pending = '';
    if (statement) out.push(statement);
  }
  if (pending.trim()) out.push(pending.trim());
  return out;
}

export function words(value: string | undefined): string[] {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

export interface LayerDependency {
  collection: string;
  /** e.g. ">= 12" */
  constraint?: string;
}

/** `core (>= 12) openembedded-layer` → [{core, >= 12}, {openembedded-layer}] (bb.utils.explode_dep_versions2). */
export function parseDependencies(value: string | undefined): LayerDependency[] {
  const deps: LayerDependency[] = [];
  const re = /([^\s()]+)(?:\s*\(([^)]*)\))?/g;
  for (const m of (value ?? '').matchAll(re)) {
    const constraint = m[2]?.trim();
    deps.push(constraint ? { collection: m[1]!, constraint } : { collection: m[1]! });
  }
  return deps;
}

export interface LayerCollection {
  name: string;
  priority?: number;
  version?: string;
  depends: LayerDependency[];
  recommends: LayerDependency[];
  seriesCompat: string[];
}

export interface LayerConf {
  dir: string;
  collections: LayerCollection[];
  /** LAYERSERIES_CORENAMES, set only by the core layer */
  coreSeries: string[];
}

export async function readLayerConf(layerDir: string): Promise<LayerConf> {
  const text = await readInputFile(path.join(layerDir, 'conf', 'layer.conf'), {
    what: 'layer configuration',
    maxBytes: INPUT_LIMITS.small,
  });
  return layerConfFromText(text, layerDir);
}

export function layerConfFromText(text: string, layerDir: string): LayerConf {
  const vars = parseConfAssignments(text, layerDir);
  const collections = words(vars.get('BBFILE_COLLECTIONS')).map((name): LayerCollection => {
    const priority = vars.get(`BBFILE_PRIORITY_${name}`);
    const parsedPriority = priority !== undefined && /^\s*-?\d+\s*$/.test(priority) ? Number(priority) : undefined;
    return {
      name,
      priority: parsedPriority,
      version: vars.get(`LAYERVERSION_${name}`)?.trim() || undefined,
      depends: parseDependencies(vars.get(`LAYERDEPENDS_${name}`)),
      recommends: parseDependencies(vars.get(`LAYERRECOMMENDS_${name}`)),
      seriesCompat: words(vars.get(`LAYERSERIES_COMPAT_${name}`)),
    };
  });
  return { dir: layerDir, collections, coreSeries: words(vars.get('LAYERSERIES_CORENAMES')) };
}

/** Whether `version` satisfies a LAYERDEPENDS constraint such as ">= 12" (numbers compared as integers). */
export function satisfiesConstraint(version: string | undefined, constraint: string): boolean {
  const m = /^(>=|<=|=|==|>|<)?\s*(\S+)$/.exec(constraint.trim());
  if (!m || version === undefined) return false;
  const op = m[1] ?? '=';
  const a = Number(version);
  const b = Number(m[2]);
  const cmp = Number.isFinite(a) && Number.isFinite(b) ? Math.sign(a - b) : version.localeCompare(m[2]!);
  switch (op) {
    case '>=':
      return cmp >= 0;
    case '<=':
      return cmp <= 0;
    case '>':
      return cmp > 0;
    case '<':
      return cmp < 0;
    default:
      return cmp === 0;
  }
}
