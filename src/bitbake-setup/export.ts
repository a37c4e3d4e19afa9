import { InputError } from '../errors.js';
import { selectedLayers } from '../layers/check.js';
import type { Lock } from '../lock/lock.js';
import type { Manifest } from '../manifest/schema.js';
import type { Target } from '../manifest/target.js';
import { BITBAKE_SETUP_FORMAT_VERSION, BUILTIN_FRAGMENTS, type BitbakeSetupConfig, type GitRemoteSource } from './format.js';

export interface BitbakeSetupExportInput {
  manifest: Manifest;
  manifestName: string;
  target: Target;
  lock: Lock;
  /** which repo is BitBake (REPO or REPO/PATH), from the manifest or found in layers/ */
  bitbakeRef?: string;
}

export interface BitbakeSetupExport {
  text: string;
  /** target settings a bitbake-setup configuration cannot hold, one line each */
  notExported: string[];
}

/**
 * A bitbake-setup configuration that sets up one target at the locked commits: every repository
 * as a source (branch and locked rev), the target's layers as bb-layers, MACHINE and DISTRO as
 * OE's built-in fragments. Pure.
 */
export function exportBitbakeSetup(input: BitbakeSetupExportInput): BitbakeSetupExport {
  const { manifest, target, lock } = input;
  const notExported: string[] = [];
  const sources: Record<string, GitRemoteSource> = {};
  const bitbakeRepo = input.bitbakeRef?.split('/')[0];
  for (const [name, spec] of Object.entries(manifest.repos)) {
    if (spec.path !== undefined) {
      notExported.push(
        `repos.${name}: a local repo (path: ${spec.path}); bitbake-setup fetches git remotes: add its layers to the setup by hand`,
      );
      continue;
    }
    if (spec.patches) notExported.push(`repos.${name}.patches: bitbake-setup applies no patches (yoctoforge sync does)`);
    const locked = lock.repos[name];
    if (!locked) throw new InputError(`repos.${name} is not in layers.lock.yaml (run \`yoctoforge sync\`)`);
    const source: GitRemoteSource = {
      'git-remote': { uri: locked.url, ...(locked.branch ? { branch: locked.branch } : {}), rev: locked.commit },
    };
    if (locked.tag) notExported.push(`repos.${name}: tag ${locked.tag} (bitbake-setup follows branches; the tag's commit is the rev)`);
    // openembedded-core's oe-init-build-env looks for BitBake beside it, in a folder named bitbake
    if (name === bitbakeRepo && input.bitbakeRef === name && name !== 'bitbake') source.path = 'bitbake';
    sources[name] = source;
  }
  const bbLayers = selectedLayers(manifest, target)
    .filter((l) => manifest.repos[l.repo]?.path === undefined)
    .map((l) => (l.subPath === '.' ? l.repo : `${l.repo}/${l.subPath}`));
  // As the registry's poky configurations offer them: choices that `bitbake-setup init FILE TARGET machine/M distro/D` makes.
  const choice = (kind: string, fragment: string): { description: string; options: Array<{ name: string; description: string }> } => ({
    description: `Target ${kind} (yoctoforge target ${target.name})`,
    options: [{ name: fragment, description: `${kind} of ${target.name}` }],
  });
  const oneOf = {
    machine: choice('machine', `${BUILTIN_FRAGMENTS.machine}${target.machine}`),
    distro: choice('distro', `${BUILTIN_FRAGMENTS.distro}${target.distro}`),
  };
  notExported.push(`targets.${target.name}.image: bitbake-setup sets up a build directory; run \`bitbake ${target.image}\` in it`);
  const unsupported: Array<[string, boolean]> = [
    ['init_manager', Boolean(target.initManager)],
    ['distro_features', target.distroFeatures.length > 0],
    ['image_features', target.imageFeatures.length > 0],
    ['packages', target.packages.length > 0],
    ['groups / users', target.groups.length + target.users.length > 0],
    ['license_flags_accepted', target.licenseFlagsAccepted.length > 0],
    ['image_fstypes', target.imageFstypes.length > 0],
    ['variables', Object.keys(target.variables).length > 0],
    ['local_conf', target.localConf !== undefined],
    ['bblayers_conf', target.bblayersConf !== undefined],
  ];
  for (const [what, present] of unsupported)
    if (present)
      notExported.push(
        `targets.${target.name}.${what}: a bitbake-setup configuration has no local.conf settings (put them in a layer's conf/fragments/ and list the fragment)`,
      );
  if (manifest.cache) notExported.push('cache: bitbake-setup writes DL_DIR, SSTATE_DIR and BB_HASHSERVE_DB_DIR into its own site.conf');
  const config: BitbakeSetupConfig = {
    description: `${target.name} (${target.image} for ${target.machine}), exported by yoctoforge from ${input.manifestName} at the commits of its lock`,
    sources,
    'bitbake-setup': {
      configurations: [
        { name: target.name, description: `yoctoforge target ${target.name}`, 'bb-layers': bbLayers, 'oe-fragments-one-of': oneOf },
      ],
    },
    version: BITBAKE_SETUP_FORMAT_VERSION,
  };
  return { text: `${JSON.stringify(config, null, 4)}\n`, notExported };
}
