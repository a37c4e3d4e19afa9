import { existsSync } from 'node:fs';
import path from 'node:path';
import { isMap as isYamlMap, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { InputError } from '../errors.js';
import { INPUT_LIMITS, readInputFileSync } from '../util/input.js';
import { yamlData } from '../util/yaml.js';
import { isMap, KAS_LATEST_FORMAT, type KasMap } from './common.js';

/* Include resolution: which kas files make one configuration, and their merge (kas keeps this in includehandler.py). */

export interface KasSource {
  /** files in kas merge order (each once): includes before includers, lock files before their file's includes */
  files: string[];
  /** the merged configuration */
  config: KasMap;
  /** includes that could not be followed */
  notCarried: string[];
  /** the repository holding the first file (its git work tree, else its folder): kas's repos without url */
  topRepo: string;
  /** `FILE:LINE` of the kas file that set a key path last (or of its nearest parent), for messages */
  origin(keyPath: readonly string[]): string;
}

export interface KasFileReader {
  read(file: string): string;
  exists(file: string): boolean;
}

/**
 * Reads a kas file someone else wrote, as yoctoforge reads every such file (regular files only,
 * non-blocking, bounded); kas's include walk is synchronous.
 */
function readKasFile(file: string): string {
  return readInputFileSync(file, { what: 'kas file', maxBytes: INPUT_LIMITS.kas });
}

export const fsReader: KasFileReader = {
  read: readKasFile,
  exists: (file) => existsSync(file),
};

interface LoadedFile {
  file: string;
  config: KasMap;
  /** line of each key path (joined with NUL) */
  lines: Map<string, number>;
  includes: string[];
  lockFile?: string;
}

/**
 * Reads kas files and their `header.includes` and merges them as kas does: depth first, an
 * included file before its includer, later top files over earlier ones, mappings deep-merged, a
 * `FILE.lock.yml` (written by `kas lock`) right after FILE is loaded. String includes are
 * repository-relative (format 11+) with kas' fallback to file-relative; `{repo:, file:}`
 * includes name a repository kas would clone first, so they are reported.
 *
 * kas merges a file as often as it is included (files that include each other twice per level
 * take exponential time). Merging is "the last write wins", so merging each file once, at its
 * last place in kas's order, gives kas's result: that order is found in one walk of the include
 * graph, backwards.
 */
export function loadKasFiles(files: string[], reader: KasFileReader = fsReader): KasSource {
  if (files.length === 0) throw new InputError('import kas: name at least one kas file');
  const first = path.resolve(files[0]!);
  const topRepo = repoRoot(path.dirname(first), reader);
  const notCarried: string[] = [];
  const loaded = new Map<string, LoadedFile>();

  const load = (file: string, includedFrom?: string): LoadedFile => {
    const known = loaded.get(file);
    if (known) return known;
    if (!reader.exists(file)) throw new InputError(`kas file not found: ${file}${includedFrom ? ` (included from ${includedFrom})` : ''}`);
    const { config, lines } = parseKasYaml(file, reader.read(file));
    const header = config.header;
    if (!isMap(header) || header.version === undefined) throw new InputError(`${file}: not a kas file (no header.version)`);
    const version = header.version === '0.10' ? 1 : header.version;
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
      throw new InputError(
        `${at(file, lines, ['header', 'version'])}: header.version: expected a kas format version (an integer), found ${JSON.stringify(header.version)}`,
      );
    }
    if (version > KAS_LATEST_FORMAT)
      notCarried.push(
        `${path.basename(file)}: header.version ${version} is newer than the newest format yoctoforge knows (${KAS_LATEST_FORMAT}); features added since are not recognised`,
      );
    const includeList = header.includes ?? [];
    if (!Array.isArray(includeList)) throw new InputError(`${at(file, lines, ['header', 'includes'])}: header.includes: expected a list`);
    const includes: string[] = [];
    for (const include of includeList) {
      if (typeof include === 'string') {
        const repoRelative = path.resolve(topRepo, include);
        const fileRelative = path.resolve(path.dirname(file), include);
        includes.push(reader.exists(repoRelative) ? repoRelative : reader.exists(fileRelative) ? fileRelative : repoRelative);
      } else if (isMap(include) && typeof include.repo === 'string') {
        notCarried.push(
          `${path.basename(file)}: header.includes {repo: ${include.repo}, file: ${String(include.file)}}: includes from another repository are not followed (kas clones it first); merge that file by hand or name it on the command line`,
        );
      } else {
        throw new InputError(
          `${at(file, lines, ['header', 'includes'])}: header.includes: expected a path or {repo:, file:}, found ${JSON.stringify(include)}`,
        );
      }
    }
    const ext = path.extname(file);
    const lockCandidate = path.join(path.dirname(file), `${path.basename(file, ext)}.lock${ext}`);
    const lockFile = !file.endsWith(`.lock${ext}`) && reader.exists(lockCandidate) ? lockCandidate : undefined;
    const entry: LoadedFile = { file, config: { ...config, header: { ...header, version } }, lines, includes, lockFile };
    loaded.set(file, entry);
    return entry;
  };

  // kas's order of one file: its lock file, its includes (each in its own order), the file.
  // Walked backwards (the file, then its includes from the last, then the lock file), the first
  // visit of a file is its last place in kas's order.
  const backwards: LoadedFile[] = [];
  const placed = new Set<string>();
  const onStack = new Set<string>();
  const visit = (file: string, stack: string[], includedFrom?: string): void => {
    if (onStack.has(file)) {
      throw new InputError(`kas include cycle: ${[...stack, file].map((f) => path.relative(process.cwd(), f) || f).join(' → ')}`);
    }
    const entry = load(file, includedFrom);
    if (placed.has(file)) return;
    placed.add(file);
    backwards.push(entry);
    onStack.add(file);
    for (let i = entry.includes.length - 1; i >= 0; i--) visit(entry.includes[i]!, [...stack, file], file);
    onStack.delete(file);
    if (entry.lockFile && !placed.has(entry.lockFile)) {
      placed.add(entry.lockFile);
      const { config, lines } = parseKasYaml(entry.lockFile, reader.read(entry.lockFile));
      backwards.push({ file: entry.lockFile, config, lines, includes: [] });
    }
  };
  for (let i = files.length - 1; i >= 0; i--) visit(path.resolve(files[i]!), []);
  const ordered = backwards.reverse();

  const merged = ordered.reduce<KasMap>((acc, f) => deepMerge(acc, f.config), {});
  const versions = ordered.map((f) =>
    isMap(f.config.header) && typeof f.config.header.version === 'number' ? f.config.header.version : 1,
  );
  merged.header = { version: Math.max(...versions) };
  const origin = (keyPath: readonly string[]): string => {
    for (let n = keyPath.length; n > 0; n--) {
      const key = keyPath.slice(0, n).join('\0');
      for (let i = ordered.length - 1; i >= 0; i--) {
        const line = ordered[i]!.lines.get(key);
        if (line !== undefined) return `${ordered[i]!.file}:${line}`;
      }
    }
    return ordered.at(-1)!.file;
  };
  return { files: ordered.map((f) => f.file), config: merged, notCarried, topRepo, origin };
}

function at(file: string, lines: Map<string, number>, keyPath: string[]): string {
  const line = lines.get(keyPath.join('\0'));
  return line === undefined ? file : `${file}:${line}`;
}

/**
 * kas reads its files with PyYAML (YAML 1.1): merge keys (`<<: *anchor`) are resolved, a repeated
 * key's last value wins. Aliases that expand beyond reason are refused (util/yaml's limit). Returns the data and the line of every key path.
 */
function parseKasYaml(file: string, text: string): { config: KasMap; lines: Map<string, number> } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new InputError(`${file}:${pos.line}:${pos.col}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const data = yamlData(doc, (reason) => new InputError(`${file}: ${reason}`));
  if (!isMap(data)) throw new InputError(`${file}: not a kas file (expected a mapping at the top level)`);
  const lines = new Map<string, number>();
  // key paths three levels deep name every kas setting (repos.NAME.KEY, local_conf_header.ENTRY)
  const walk = (node: unknown, prefix: string[]): void => {
    if (!isYamlMap(node) || prefix.length >= 3) return;
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const keyPath = [...prefix, String(pair.key.value)];
      const offset = (pair.key as Node).range?.[0];
      if (offset !== undefined) lines.set(keyPath.join('\0'), lineCounter.linePos(offset).line);
      walk(pair.value, keyPath);
    }
  };
  walk(doc.contents, []);
  return { config: data, lines };
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
