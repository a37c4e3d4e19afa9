import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { InputError } from '../errors.js';
import { TEMPLATES_DIR } from '../conf/render.js';
import { MANIFEST_FILE } from '../manifest/schema.js';
import { parseManifest } from '../manifest/load.js';
import { pathExists, writeFileAtomic } from '../util/fs.js';
import { INPUT_LIMITS, readInputFile } from '../util/input.js';
import { logLine } from '../util/output.js';

export interface InitOptions {
  dir: string;
  yes: boolean;
  force: boolean;
  target?: string;
  machine?: string;
}

export const DEFAULT_TARGET = 'rpi-docker-image';
export const DEFAULT_MACHINE = 'raspberrypi4-64';

/**
 * Scaffolds a project whose manifest reproduces the seed's Raspberry Pi 4 + Docker build.
 * Every question has a good default, so nothing is asked: flags change the defaults.
 */
export async function runInit(options: InitOptions): Promise<void> {
  await mkdir(options.dir, { recursive: true });
  const manifestFile = path.join(options.dir, MANIFEST_FILE);
  await checkWritableFiles(options.dir);
  if ((await pathExists(manifestFile)) && !options.force) {
    throw new InputError(`${manifestFile} already exists (use --force to overwrite it)`);
  }
  const values = {
    target: options.target ?? DEFAULT_TARGET,
    machine: options.machine ?? DEFAULT_MACHINE,
    schemaRef: await schemaReference(options.dir),
  };
  const manifest = await renderTemplate('layers.yaml.hbs', values);
  // The template is ours, but a bad --target/--machine must fail here, not in the next command.
  parseManifest(manifest, manifestFile);
  await writeFileAtomic(manifestFile, manifest);
  logLine(`wrote ${manifestFile}`);

  const added = await appendMissingLines(path.join(options.dir, '.gitignore'), await renderTemplate('gitignore.hbs', values));
  if (added) logLine(`updated ${path.join(options.dir, '.gitignore')}`);

  const readme = path.join(options.dir, 'README.md');
  const section = await renderTemplate('readme-section.md.hbs', values);
  const current = await readInputFile(readme, { what: 'README', maxBytes: INPUT_LIMITS.small * 16, optional: true });
  if (current === undefined) {
    await writeFile(readme, `# ${path.basename(path.resolve(options.dir))}\n\n${section}`);
    logLine(`wrote ${readme}`);
  } else if (!current.includes('## Building the image (yoctoforge)')) {
    await writeFile(readme, `${current.trimEnd()}\n\n${section}`);
    logLine(`added a build section to ${readme}`);
  }
  const cd = path.relative(process.cwd(), options.dir);
  logLine(`next: ${cd ? `cd ${cd} && ` : ''}yoctoforge sync && yoctoforge build ${values.target}`);
}

/** The files init writes, if they exist, are plain files of the project: checked before anything is written. */
async function checkWritableFiles(dir: string): Promise<void> {
  for (const name of [MANIFEST_FILE, '.gitignore', 'README.md']) {
    const file = path.join(dir, name);
    const info = await lstat(file).catch(() => undefined);
    if (!info) continue;
    if (info.isSymbolicLink()) throw new InputError(`${file} is a symbolic link; init writes only the project's own files (replace the link with a file); nothing was written`);
    if (!info.isFile()) throw new InputError(`${file} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}; init needs to write a file there; nothing was written`);
  }
}

async function renderTemplate(name: string, values: Record<string, string>): Promise<string> {
  const text = await readFile(path.join(TEMPLATES_DIR, name), 'utf8');
  return Handlebars.compile(text, { noEscape: true, strict: true })(values);
}

/** Appends the lines of `block` that the file lacks; returns whether it changed the file. */
async function appendMissingLines(file: string, block: string): Promise<boolean> {
  const current = (await readInputFile(file, { what: '.gitignore', maxBytes: INPUT_LIMITS.small * 16, optional: true })) ?? '';
  const have = new Set(current.split('\n').map((l) => l.trim()));
  const missing = block.split('\n').filter((l) => l.trim() && !l.startsWith('#') && !have.has(l.trim()));
  if (missing.length === 0) return false;
  const header = block.split('\n').find((l) => l.startsWith('#'));
  const prefix = current && !current.endsWith('\n') ? '\n' : '';
  await writeFile(file, `${current}${prefix}${current ? '\n' : ''}${header ? `${header}\n` : ''}${missing.join('\n')}\n`);
  return true;
}

/** Editors validate layers.yaml against the JSON Schema that ships with yoctoforge. */
async function schemaReference(projectDir: string): Promise<string> {
  const shipped = path.join(TEMPLATES_DIR, '..', 'schema', 'layers.schema.json');
  const local = path.join(projectDir, 'node_modules', 'yoctoforge', 'schema', 'layers.schema.json');
  if (await pathExists(local)) return './node_modules/yoctoforge/schema/layers.schema.json';
  return path.relative(path.resolve(projectDir), shipped).split(path.sep).join('/');
}
