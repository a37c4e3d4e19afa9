// Writes schema/layers.schema.json from the zod schema (run by `npm run build`), so that editors
// validate and complete layers.yaml. `--check` fails when the committed file is stale. The schema
// is read from the sources (bundled in memory by esbuild), never from a dist/ that may be stale.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundled = await build({
  stdin: {
    contents: `import { z } from 'zod'; import { manifestSchema } from './src/manifest/schema.ts';
      export const schema = z.toJSONSchema(manifestSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });`,
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  format: 'esm',
  platform: 'node',
  write: false,
  logLevel: 'warning',
});
const { schema } = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);
// zod's refinements do not reach JSON Schema: a repo has a url or (kept in the project) a path, one of them
schema.properties.repos.additionalProperties.oneOf = [{ required: ['url'] }, { required: ['path'] }];
schema.title = 'yoctoforge layers.yaml';
schema.description = 'The layers, pins and build targets of a yoctoforge project (README: "Manifest reference").';
const text = `${JSON.stringify(schema, null, 2)}\n`;
const file = new URL('../schema/layers.schema.json', import.meta.url);
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // no committed schema yet: it is stale
  }
  if (current !== text) {
    console.error('schema/layers.schema.json is stale: run `npm run build` and commit it');
    process.exit(1);
  }
} else {
  mkdirSync(new URL('../schema/', import.meta.url), { recursive: true });
  writeFileSync(file, text);
}
