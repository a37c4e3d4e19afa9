import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/fs.js';

/**
 * The JSON Schema of layers.yaml (written from the zod schema by scripts/schema.mjs at build
 * time) and its copy inside a project. Editors read the copy: a path into the machine's own
 * install or npx cache would exist nowhere else, and no public URL serves the schema.
 */
const SHIPPED_SCHEMA = fileURLToPath(new URL('../../schema/layers.schema.json', import.meta.url));

/** The project's copy, relative to the project directory (committed with layers.yaml). */
export const PROJECT_SCHEMA_FILE = '.yoctoforge/layers.schema.json';

export async function readManifestJsonSchema(): Promise<string> {
  return readFile(SHIPPED_SCHEMA, 'utf8');
}

/** Writes (or refreshes) the project's copy; returns whether the file changed. */
export async function writeProjectSchema(projectDir: string): Promise<boolean> {
  const file = path.join(projectDir, PROJECT_SCHEMA_FILE);
  const text = await readManifestJsonSchema();
  if ((await readFile(file, 'utf8').catch(() => undefined)) === text) return false;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text);
  return true;
}
