import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { confVariablesOf, renderBlock } from './lines.js';
import { confReleaseFor } from './release.js';
import { BBLAYERS_SEARCH_LINES, KAS_BBLAYERS_SEARCH_LINES } from './standard.js';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { InputError } from '../errors.js';
import type { LayerCheckResult } from '../layers/check.js';
import type { Project } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { cacheSettings } from '../manifest/shared-cache.js';
import type { Target } from '../manifest/target.js';
import { writeFileIfChanged } from '../util/fs.js';

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
export async function renderConfText(
  project: Project,
  target: Target,
  layers: LayerCheckResult,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfText> {
  const paths = projectPaths(project, env);
  const cache = project.manifest.cache ?? {};
  const buildDir = paths.buildDir(target.name);
  const layersFromTopdir = toPosix(path.relative(buildDir, paths.layersDir)) || '.';
  const localRepos = new Set(Object.keys(project.manifest.repos).filter((name) => project.manifest.repos[name]!.path !== undefined));
  const hasLocalLayers = layers.layers.some((l) => localRepos.has(l.repo));
  const projectFromTopdir = hasLocalLayers ? toPosix(path.relative(buildDir, project.dir)) || '.' : undefined;
  const downloadsFromTopdir = existsSync(paths.restoredDownloadsDir)
    ? toPosix(path.relative(buildDir, paths.restoredDownloadsDir))
    : undefined;
  // The manifest's paths are checked by the schema; these also hold the environment's and the project folder's.
  const confPaths: Array<[string, string | undefined, string]> = [
    ['DL_DIR', paths.dlDir, 'YOCTOFORGE_* variables and cache: in the manifest'],
    ['SSTATE_DIR', paths.sstateDir, 'YOCTOFORGE_* variables and cache: in the manifest'],
    ['PERSISTENT_DIR', paths.persistentDir, 'YOCTOFORGE_* variables and cache: in the manifest'],
    ['YOCTOFORGE_LAYERS_FROM_TOPDIR', layersFromTopdir, 'layers_dir and build_dir in the manifest'],
    ['YOCTOFORGE_PROJECT_FROM_TOPDIR', projectFromTopdir, 'build_dir in the manifest'],
    ['PREMIRRORS', downloadsFromTopdir, 'build_dir in the manifest'],
  ];
  for (const [what, value, check] of confPaths) {
    if (value !== undefined && (!/^[\x20-\x7e]+$/.test(value) || /["\\$]/.test(value))) {
      throw new InputError(
        `${what} would be ${JSON.stringify(value)}: a path for BitBake must not contain quotes, backslashes, $ or control characters (check ${check})`,
      );
    }
  }
  const release = confReleaseFor(layers.coreSeries, project.manifest.series);
  const common = { manifestName: path.basename(project.manifestFile), target: target.name };
  const context = {
    dlDir: paths.dlDir,
    sstateDir: paths.sstateDir,
    persistentDir: paths.persistentDir,
    cache: cacheSettings(project.manifest, env),
    shared: Boolean(cache.shared),
  };
  const localConf = (await template('local.conf.hbs'))({
    ...common,
    overrides: overrideComments(target),
    targetSettings: renderBlock('target', target, release),
    caches: renderBlock('caches', target, release, context),
    variables: renderBlock('variables', target, release),
    localConf: target.localConf?.trimEnd(),
    offlineMirror: downloadsFromTopdir === undefined ? undefined : `\${TOPDIR}/${downloadsFromTopdir}`,
    mirrorTarballs: cache.mirror_tarballs ?? false,
    sampleSource: release.sampleSource,
    pokyDefaults: renderBlock('poky-defaults', target, release),
    confVersion: renderBlock('conf-version', target, release),
    kasDefaults: renderBlock('kas-defaults', target, release),
  });
  const bblayersConf = (await template('bblayers.conf.hbs'))({
    ...common,
    layersFromTopdir,
    projectFromTopdir,
    // a local repo's layer from the project folder, every other one from the layers folder
    layers: layers.layers.map((l) =>
      localRepos.has(l.repo)
        ? [`\${YOCTOFORGE_PROJECT_DIR}`, toPosix(path.relative(project.dir, l.dir))].filter((p) => p !== '').join('/')
        : `\${YOCTOFORGE_LAYERS_DIR}/${toPosix(path.relative(paths.layersDir, l.dir))}`,
    ),
    bblayersConf: target.bblayersConf?.trimEnd(),
    bblayersVersion: release.bblayersVersionLine,
    bblayersSearch: BBLAYERS_SEARCH_LINES.join('\n'),
    kasLayout: target.confLayout === 'kas',
    kasSearch: KAS_BBLAYERS_SEARCH_LINES.join('\n'),
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

/** `# MACHINE from --machine`: each value that does not come from the manifest, and where it does come from. */
function overrideComments(target: Target): string | undefined {
  const lines = target.overridden.map(({ setting, origin }) => {
    const variables = confVariablesOf(setting, target);
    // an origin names a file or a flag: whatever its characters, the comment stays one line
    return `# ${variables.length > 0 ? variables.join(', ') : setting} from ${origin.replace(/[^\x20-\x7e]/g, '?')}`;
  });
  return lines.length > 0 ? lines.join('\n') : undefined;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Collapses the blank lines left by false template sections. */
function tidy(text: string): string {
  return `${text.replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
