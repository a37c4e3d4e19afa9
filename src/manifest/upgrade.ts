import { isMap, isScalar, isSeq, parseDocument, type YAMLMap, type Document } from 'yaml';
import { InputError } from '../errors.js';
import { repoLayers } from './repo-layers.js';
import { isRemoteRepo, type Manifest, type RemoteRepoSpec } from './schema.js';
import { findRelease, type Release } from './series.js';

/** One repository of the manifest after the move, with the reference the checks fetch. */
export interface PlannedRepo {
  name: string;
  url: string;
  /** the branch or tag it will follow */
  ref: { branch?: string; tag?: string };
  layers: string[];
  /** whether this repository is new (the split of poky) */
  added: boolean;
}

export interface UpgradePlan {
  from: string;
  to: Release;
  repos: PlannedRepo[];
  /** the combined poky repository that becomes bitbake + openembedded-core + meta-yocto, if any */
  replacedPoky?: string;
  /** things the user should know: pins dropped, repos left on their own branch */
  notes: string[];
  /** the manifest text after the move (comments and order kept) */
  text: string;
}

/**
 * How a careful engineer moves layers.yaml to another release: the series changes (every repo
 * that follows it moves along), repos pinned to the old series' branch move to the new one, a
 * commit pin to the old release is dropped, and a combined poky repository (found by the layer
 * check: the repo that holds both the core layer and BitBake) becomes the new release's core
 * repositories, with targets' `layers:` entries that named poky renamed.
 */
export function planUpgrade(manifestText: string, manifest: Manifest, to: Release, pokyRepo: string | undefined): UpgradePlan {
  const from = manifest.series ?? 'scarthgap';
  const notes: string[] = [];
  const doc = parseDocument(manifestText);
  const reposNode = doc.get('repos');
  if (!isMap(reposNode)) throw new InputError('the manifest has no repos: map to move');
  const fromRelease = findRelease(from);
  if (pokyRepo && to.layout === 'poky') throw new InputError(`--series ${to.series}: the project already uses the combined poky layout`);
  if (!pokyRepo && to.layout === 'poky' && fromRelease?.layout === 'split') {
    throw new InputError(
      `--series ${to.series}: moving back to the combined poky layout is not supported (\`yoctoforge upgrade --undo\` restores the manifest from before an upgrade)`,
    );
  }
  const repos: PlannedRepo[] = [];
  const newCoreByLayer = new Map<string, string>();
  for (const pair of [...reposNode.items]) {
    const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const spec = manifest.repos[name]!;
    // a local repo is the project's own: it moves with the project, not with the release
    if (!isRemoteRepo(spec)) continue;
    if (name === pokyRepo && to.layout === 'split') {
      const index = reposNode.items.indexOf(pair);
      const pokyLayers = repoLayers(spec);
      const replacement = to.coreRepos.map((core) => {
        // poky's own layers go where the new release keeps them; anything else of poky (meta-skeleton, meta-selftest) is openembedded-core's
        const layers =
          core.layers.length === 0
            ? []
            : pokyLayers.filter(
                (l) =>
                  (to.coreRepos.find((c) => c.layers.includes(l)) ?? to.coreRepos.find((c) => c.layers.includes('meta')))?.name ===
                  core.name,
              );
        return { ...core, layers };
      });
      for (const core of replacement) {
        if (manifest.repos[core.name])
          throw new InputError(
            `repos.${core.name} already exists: cannot split repos.${name} into ${to.coreRepos.map((c) => c.name).join(', ')}`,
          );
        for (const l of core.layers) newCoreByLayer.set(l, core.name);
        repos.push({ name: core.name, url: core.url, ref: { branch: core.branch ?? to.series }, layers: core.layers, added: true });
      }
      const nodes = replacement.map((core) => {
        const entry: Record<string, unknown> = { url: core.url };
        if (core.branch) entry.branch = core.branch;
        entry.layers = core.layers;
        const node = doc.createPair(core.name, entry);
        const layersNode = (node.value as YAMLMap).get('layers', true);
        if (isSeq(layersNode)) layersNode.flow = true;
        return node;
      });
      reposNode.items.splice(index, 1, ...nodes);
      continue;
    }
    repos.push(movedRepo(doc, name, spec, from, to, notes));
  }
  doc.set('series', to.series);
  if (to.layout === 'split' && pokyRepo) {
    const bitbake = to.coreRepos.find((c) => c.layers.length === 0)!.name;
    if (doc.has('bitbake')) doc.set('bitbake', bitbake);
    else insertAfter(doc, 'series', 'bitbake', bitbake);
    renameLayerRefs(doc, pokyRepo, to, newCoreByLayer);
  } else if (pokyRepo === undefined) {
    const bitbakeRepo = repos.find((r) => r.layers.length === 0 && to.coreRepos.some((c) => c.name === r.name && c.branch));
    const wanted = bitbakeRepo ? to.coreRepos.find((c) => c.name === bitbakeRepo.name)?.branch : undefined;
    if (bitbakeRepo && wanted) {
      bitbakeRepo.ref = { branch: wanted };
      doc.setIn(['repos', bitbakeRepo.name, 'branch'], wanted);
    }
  }
  return {
    from,
    to,
    repos,
    replacedPoky: to.layout === 'split' ? pokyRepo : undefined,
    notes,
    text: doc.toString({ flowCollectionPadding: false }),
  };
}

function movedRepo(doc: Document, name: string, spec: RemoteRepoSpec, from: string, to: Release, notes: string[]): PlannedRepo {
  const layers = repoLayers(spec);
  const base = { name, url: spec.url, layers, added: false };
  if (spec.tag) {
    notes.push(`repos.${name} stays at tag ${spec.tag}: check that it supports ${to.series}`);
    return { ...base, ref: { tag: spec.tag } };
  }
  if (spec.branch && spec.branch !== from) {
    notes.push(`repos.${name} stays on its branch ${spec.branch}`);
    return { ...base, ref: { branch: spec.branch } };
  }
  if (spec.branch) doc.setIn(['repos', name, 'branch'], to.series);
  if (spec.commit) {
    doc.deleteIn(['repos', name, 'commit']);
    notes.push(
      `repos.${name}: the pin to commit ${spec.commit.slice(0, 12)} (a ${from} commit) is dropped; pin a ${to.series} commit again after the move if you need one`,
    );
  }
  return { ...base, ref: { branch: to.series } };
}

/** targets.*.layers and defaults.layers: "poky" becomes the new core repos, "poky/X" the repo that holds X now. */
function renameLayerRefs(doc: Document, pokyRepo: string, to: Release, homeOf: Map<string, string>): void {
  const lists: unknown[] = [doc.getIn(['defaults', 'layers'])];
  const targets = doc.get('targets');
  if (isMap(targets)) for (const pair of targets.items) if (isMap(pair.value)) lists.push(pair.value.get('layers'));
  for (const list of lists) {
    if (!isSeq(list)) continue;
    const renamed = list.items.flatMap((item) => {
      const ref = String(isScalar(item) ? item.value : item);
      if (ref === pokyRepo) return to.coreRepos.filter((c) => c.layers.length > 0).map((c) => c.name);
      if (ref.startsWith(`${pokyRepo}/`)) {
        const sub = ref.slice(pokyRepo.length + 1);
        return [`${homeOf.get(sub) ?? to.coreRepos.find((c) => c.layers.includes('meta'))!.name}/${sub}`];
      }
      return [ref];
    });
    list.items = renamed.map((r) => doc.createNode(r));
  }
}

function insertAfter(doc: Document, after: string, key: string, value: string): void {
  const root = doc.contents;
  if (!isMap(root)) return;
  const index = root.items.findIndex((p) => isScalar(p.key) && p.key.value === after);
  root.items.splice(index + 1, 0, doc.createPair(key, value));
}
