import path from 'node:path';
import { PROJECT_SCHEMA_FILE, readManifestJsonSchema, writeProjectSchema } from '../manifest/json-schema.js';
import { logLine } from '../util/output.js';

export interface SchemaOptions {
  projectDir: string;
  write: boolean;
}

/** Prints the JSON Schema of layers.yaml, or refreshes the project's copy that editors read. */
export async function runSchema(options: SchemaOptions): Promise<void> {
  if (!options.write) {
    process.stdout.write(await readManifestJsonSchema());
    return;
  }
  const file = path.join(options.projectDir, PROJECT_SCHEMA_FILE);
  logLine(`${file} ${(await writeProjectSchema(options.projectDir)) ? 'written' : 'unchanged'}`);
}
