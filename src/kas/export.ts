import { repoLayers } from '../manifest/repo-layers.js';
import { stringify } from 'yaml';
import { kasEntries } from '../conf/lines.js';
import { InputError } from '../errors.js';
import { selectedLayers } from '../layers/check.js';
import type { Lock } from '../lock/lock.js';
import type { Manifest, RepoSpec } from '../manifest/schema.js';
import type { Target } from '../manifest/target.js';
import {
  BBLAYERS_CONF_KEYS,
  KAS_FEATURE_VERSION,
  KAS_LATEST_FORMAT,
  KAS_OLDEST_FORMAT,
  kasReleaseFor,
  RAW_LOCAL_CONF_ENTRY,
  STANDARD_BBLAYERS_CONF_LINES,
} from './common.js';

export interface KasExportInput {
  manifest: Manifest;
  /** for the header comment */
  manifestName?: string;
  target: Target;
  lock: Lock;
  /**
   * The newest kas format the reader understands (default: the newest known). Below 14 the
   * locked commit is written as the deprecated `refspec` and the branch/tag is dropped, so that
   * kas 3.x (format 12, as packaged by Debian) can read the file.
   */
  maxFormatVersion?: number;
}

export interface KasExport {
  /** the kas configuration, YAML */
  text: string;
  /** header.version written: the oldest format that has every feature used */
  version: number;
  /** which feature needed which format version, for reports */
  features: Array<{ feature: string; version: number }>;
  /** manifest settings that are not in the kas file, one line each */
  notExported: string[];
}

interface KasRepo {
  url?: string;
  /** a repo without url: kas uses the folder as it is (relative to KAS_WORK_DIR) */
  path?: string;
  refspec?: string;
  commit?: string;
  branch?: string;
  tag?: string;
  layers?: Record<string, string | null>;
}

/** A kas configuration reproducing one target at the locked commits. Pure. */
export function exportKas(input: KasExportInput): KasExport {
  const { manifest, target, lock } = input;
  const maxVersion = input.maxFormatVersion ?? KAS_LATEST_FORMAT;
  if (!Number.isInteger(maxVersion) || maxVersion < KAS_OLDEST_FORMAT || maxVersion > KAS_LATEST_FORMAT) {
    throw new InputError(
      `--format-version: expected a kas configuration format version from ${KAS_OLDEST_FORMAT} to ${KAS_LATEST_FORMAT}, found ${String(input.maxFormatVersion)}`,
    );
  }
  const features = new Map<string, number>([
    ['header, repos (url, refspec, layers), machine, distro, target, local_conf_header, bblayers_conf_header', KAS_FEATURE_VERSION.base],
  ]);
  const notExported: string[] = [];
  const legacyRefs = maxVersion < KAS_FEATURE_VERSION.commit_branch;

  const chosen = selectedLayers(manifest, target);
  const selected = (repo: string, sub: string): boolean => chosen.some((l) => l.repo === repo && l.subPath === sub);
  const repos: Record<string, KasRepo> = {};
  for (const [name, spec] of orderedRepos(manifest)) {
    if (spec.path !== undefined) {
      // kas's own spelling of a folder used in place: no url, a path (relative to KAS_WORK_DIR)
      repos[name] = { path: spec.path, ...kasLayers(name, spec) };
      notExported.push(`repos.${name}.path: kas reads a relative path from KAS_WORK_DIR: run kas from the project folder`);
      continue;
    }
    if (spec.patches)
      notExported.push(
        `repos.${name}.patches: ${spec.patches.join(', ')} (kas patches live in a repo of the kas file; apply them with yoctoforge sync)`,
      );
    const locked = lock.repos[name];
    if (!locked) throw new InputError(`repos.${name} is not in layers.lock.yaml (run \`yoctoforge sync\`)`);
    const repo: KasRepo = { url: locked.url };
    if (legacyRefs) {
      repo.refspec = locked.commit;
      if (locked.branch || locked.tag) {
        notExported.push(
          `repos.${name}: ${locked.tag ? `tag ${locked.tag}` : `branch ${locked.branch}`} (kas format ${maxVersion} has only refspec, which holds the locked commit)`,
        );
      }
    } else {
      repo.commit = locked.commit;
      features.set('repos.X.commit + branch', KAS_FEATURE_VERSION.commit_branch);
      if (locked.branch) repo.branch = locked.branch;
      else if (locked.tag) {
        if (maxVersion >= KAS_FEATURE_VERSION.tag) {
          repo.tag = locked.tag;
          features.set('repos.X.tag', KAS_FEATURE_VERSION.tag);
        } else {
          notExported.push(
            `repos.${name}: tag ${locked.tag} (repos.X.tag needs kas format ${KAS_FEATURE_VERSION.tag}; the commit is kept)`,
          );
        }
      }
    }
    repos[name] = { ...repo, ...kasLayers(name, spec) };
  }

  function kasLayers(name: string, spec: RepoSpec): Pick<KasRepo, 'layers'> {
    const subPaths = repoLayers(spec);
    const all = subPaths.every((sub) => selected(name, sub));
    // kas adds the repo root when `layers` is missing; a repo none of whose layers the target
    // uses is still listed (its layers disabled) so that an import gets the same repos back
    if (subPaths.length === 1 && subPaths[0] === '.' && all) return {};
    return { layers: Object.fromEntries(subPaths.map((sub) => [sub, selected(name, sub) ? null : 'disabled'])) };
  }

  const localConfHeader = localConfEntries(target);
  const bblayersConfHeader: Record<string, string> = { [BBLAYERS_CONF_KEYS.standard]: `${STANDARD_BBLAYERS_CONF_LINES.join('\n')}\n` };
  if (target.bblayersConf !== undefined) bblayersConfHeader[BBLAYERS_CONF_KEYS.bblayersConf] = target.bblayersConf;

  if (manifest.cache) notExported.push('cache: kas takes DL_DIR and SSTATE_DIR from its environment (export them before running kas)');
  if (manifest.sync) notExported.push('sync: clone mode and jobs are kas command-line settings (e.g. KAS_CLONE_DEPTH)');
  if (manifest.build_env) notExported.push('build_env: use kas-container for a containerised build');
  if (manifest.layers_dir || manifest.build_dir) notExported.push('layers_dir / build_dir: kas uses KAS_WORK_DIR and KAS_BUILD_DIR');
  if (Object.keys(manifest.targets).length > 1) {
    notExported.push(
      `targets other than ${target.name} (${Object.keys(manifest.targets)
        .filter((t) => t !== target.name)
        .join(', ')}): export them one by one`,
    );
  }

  const version = Math.max(...features.values());
  const config = {
    header: { version },
    machine: target.machine,
    distro: target.distro,
    target: target.image,
    repos,
    bblayers_conf_header: bblayersConfHeader,
    local_conf_header: localConfHeader,
  };
  const comment = [
    `# kas configuration written by \`yoctoforge export kas\` from ${input.manifestName ?? 'layers.yaml'} (target ${target.name}),`,
    '# at the commits of layers.lock.yaml. build_system: oe is implied (poky has oe-init-build-env).',
    `# Format version ${version}: ${kasReleaseFor(version)} or newer${version < KAS_FEATURE_VERSION.commit_branch ? " (Debian's kas 3.1 included)" : ''}; see kas/README.md in yoctoforge.`,
  ].join('\n');
  const text = `${comment}\n${stringify(config, { nullStr: '', lineWidth: 0 })}`;
  return {
    text,
    version,
    features: [...features.entries()].map(([feature, v]) => ({ feature, version: v })).sort((a, b) => a.version - b.version),
    notExported,
  };
}

/** The local_conf_header entries of a target: the lines yoctoforge's local.conf has, and local_conf verbatim. */
export function localConfEntries(target: Target): Record<string, string> {
  const out = kasEntries(target);
  if (target.localConf !== undefined) out[RAW_LOCAL_CONF_ENTRY] = target.localConf;
  return out;
}

/** Repos in manifest order, but the one with oe-core's `meta` layer (poky) first, as kas users expect. */
function orderedRepos(manifest: Manifest): Array<[string, Manifest['repos'][string]]> {
  const entries = Object.entries(manifest.repos);
  const core = entries.findIndex(([, spec]) => spec.layers?.includes('meta'));
  if (core > 0) entries.unshift(...entries.splice(core, 1));
  return entries;
}
