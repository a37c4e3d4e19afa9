import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import { isMap, KAS_LATEST_FORMAT, type KasMap } from './common.js';

/* Include resolution: which kas files make one configuration, and their merge (kas keeps this in includehandler.py). */

export interface KasSource {
  /** files in kas merge order: includes before includers, lock files after their file */
  files: string[];
  /** the merged configuration */
  config: KasMap;
  /** includes that could not be followed */
  notCarried: string[];
}

export interface KasFileReader {
  read(file: string): string;
  exists(file: string): boolean;
}

export const fsReader: KasFileReader = {
  read: (file) => readFileSync(file, 'utf8'),
  exists: (file) => existsSync(file),
};

/**
 * Reads kas files and their `header.includes` and merges them as kas does: depth first, an
 * included file before its includer, later top files over earlier ones, mappings deep-merged.
 * String includes are repository-relative (format 11+) with kas' fallback to file-relative;
 * `{repo:, file:}` includes name a repository kas would clone first, so they are reported.
 */
export function loadKasFiles(files: string[], reader: KasFileReader = fsReader): KasSource {
  if (files.length === 0) throw new InputError('import kas: name at least one kas file');
  const first = path.resolve(files[0]!);
  const topRepo = repoRoot(path.dirname(first), reader);
  const order: string[] = [];
  const configs: KasMap[] = [];
  const notCarried: string[] = [];

  const load = (file: string, stack: string[], includedFrom?: string): void => {
    if (stack.includes(file)) {
      throw new InputError(`kas include cycle: ${[...stack, file].map((f) => path.relative(process.cwd(), f) || f).join(' → ')}`);
    }
    if (!reader.exists(file)) {
      throw new InputError(`kas file not found: ${file}${includedFrom ? ` (included from ${includedFrom})` : ''}`);
    }
    const config = parseKasYaml(file, reader.read(file));
    const header = config.header;
    if (!isMap(header) || header.version === undefined) throw new InputError(`${file}: not a kas file (no header.version)`);
    const version = header.version === '0.10' ? 1 : header.version;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new InputError(`${file}: header.version: expected a kas format version (an integer), found ${JSON.stringify(header.version)}`);
    }
    if (version > KAS_LATEST_FORMAT) notCarried.push(`${path.basename(file)}: header.version ${version} is newer than the newest format yoctoforge knows (${KAS_LATEST_FORMAT}); features added since are not recognised`);
    const includes = header.includes ?? [];
    if (!Array.isArray(includes)) throw new InputError(`${file}: header.includes: expected a list`);
    for (const include of includes) {
      if (typeof include === 'string') {
        const repoRelative = path.resolve(topRepo, include);
        const fileRelative = path.resolve(path.dirname(file), include);
        const chosen = reader.exists(repoRelative) ? repoRelative : reader.exists(fileRelative) ? fileRelative : repoRelative;
        load(chosen, [...stack, file], file);
      } else if (isMap(include) && typeof include.repo === 'string') {
        notCarried.push(`${path.basename(file)}: header.includes {repo: ${include.repo}, file: ${String(include.file)}}: includes from another repository are not followed (kas clones it first); merge that file by hand or name it on the command line`);
      } else {
        throw new InputError(`${file}: header.includes: expected a path or {repo:, file:}, found ${JSON.stringify(include)}`);
      }
    }
    order.push(file);
    configs.push({ ...config, header: { ...header, version } });
    // kas 4.3+ reads FILE.lock.yml (written by `kas lock`) right after FILE
    const ext = path.extname(file);
    const lockFile = path.join(path.dirname(file), `${path.basename(file, ext)}.lock${ext}`);
    if (!file.endsWith(`.lock${ext}`) && reader.exists(lockFile)) {
      order.push(lockFile);
      configs.push(parseKasYaml(lockFile, reader.read(lockFile)));
    }
  };
  for (const file of files) load(path.resolve(file), []);

  const merged = configs.reduce<KasMap>((acc, c) => deepMerge(acc, c), {});
  const versions = configs.map((c) => (isMap(c.header) && typeof c.header.version === 'number' ? c.header.version : 1));
  merged.header = { version: Math.max(...versions) };
  return { files: order, config: merged, notCarried };
}

function parseKasYaml(file: string, text: string): KasMap {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new InputError(`${file}:${pos.line}:${pos.col}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS();
  if (!isMap(data)) throw new InputError(`${file}: not a kas file (expected a mapping at the top level)`);
  return data;
}

/** kas' top repository: the git work tree holding the first file, else its directory. */
function repoRoot(dir: string, reader: KasFileReader): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (reader.exists(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

/** kas' merge: mappings merge key by key, anything else is replaced. */
export function deepMerge(dest: KasMap, upd: KasMap): KasMap {
  const out: KasMap = { ...dest };
  for (const [k, v] of Object.entries(upd)) {
    const d = out[k];
    out[k] = isMap(d) && isMap(v) ? deepMerge(d, v) : v;
  }
  return out;
}
