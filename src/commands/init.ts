import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { InputError } from '../errors.js';
import { TEMPLATES_DIR } from '../conf/render.js';
import { PROJECT_SCHEMA_FILE, writeProjectSchema } from '../manifest/json-schema.js';
import { machineName } from '../manifest/conf-values.js';
import { MANIFEST_FILE } from '../manifest/schema.js';
import { DEFAULT_SERIES, findRelease, SERIES_NAMES } from '../manifest/series.js';
import { ask, canAsk } from '../ui/prompt.js';
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
  /** the Yocto release to start from (default scarthgap) */
  series?: string;
}

export const DEFAULT_TARGET = 'rpi-docker-image';
export const DEFAULT_MACHINE = 'raspberrypi4-64';

/**
 * Scaffolds a project whose manifest reproduces the seed's Raspberry Pi 4 + Docker build. On a
 * terminal it asks for the machine (Enter keeps the default); `--yes`, a flag or no terminal
 * takes the default without asking.
 */
export async function runInit(options: InitOptions): Promise<void> {
  const manifestFile = path.join(options.dir, MANIFEST_FILE);
  await checkWritableFiles(options.dir);
  if ((await pathExists(manifestFile)) && !options.force) {
    throw new InputError(`${manifestFile} already exists (use --force to overwrite it)`);
  }
  const release = findRelease(options.series ?? DEFAULT_SERIES);
  if (!release) throw new InputError(`--series ${options.series}: not a release yoctoforge knows (${SERIES_NAMES.join(', ')})`);
  const asking = !options.yes && canAsk();
  const values = {
    series: release.series,
    // keeps the comments of the template in one column whatever the names' lengths
    seriesPad: ' '.repeat(Math.max(0, 26 - 'series'.length - release.series.length)),
    bitbakePad: ' '.repeat(Math.max(0, 26 - 'bitbake'.length - release.bitbake.length)),
    // the combined poky layout is found by content; the split one names its BitBake repository
    bitbake: release.layout === 'split' ? release.bitbake : '',
    coreRepos: release.coreRepos.map((r) => ({ name: r.name, url: r.url, branch: r.branch ?? '', layers: r.layers.join(', ') })),
    target: options.target ?? DEFAULT_TARGET,
    machine:
      options.machine ??
      (asking
        ? await ask('MACHINE (raspberrypi4-64, raspberrypi5, raspberrypi3-64, qemuarm64, ...)', DEFAULT_MACHINE, (a) =>
            machineName.safeParse(a).success ? undefined : 'letters, digits, . _ + -',
          )
        : DEFAULT_MACHINE),
    schemaRef: `./${PROJECT_SCHEMA_FILE}`,
  };
  await mkdir(options.dir, { recursive: true });
  const manifest = await renderTemplate('layers.yaml.hbs', values);
  // The template is ours, but a bad --target/--machine must fail here, not in the next command.
  parseManifest(manifest, manifestFile);
  await writeFileAtomic(manifestFile, manifest);
  logLine(`wrote ${manifestFile}`);
  if (await writeProjectSchema(options.dir))
    logLine(
      `wrote ${path.join(options.dir, PROJECT_SCHEMA_FILE)} (editors validate layers.yaml with it; \`yoctoforge schema --write\` refreshes it)`,
    );

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
    if (info.isSymbolicLink())
      throw new InputError(
        `${file} is a symbolic link; init writes only the project's own files (replace the link with a file); nothing was written`,
      );
    if (!info.isFile())
      throw new InputError(
        `${file} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}; init needs to write a file there; nothing was written`,
      );
  }
}

async function renderTemplate(name: string, values: Record<string, unknown>): Promise<string> {
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
