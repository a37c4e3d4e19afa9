import { findRelease } from '../manifest/series.js';
import { BBLAYERS_CONF_VERSION_LINE, CONF_VERSION_LINE, POKY_SAMPLE_DEFAULTS } from './standard.js';

/**
 * What the generated conf takes from each release's own sample files and checks. Sources:
 * - scarthgap: poky's meta-poky/conf/templates/default/{local,bblayers}.conf.sample
 *   (conf/standard.ts); the hash-equivalence database lives in PERSISTENT_DIR (BitBake 2.8's
 *   cooker: `PERSISTENT_DIR or CACHE` + /hashserv.db), so a shared PERSISTENT_DIR shares it.
 * - wrynose: meta-yocto has no templates any more; openembedded-core's
 *   meta/conf/templates/default/local.conf.sample (USER_CLASSES, PATCHRESOLVE, BB_DISKMON_DIRS,
 *   CONF_VERSION = "2", LOCALCONF_VERSION in meta/conf/sanity.conf) and bblayers.conf.sample
 *   (LCONF_VERSION = "7", LAYER_CONF_VERSION in sanity.conf). BitBake 2.18's cooker reads
 *   BB_HASHSERVE_DB_DIR first, and openembedded-core's sanity.bbclass warns when SSTATE_DIR is
 *   shared but the database is inside the build directory, recommending
 *   BB_HASHSERVE_DB_DIR = "${SSTATE_DIR}" (bitbake-setup writes the same into its site.conf).
 *   MACHINE and DISTRO are OE's built-in configuration fragments (OE_FRAGMENTS_BUILTIN ?=
 *   "machine:MACHINE distro:DISTRO" in bitbake.conf, enabled as `bitbake-config-build
 *   enable-fragment machine/NAME` does).
 */
export interface ConfRelease {
  series: string;
  /** where the copied sample lines come from, printed above them */
  sampleSource: string;
  sampleDefaults: readonly string[];
  confVersionLine: string;
  bblayersVersionLine: string;
  /** the line that puts the hash-equivalence database beside the shared sstate cache; PERSISTENT_DIR takes a path */
  hashDatabase: { variable: 'PERSISTENT_DIR' } | { variable: 'BB_HASHSERVE_DB_DIR'; value: string };
  /** MACHINE and DISTRO as OE configuration fragments (whinlatter and later) */
  fragments: boolean;
}

const SCARTHGAP: ConfRelease = {
  series: 'scarthgap',
  sampleSource: "poky's default local.conf.sample",
  sampleDefaults: POKY_SAMPLE_DEFAULTS,
  confVersionLine: CONF_VERSION_LINE,
  bblayersVersionLine: BBLAYERS_CONF_VERSION_LINE,
  hashDatabase: { variable: 'PERSISTENT_DIR' },
  fragments: false,
};

const WRYNOSE: ConfRelease = {
  series: 'wrynose',
  sampleSource: "openembedded-core's default local.conf.sample",
  // the same three lines as poky's sample; PACKAGE_CLASSES is poky.conf's, not the sample's, here
  sampleDefaults: POKY_SAMPLE_DEFAULTS.filter((line) => !line.startsWith('PACKAGE_CLASSES')),
  confVersionLine: 'CONF_VERSION = "2"',
  bblayersVersionLine: 'LCONF_VERSION = "7"',
  hashDatabase: { variable: 'BB_HASHSERVE_DB_DIR', value: '${SSTATE_DIR}' },
  fragments: true,
};

export const CONF_RELEASES: readonly ConfRelease[] = [SCARTHGAP, WRYNOSE];
export const DEFAULT_CONF_RELEASE = SCARTHGAP;

/**
 * The release whose conf a build gets: the core layer's own series (LAYERSERIES_CORENAMES), else
 * the manifest's; a release yoctoforge has no table for gets the newest layout's facts when it
 * is a layout without poky, scarthgap's otherwise.
 */
export function confReleaseFor(coreSeries: readonly string[], manifestSeries: string | undefined): ConfRelease {
  for (const series of [...coreSeries, manifestSeries]) {
    const known = CONF_RELEASES.find((r) => r.series === series);
    if (known) return known;
  }
  return findRelease(manifestSeries)?.layout === 'split' ? WRYNOSE : SCARTHGAP;
}
