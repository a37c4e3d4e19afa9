import path from 'node:path';
import { stringify } from 'yaml';
import { parseManifest, type Project } from '../manifest/load.js';
import { type Manifest, manifestSchema } from '../manifest/schema.js';
import { resolveTarget } from '../manifest/target.js';
import { fsReader, loadKasFiles, type KasFileReader } from './includes.js';
import { kasToManifest, type KasImport, type KasImportOptions } from './mapping.js';

/* `import kas`: includes, mapping, then a layers.yaml that yoctoforge's own loader accepts. */

/** The layers.yaml text of an imported manifest, with where it came from. */
export function renderManifest(manifest: Manifest, sources: string[], notCarried: string[]): string {
  const head = [
    '# Imported from kas by `yoctoforge import kas`:',
    ...sources.map((s) => `#   ${s}`),
    ...(notCarried.length > 0 ? ['# Not carried over:', ...notCarried.map((n) => `#   - ${n.replace(/\n/g, ' ')}`)] : []),
  ];
  return `${head.join('\n')}\n${stringify(manifest, { lineWidth: 0 })}`;
}

export interface ImportResult extends KasImport {
  text: string;
  files: string[];
}

/**
 * kas files → layers.yaml text, checked with the manifest schema and the target resolver
 * (so an import never writes a manifest that `yoctoforge` would then refuse).
 */
export function importKas(
  files: string[],
  options: KasImportOptions & { outFile?: string } = {},
  reader: KasFileReader = fsReader,
): ImportResult {
  const source = loadKasFiles(files, reader);
  const first = path.resolve(files[0]!);
  const targetName = options.targetName ?? defaultTargetName(first);
  const result = kasToManifest(source.config, {
    baseDir: source.topRepo,
    origin: source.origin,
    projectDir: path.dirname(path.resolve(options.outFile ?? 'layers.yaml')),
    ...options,
    targetName,
  });
  const notCarried = [...source.notCarried, ...result.notCarried];
  const rel = (f: string): string => path.relative(path.dirname(path.resolve(options.outFile ?? 'layers.yaml')), f) || f;
  const text = renderManifest(result.manifest, source.files.map(rel), notCarried);
  const outFile = options.outFile ?? 'layers.yaml';
  // the manifest in hand is checked directly (linear); the text is parsed only to word an error with lines
  const checked = manifestSchema.safeParse(result.manifest);
  const manifest = checked.success ? checked.data : parseManifest(text, outFile);
  const project: Project = { dir: path.dirname(path.resolve(outFile)), manifestFile: path.resolve(outFile), manifest, manifestText: text };
  for (const name of Object.keys(manifest.targets)) resolveTarget(project, name);
  return { manifest, notCarried, text, files: source.files };
}

function defaultTargetName(file: string): string {
  const base = path
    .basename(file)
    .replace(/\.(ya?ml|json)$/i, '')
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return base || 'kas';
}
