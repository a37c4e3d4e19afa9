/**
 * The Yocto releases yoctoforge knows, and how each one lays out its core repositories. Sources:
 * - scarthgap (5.0): one combined poky repository (bitbake/, meta, meta-poky, meta-yocto-bsp,
 *   oe-init-build-env), as poky's scarthgap branch holds it.
 * - wrynose (6.0): since whinlatter (5.3) poky is no longer a combined repository; bitbake-setup's
 *   registry (bitbake 2.18, default-registry/configurations/poky-wrynose.conf.json) takes
 *   bitbake at branch 2.18, openembedded-core (layer meta) and meta-yocto (meta-poky,
 *   meta-yocto-bsp) at wrynose, from the URLs below.
 * The other repositories of the seed (meta-openembedded, meta-raspberrypi, meta-virtualization)
 * have a branch named after each series.
 */
export type Layout = 'poky' | 'split';

export interface CoreRepo {
  name: string;
  url: string;
  /** only when it is not the series name (bitbake's branches are its version) */
  branch?: string;
  /** sub-layers; [] for a repository without layers */
  layers: string[];
}

export interface Release {
  series: string;
  version: string;
  layout: Layout;
  /** the repositories that hold BitBake and the core layers, in manifest order */
  coreRepos: CoreRepo[];
  /** which of coreRepos is BitBake (REPO or REPO/PATH, as the manifest's `bitbake:` says) */
  bitbake: string;
}

export const RELEASES: readonly Release[] = [
  {
    series: 'scarthgap',
    version: '5.0',
    layout: 'poky',
    coreRepos: [{ name: 'poky', url: 'https://git.yoctoproject.org/poky', layers: ['meta', 'meta-poky', 'meta-yocto-bsp'] }],
    bitbake: 'poky/bitbake',
  },
  {
    series: 'wrynose',
    version: '6.0',
    layout: 'split',
    coreRepos: [
      { name: 'bitbake', url: 'https://git.openembedded.org/bitbake', branch: '2.18', layers: [] },
      { name: 'openembedded-core', url: 'https://git.openembedded.org/openembedded-core', layers: ['meta'] },
      { name: 'meta-yocto', url: 'https://git.yoctoproject.org/meta-yocto', layers: ['meta-poky', 'meta-yocto-bsp'] },
    ],
    bitbake: 'bitbake',
  },
];

export const DEFAULT_SERIES = 'scarthgap';
export const SERIES_NAMES = RELEASES.map((r) => r.series);

export function findRelease(series: string | undefined): Release | undefined {
  return RELEASES.find((r) => r.series === series);
}

/** Where a layer of the combined poky repository lives in the split layout (layer → repository). */
export function splitHomeOf(pokySubLayer: string, split: Release): CoreRepo | undefined {
  return split.coreRepos.find((r) => r.layers.includes(pokySubLayer));
}
