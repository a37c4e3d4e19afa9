import { isDir, isFile } from '../util/fs.js';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError, UserError } from '../errors.js';
import type { Project } from '../manifest/load.js';
import type { Manifest } from '../manifest/schema.js';
import { projectPaths } from '../manifest/paths.js';
import { repoLayers } from '../manifest/repo-layers.js';
import type { Target } from '../manifest/target.js';
import { compareVersions, locateBitbake, minimumBitbakeVersion } from './bitbake.js';
import { readLayerConf, satisfiesConstraint, type LayerCollection, type LayerConf } from './layer-conf.js';

export interface ResolvedLayer {
  /** repo/sub-layer as the manifest names it, e.g. meta-openembedded/meta-oe ("poky/meta") */
  id: string;
  repo: string;
  subPath: string;
  dir: string;
  collections: LayerCollection[];
  problems: string[];
}

export interface LayerCheckResult {
  /** in bblayers.conf order: every layer after the layers it depends on */
  layers: ResolvedLayer[];
  coreSeries: string[];
  /** oe-init-build-env beside the core layer */
  initScript: string;
  /** BitBake's top folder (bin/bitbake, lib/bb), from the manifest's `bitbake:` or found by content */
  bitbakeDir: string;
  /** BitBake's own version (lib/bb/__init__.py), when readable */
  bitbakeVersion?: string;
  problems: string[];
}

/** The layers a target uses, in manifest order: every sub-layer of every repo unless the target narrows it. */
export function selectedLayers(manifest: Manifest, target?: Target): Array<{ repo: string; subPath: string }> {
  const all = Object.entries(manifest.repos).flatMap(([repo, spec]) => repoLayers(spec).map((subPath) => ({ repo, subPath })));
  if (!target?.layers) return all;
  const wanted = target.layers;
  for (const entry of wanted) {
    const [repo, sub] = splitLayerRef(entry);
    if (!manifest.repos[repo]) throw new InputError(`targets.${target.name}.layers: "${entry}" names no repository of the manifest`);
    if (sub && !all.some((l) => l.repo === repo && l.subPath === sub)) {
      throw new InputError(`targets.${target.name}.layers: "${entry}" is not among repos.${repo}.layers`);
    }
  }
  return all.filter((l) =>
    wanted.some((w) => {
      const [repo, sub] = splitLayerRef(w);
      return repo === l.repo && (sub === undefined || sub === l.subPath);
    }),
  );
}

function splitLayerRef(ref: string): [string, string | undefined] {
  const slash = ref.indexOf('/');
  return slash < 0 ? [ref, undefined] : [ref.slice(0, slash), ref.slice(slash + 1)];
}

/**
 * Reads every selected layer's conf/layer.conf and checks, before any build starts, what BitBake
 * would only report after parsing: missing LAYERDEPENDS collections (and which known sub-layer
 * would provide one), version constraints, and LAYERSERIES_COMPAT against the core's series.
 */
export async function inspectLayers(project: Project, target?: Target): Promise<LayerCheckResult> {
  const { repoDir } = projectPaths(project);
  const selection = selectedLayers(project.manifest, target);
  const layers: ResolvedLayer[] = [];
  const problems: string[] = [];
  const coreSeries: string[] = [];
  let unsynced = false;
  for (const { repo, subPath } of selection) {
    const dir = path.join(repoDir(repo), subPath);
    const id = subPath === '.' ? repo : `${repo}/${subPath}`;
    let conf: LayerConf;
    try {
      conf = await readLayerConf(dir);
    } catch (error) {
      const repoExists = await isDir(repoDir(repo));
      unsynced ||= !repoExists;
      // a layer.conf that is there but unreadable (a FIFO, too large, an explosive expansion) says why
      if (repoExists && existsSync(path.join(dir, 'conf', 'layer.conf')) && error instanceof UserError) {
        problems.push(`${id}: ${error.message}`);
        continue;
      }
      problems.push(
        repoExists
          ? `${id}: no conf/layer.conf in ${path.relative(project.dir, dir) || '.'} (check repos.${repo}.layers)`
          : `${id}: repository not synced (run \`yoctoforge sync\`)`,
      );
      continue;
    }
    if (conf.collections.length === 0) problems.push(`${id}: conf/layer.conf sets no BBFILE_COLLECTIONS`);
    layers.push({ id, repo, subPath, dir, collections: conf.collections, problems: [] });
    if (conf.coreSeries.length > 0) coreSeries.push(...conf.coreSeries);
  }
  const provided = new Map<string, { layer: ResolvedLayer; collection: LayerCollection }>();
  for (const layer of layers) for (const c of layer.collections) provided.set(c.name, { layer, collection: c });

  const core = provided.get('core');
  if (!core && problems.length === 0)
    problems.push('no selected layer provides the "core" collection (poky/meta or openembedded-core/meta)');

  const known = await knownLayers(project, repoDir);
  for (const layer of layers) {
    for (const c of layer.collections) {
      for (const dep of c.depends) {
        const provider = provided.get(dep.collection);
        if (!provider) {
          const hint = known.get(dep.collection);
          const where = hint
            ? `; ${hint.id} provides it (add "${hint.subPath}" to repos.${hint.repo}.layers)`
            : '; no synced repository has a layer that provides it';
          layer.problems.push(`${layer.id} (${c.name}) depends on layer "${dep.collection}", which is not enabled${where}`);
        } else if (dep.constraint && !satisfiesConstraint(provider.collection.version, dep.constraint)) {
          layer.problems.push(
            `${layer.id} (${c.name}) needs ${dep.collection} ${dep.constraint}, but ${provider.layer.id} has LAYERVERSION ${provider.collection.version ?? '(unset)'}`,
          );
        }
      }
      if (coreSeries.length > 0 && !c.seriesCompat.some((s) => coreSeries.includes(s))) {
        const supported = c.seriesCompat.length > 0 ? `supports only "${c.seriesCompat.join(' ')}"` : 'sets no LAYERSERIES_COMPAT';
        layer.problems.push(`${layer.id} (${c.name}) ${supported}, but the core layer is "${coreSeries.join(' ')}"`);
      }
    }
    problems.push(...layer.problems);
  }
  const series = project.manifest.series;
  if (core && series && coreSeries.length > 0 && !coreSeries.includes(series)) {
    problems.push(
      `series: the manifest says "${series}", but the core layer ${core.layer.id} is "${coreSeries.join(' ')}" (repos.${core.layer.repo} is on another release's branch; \`yoctoforge upgrade --series ${series}\` moves a project between releases)`,
    );
  }
  const bitbake = await locateBitbake(project.manifest, repoDir);
  // An unsynced repository is already reported; it may well be the one that holds BitBake.
  if (bitbake.problem && !unsynced) problems.push(bitbake.problem);
  if (core && bitbake.version) {
    const needed = await minimumBitbakeVersion(core.layer.dir);
    if (needed && compareVersions(bitbake.version, needed) < 0) {
      problems.push(
        `bitbake: ${bitbake.ref} is BitBake ${bitbake.version}, but the core layer ${core.layer.id} needs at least ${needed} (BB_MIN_VERSION in its conf/sanity.conf): move the BitBake repository to the release's branch`,
      );
    }
  }
  const ordered = orderLayers(layers, provided);
  const initScript = core ? path.join(core.layer.dir, '..', 'oe-init-build-env') : '';
  return { layers: ordered, coreSeries, initScript, bitbakeDir: bitbake.dir ?? '', bitbakeVersion: bitbake.version, problems };
}

/** The repository whose selected layer provides the "core" collection, read from the checkouts. */
export async function findCoreRepo(manifest: Manifest, repoDir: (repo: string) => string): Promise<string | undefined> {
  for (const { repo, subPath } of selectedLayers(manifest)) {
    const conf = await readLayerConf(path.join(repoDir(repo), subPath)).catch(() => undefined);
    if (conf?.collections.some((c) => c.name === 'core')) return repo;
  }
  return undefined;
}

/** Like inspectLayers, but a problem is an error that stops the command (exit 2). */
export async function checkLayers(project: Project, target?: Target): Promise<LayerCheckResult> {
  const result = await inspectLayers(project, target);
  if (result.problems.length > 0) {
    throw new InputError(
      `layer check failed${target ? ` for target ${target.name}` : ''}: ${result.problems.length} problem(s)`,
      result.problems,
    );
  }
  return result;
}

/**
 * Dependencies first; among layers free to go, manifest order. The result is a pure function of
 * the manifest and the layer.conf files, so bblayers.conf is byte-identical run after run.
 */
function orderLayers(layers: ResolvedLayer[], provided: Map<string, { layer: ResolvedLayer }>): ResolvedLayer[] {
  const placed = new Set<ResolvedLayer>();
  const out: ResolvedLayer[] = [];
  const deps = (layer: ResolvedLayer): ResolvedLayer[] =>
    layer.collections.flatMap((c) =>
      c.depends.map((d) => provided.get(d.collection)?.layer).filter((l): l is ResolvedLayer => l !== undefined && l !== layer),
    );
  while (out.length < layers.length) {
    const next = layers.find((l) => !placed.has(l) && deps(l).every((d) => placed.has(d))) ?? layers.find((l) => !placed.has(l))!;
    placed.add(next);
    out.push(next);
  }
  return out;
}

/** collection → a layer in a synced repository (selected or not) that provides it. */
async function knownLayers(
  project: Project,
  repoDir: (repo: string) => string,
): Promise<Map<string, { id: string; repo: string; subPath: string }>> {
  const found = new Map<string, { id: string; repo: string; subPath: string }>();
  for (const repo of Object.keys(project.manifest.repos)) {
    const root = repoDir(repo);
    for (const subPath of await findLayerDirs(root, 3)) {
      const conf = await readLayerConf(path.join(root, subPath)).catch(() => undefined);
      for (const c of conf?.collections ?? []) {
        if (!found.has(c.name)) found.set(c.name, { id: subPath === '.' ? repo : `${repo}/${subPath}`, repo, subPath });
      }
    }
  }
  return found;
}

async function findLayerDirs(root: string, depth: number, rel = '.'): Promise<string[]> {
  const here = path.join(root, rel);
  const out: string[] = [];
  if (await isFile(path.join(here, 'conf', 'layer.conf'))) out.push(rel);
  if (depth === 0) return out;
  const entries = await readdir(here, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (
      !e.isDirectory() ||
      e.name.startsWith('.') ||
      e.name === 'conf' ||
      e.name.startsWith('recipes-') ||
      e.name === 'lib' ||
      e.name === 'scripts'
    )
      continue;
    out.push(...(await findLayerDirs(root, depth - 1, rel === '.' ? e.name : `${rel}/${e.name}`)));
  }
  return out;
}
