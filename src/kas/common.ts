import { BBLAYERS_CONF_VERSION_LINE, BBLAYERS_SEARCH_LINES } from '../conf/standard.js';

/**
 * What the kas exporter and importer share: the names of the header entries an export writes
 * besides those of conf/lines.ts (kas writes entries sorted by key, so the numbers fix the order
 * to the one of yoctoforge's own confs), and the kas format versions of the features used.
 */

/** The newest kas configuration format this code knows (kas 5.4). */
export const KAS_LATEST_FORMAT = 23;
/**
 * What `export kas` writes unless told otherwise: the newest format Debian's kas 3.1 reads, which
 * kas 4.x and 5.x also read (with a deprecation note for `refspec`). One file for both.
 */
export const KAS_COMPATIBLE_FORMAT = 12;
/** Integer header versions exist since format 2 ("0.10" was format 1). */
export const KAS_OLDEST_FORMAT = 2;

/**
 * Oldest kas format version of each feature an export can use (see kas/README.md, which
 * carries the same table, and kas' docs/format-changelog.rst).
 */
export const KAS_FEATURE_VERSION = {
  /** integer header.version, repos.X.url/refspec/layers, machine, distro, target, *_conf_header */
  base: 2,
  /** build_system: oe (never written: oe is implied by poky's oe-init-build-env) */
  build_system: 10,
  /** repos.X.commit and repos.X.branch (replace refspec) */
  commit_branch: 14,
  /** repos.X.tag */
  tag: 15,
} as const;

/** The first kas release that reads a format version (from kas' CHANGELOG.md). */
export function kasReleaseFor(formatVersion: number): string {
  if (formatVersion >= 15) return 'kas 4.1';
  if (formatVersion >= 14) return 'kas 3.3';
  return 'kas 0.13';
}

/** The local_conf_header entry carrying targets.X.local_conf verbatim; conf/lines.ts names the others. */
export const RAW_LOCAL_CONF_ENTRY = 'yoctoforge-90-local-conf';

export const BBLAYERS_CONF_KEYS = {
  standard: 'yoctoforge-00-standard',
  bblayersConf: 'yoctoforge-90-bblayers-conf',
} as const;

/** Lines yoctoforge's bblayers.conf always has; kas writes none of them, so an export carries them and an import drops them again (kas < format 11 did not preset BBPATH/BBFILES). */
export const STANDARD_BBLAYERS_CONF_LINES = [BBLAYERS_CONF_VERSION_LINE, ...BBLAYERS_SEARCH_LINES];

/** Layer values kas reads as "not in bblayers.conf". */
export const KAS_DISABLED_LAYER_VALUES = ['disabled', 'excluded', 'n', 'no', '0', 'false'];

/** A kas configuration (or part of one) as parsed from YAML. */
export type KasMap = Record<string, unknown>;

export function isMap(v: unknown): v is KasMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
