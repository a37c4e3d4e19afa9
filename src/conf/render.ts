import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { RESTORED_DOWNLOADS_DIR } from '../bundle/format.js';
import { BBLAYERS_CONF_VERSION_LINE, BBLAYERS_SEARCH_LINES, CONF_VERSION_LINE, POKY_SAMPLE_DEFAULTS } from './standard.js';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { InputError } from '../errors.js';
import type { LayerCheckResult } from '../layers/check.js';
import type { Project } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { cacheSettings } from '../manifest/shared-cache.js';
import type { Target } from '../manifest/target.js';
import { writeFileIfChanged } from '../util/fs.js';
import { extraUsersCommands } from './extra-users.js';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export interface RenderedConf {
  confDir: string;
  files: { localConf: string; bblayersConf: string };
  /** whether either file was written (an unchanged target leaves both untouched) */
  changed: boolean;
}

export interface ConfText {
  localConf: string;
  bblayersConf: string;
}

const compiled = new Map<string, Handlebars.TemplateDelegate>();
async function template(name: string): Promise<Handlebars.TemplateDelegate> {
  let t = compiled.get(name);
  if (!t) {
    // Values are validated for BitBake syntax before they get here; HTML escaping would corrupt them.
    t = Handlebars.compile(await readFile(path.join(TEMPLATES_DIR, name), 'utf8'), { noEscape: true, strict: true });
    compiled.set(name, t);
  }
  return t;
}

/** The text of the target's local.conf and bblayers.conf, from manifest, layers and environment (and, for a project restored from a bundle, its bundle-downloads/ directory). */
export async function renderConfText(project: Project, target: Target, layers: LayerCheckResult, env: NodeJS.ProcessEnv = process.env): Promise<ConfText> {
  const paths = projectPaths(project, env);
  const cache = project.manifest.cache ?? {};
  for (const [what, value] of [['DL_DIR', paths.dlDir], ['SSTATE_DIR', paths.sstateDir], ['PERSISTENT_DIR', paths.persistentDir]] as const) {
    if (!/^[\x20-\x7e]+$/.test(value) || /["\\$]/.test(value)) {
      throw new InputError(`${what} would be ${JSON.stringify(value)}: a path for BitBake must not contain quotes, backslashes, $ or control characters (check YOCTOFORGE_* variables and cache: in the manifest)`);
    }
  }
  const shared = cacheSettings(project.manifest, env);
  const hashserve = shared.hashserve;
  const common = { manifestName: path.basename(project.manifestFile), target: target.name };
  const join = (list: string[]): string => list.join(' ');
  const localConf = (await template('local.conf.hbs'))({
    ...common,
    machine: target.machine,
    distro: target.distro,
    initManager: target.initManager,
    distroFeatures: join(target.distroFeatures),
    packages: join(target.packages),
    imageFeatures: join(target.imageFeatures),
    licenseFlags: join(target.licenseFlagsAccepted),
    imageFstypes: join(target.imageFstypes),
    extraUsers: extraUsersCommands(target.groups, target.users),
    dlDir: paths.dlDir,
    sstateDir: paths.sstateDir,
    persistentDir: hashserve === 'auto' ? paths.persistentDir : undefined,
    hashserve,
    hashserveUpstream: shared.hashserveUpstream,
    sstateMirrors: shared.sstateMirrors,
    variables: Object.keys(target.variables)
      .sort()
      .map((name) => ({ name, value: target.variables[name] })),
    localConf: target.localConf?.trimEnd(),
    offlineMirror: existsSync(path.join(project.dir, RESTORED_DOWNLOADS_DIR))
      ? `\${TOPDIR}/${toPosix(path.relative(paths.buildDir(target.name), path.join(project.dir, RESTORED_DOWNLOADS_DIR)))}`
      : undefined,
    mirrorTarballs: cache.mirror_tarballs ?? false,
    pokyDefaults: POKY_SAMPLE_DEFAULTS.join('\n'),
    confVersion: CONF_VERSION_LINE,
  });
  const buildDir = paths.buildDir(target.name);
  const bblayersConf = (await template('bblayers.conf.hbs'))({
    ...common,
    layersFromTopdir: toPosix(path.relative(buildDir, paths.layersDir)) || '.',
    layers: layers.layers.map((l) => toPosix(path.relative(paths.layersDir, l.dir))),
    bblayersConf: target.bblayersConf?.trimEnd(),
    bblayersVersion: BBLAYERS_CONF_VERSION_LINE,
    bblayersSearch: BBLAYERS_SEARCH_LINES.join('\n'),
  });
  return { localConf: tidy(localConf), bblayersConf: tidy(bblayersConf) };
}

/** Writes build/TARGET/conf/{local,bblayers}.conf, leaving files whose content is unchanged untouched. */
export async function renderTargetConf(project: Project, target: Target, layers: LayerCheckResult): Promise<RenderedConf> {
  const text = await renderConfText(project, target, layers);
  const confDir = path.join(projectPaths(project).buildDir(target.name), 'conf');
  await mkdir(confDir, { recursive: true });
  const localConf = path.join(confDir, 'local.conf');
  const bblayersConf = path.join(confDir, 'bblayers.conf');
  const wroteLocal = await writeFileIfChanged(localConf, text.localConf);
  const wroteLayers = await writeFileIfChanged(bblayersConf, text.bblayersConf);
  return { confDir, files: { localConf, bblayersConf }, changed: wroteLocal || wroteLayers };
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Collapses the blank lines left by false template sections. */
function tidy(text: string): string {
  return `${text.replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
