/**
 * bitbake-setup's configuration format (BitBake 2.18, bin/bitbake-setup; examples in
 * default-registry/configurations/*.conf.json): `sources` names git repositories
 * (`git-remote`: uri, branch, rev) checked out side by side under the setup's layers/ folder
 * (at `path`, default the source's name); `bitbake-setup.configurations` is a tree whose leaves
 * (merged with their parents, lists concatenated) are the choosable configurations, each with
 * `bb-layers` ("SOURCE/SUBDIR" paths), `oe-fragments` and `oe-fragments-one-of` choices
 * (machine/..., distro/... are OE's built-in fragments for MACHINE and DISTRO).
 */
export const BITBAKE_SETUP_FORMAT_VERSION = '1.0';

export interface GitRemoteSource {
  'git-remote': { uri?: string; remotes?: Record<string, { uri: string }>; branch?: string; rev: string };
  path?: string;
}

export interface BitbakeConfiguration {
  name?: string;
  description?: string;
  'bb-layers'?: string[];
  'oe-fragments'?: string[];
  'oe-fragments-one-of'?: Record<string, { description?: string; options: Array<string | { name: string; description?: string }> }>;
  'setup-dir-name'?: string;
  'bb-env-passthrough-additions'?: string[];
  configurations?: BitbakeConfiguration[];
  [key: string]: unknown;
}

export interface BitbakeSetupConfig {
  description: string;
  expires?: string;
  sources: Record<string, GitRemoteSource | { local: { path: string } }>;
  'bitbake-setup': { configurations: BitbakeConfiguration[] };
  version: string;
}

/** bitbake-setup's flatten_bitbake_configs: each leaf merged with its parents (lists concatenated). */
export function flattenConfigurations(configs: BitbakeConfiguration[]): BitbakeConfiguration[] {
  const out: BitbakeConfiguration[] = [];
  for (const c of configs) {
    if (!c.configurations) {
      out.push(c);
      continue;
    }
    for (const sub of flattenConfigurations(c.configurations)) {
      const merged: BitbakeConfiguration = {};
      for (const [k, v] of Object.entries(c)) if (k !== 'configurations') merged[k] = v;
      for (const [k, v] of Object.entries(sub)) {
        const parent = merged[k];
        merged[k] =
          Array.isArray(parent) && Array.isArray(v)
            ? [...parent, ...v]
            : parent && typeof parent === 'object' && typeof v === 'object' && !Array.isArray(v)
              ? { ...parent, ...v }
              : v;
      }
      out.push(merged);
    }
  }
  return out;
}

/** OE's built-in fragments (OE_FRAGMENTS_BUILTIN ?= "machine:MACHINE distro:DISTRO" in openembedded-core's bitbake.conf). */
export const BUILTIN_FRAGMENTS = { machine: 'machine/', distro: 'distro/' } as const;
