// Writes schema/layers.schema.json from the zod schema (run by `npm run build`, after tsc), so
// that editors validate and complete layers.yaml. `--check` fails when the committed file is stale.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { z } from 'zod';
import { manifestSchema } from '../dist/manifest/schema.js';

const schema = z.toJSONSchema(manifestSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
schema.title = 'yoctoforge layers.yaml';
schema.description = 'The layers, pins and build targets of a yoctoforge project (README: "Manifest reference").';
const text = `${JSON.stringify(schema, null, 2)}\n`;
const file = new URL('../schema/layers.schema.json', import.meta.url);
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('schema/layers.schema.json is stale: run `npm run build` and commit it');
    process.exit(1);
  }
} else {
  mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
  writeFileSync(file, text);
}
