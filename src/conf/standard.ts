/**
 * The lines every generated conf carries besides the manifest's settings: poky's
 * local.conf.sample / bblayers.conf.sample defaults. The templates print them and the kas
 * export writes (and the import recognises) the same ones.
 */
export const CONF_VERSION_LINE = 'CONF_VERSION = "2"';

export const POKY_SAMPLE_DEFAULTS = [
  'PACKAGE_CLASSES ?= "package_rpm"',
  'USER_CLASSES ?= "buildstats"',
  'PATCHRESOLVE = "noop"',
  [
    'BB_DISKMON_DIRS ??= "\\',
    '    STOPTASKS,${TMPDIR},1G,100K \\',
    '    STOPTASKS,${DL_DIR},1G,100K \\',
    '    STOPTASKS,${SSTATE_DIR},1G,100K \\',
    '    STOPTASKS,/tmp,100M,100K \\',
    '    HALT,${TMPDIR},100M,1K \\',
    '    HALT,${DL_DIR},100M,1K \\',
    '    HALT,${SSTATE_DIR},100M,1K \\',
    '    HALT,/tmp,10M,1K"',
  ].join('\n'),
];

export const BBLAYERS_CONF_VERSION_LINE = 'POKY_BBLAYERS_CONF_VERSION = "2"';
export const BBLAYERS_SEARCH_LINES = ['BBPATH = "${TOPDIR}"', 'BBFILES ?= ""'];
/** What kas writes after BBLAYERS (format 11 and later): weak, so a bblayers_conf_header line before them wins. */
export const KAS_BBLAYERS_SEARCH_LINES = ['BBPATH ?= "${TOPDIR}"', 'BBFILES ??= ""'];
