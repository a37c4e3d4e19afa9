import { isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { InputError } from '../errors.js';

export interface ParsedYaml {
  doc: Document;
  lineCounter: LineCounter;
  data: unknown;
}

/** How many times aliases may be expanded: a real manifest has a handful, a "billion laughs" needs millions. */
const MAX_ALIAS_EXPANSIONS = 1000;

/**
 * Parses YAML someone else may have written, in time linear in its size: duplicate keys are
 * found with one set per mapping (the yaml library's own check compares every pair: minutes for
 * 200,000 repositories), and aliases that expand beyond reason are refused. Every problem is one
 * `FILE:LINE:COL: message` line in an InputError whose message is `heading`.
 */
export function parseYaml(text: string, file: string, heading: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const label = file.split('/').pop() ?? file;
  const at = (offset: number | undefined): string => {
    const pos = lineCounter.linePos(offset ?? 0);
    return `${label}:${pos.line}:${pos.col}`;
  };
  const problems = doc.errors.map((e) => `${at(e.pos[0])}: ${e.message.split('\n')[0]}`);
  if (problems.length === 0) {
    visit(doc, {
      Map(_key, map) {
        if (!isMap(map)) return;
        const seen = new Set<string>();
        for (const pair of map.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
          if (key === undefined) continue;
          if (seen.has(key))
            problems.push(`${at((pair.key as Node).range?.[0])}: Map keys must be unique (${JSON.stringify(key)} appears twice)`);
          seen.add(key);
        }
      },
    });
  }
  if (problems.length > 0) throw problemsError(heading, problems);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (error) {
    throw problemsError(heading, [
      `${label}: ${/alias/i.test((error as Error).message) ? `YAML aliases expand more than ${MAX_ALIAS_EXPANSIONS} times (an "alias bomb"); refusing it` : (error as Error).message.split('\n')[0]}`,
    ]);
  }
  return { doc, lineCounter, data: data ?? {} };
}

export function problemsError(heading: string, lines: string[]): InputError {
  const [first, ...rest] = lines;
  const count = lines.length === 1 ? '' : ` (${lines.length} problems)`;
  return new InputError(`${heading}${count}`, [first ?? '', ...rest]);
}
