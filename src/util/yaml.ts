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
  const data = yamlData(doc, (refusal) => problemsError(heading, [`${label}: ${refusal}`]));
  return { doc, lineCounter, data: data ?? {} };
}

/**
 * The data of a parsed document. Aliases that expand beyond reason (an "alias bomb") are refused:
 * `refuse` makes the error from the one-line reason.
 */
export function yamlData(doc: Document, refuse: (reason: string) => Error): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (error) {
    const message = (error as Error).message;
    throw refuse(
      /alias/i.test(message)
        ? `YAML aliases expand more than ${MAX_ALIAS_EXPANSIONS} times (an "alias bomb"); refusing it`
        : (message.split('\n')[0] ?? message),
    );
  }
}

export function problemsError(heading: string, lines: string[]): InputError {
  const [first, ...rest] = lines;
  const count = lines.length === 1 ? '' : ` (${lines.length} problems)`;
  return new InputError(`${heading}${count}`, [first ?? '', ...rest]);
}
