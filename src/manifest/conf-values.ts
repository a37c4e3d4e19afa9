import { z } from 'zod';

/*
 * Every value that reaches a BitBake conf file passes one of these. BitBake conf syntax evaluates
 * `${@...}` as Python and a quote or newline ends an assignment, so each shape is a whitelist,
 * never a blacklist. Arbitrary text is only possible through the explicit raw sections.
 */

const identifier = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export const machineName = z.string().regex(identifier, 'a machine name (letters, digits, . _ + -)');

export const distroName = z.string().regex(identifier, 'a distro name (letters, digits, . _ + -)');

export const recipeName = z.string().regex(/^[a-z0-9][a-z0-9.+_-]*$/, 'a recipe or package name (lower-case letters, digits, . + _ -)');

/** DISTRO_FEATURES, IMAGE_FEATURES, LICENSE_FLAGS_ACCEPTED, IMAGE_FSTYPES words. */
export const confWord = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'a single word (letters, digits, . _ + -)');

export const initManager = z.enum(['systemd', 'sysvinit', 'mdev-busybox', 'none']);

/** user and group names as shadow's useradd accepts them */
export const accountName = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user or group name (lower-case, starts with a letter or _, at most 32 characters)');

/** A crypt(3) hash, e.g. from `openssl passwd -6`; its `$` are escaped when rendered. */
export const passwordHash = z
  .string()
  .regex(/^\$[0-9a-z]+(\$[A-Za-z0-9=,]+)?\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+$/, 'a crypt(3) hash such as the output of `openssl passwd -6`');

/** BitBake variable names, with optional :append/:remove/:override suffixes. */
export const variableName = z
  .string()
  .regex(
    /^[A-Z_][A-Za-z0-9_-]*(:[a-z0-9_-]+)*$/,
    'a BitBake variable name such as IMAGE_ROOTFS_EXTRA_SPACE or PREFERRED_VERSION_linux-raspberrypi',
  );

/**
 * A plain variable value: printable text without quotes, backslashes or newlines; `$` only as a
 * `${NAME}` reference, so `${@...}` inline Python cannot be written here.
 */
export const plainValue = z
  .string()
  .max(4096)
  .refine((v) => /^[\x20-\x7e]*$/.test(v) && !/["\\]/.test(v), 'printable text without quotes, backslashes or newlines')
  .refine(
    (v) => v.replace(/\$\{[A-Za-z0-9_:-]+\}/g, '').indexOf('$') === -1,
    'no `$` except `${VARIABLE}` references (inline Python `${@...}` belongs in local_conf)',
  );

/** hash server address: `auto`, `host:port`, `unix://path` or `ws(s)://host[:port]` */
export const hashServerAddress = z
  .string()
  .regex(
    /^(auto|[A-Za-z0-9.-]+:[0-9]{1,5}|unix:\/\/[A-Za-z0-9._/-]+|wss?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._/-]*)?)$/,
    'auto, host:port, unix://PATH or ws(s)://HOST[:PORT]',
  );

/** one SSTATE_MIRRORS entry: `REGEX URL`, e.g. `file://.* https://sstate.example.com/PATH;downloadfilename=PATH` */
export const sstateMirror = z
  .string()
  .regex(
    /^[A-Za-z0-9.*+?()[\]|^/:_-]+ [A-Za-z0-9+.-]+:\/\/[A-Za-z0-9._~:/?#@!&'()*+,;=%-]+$/,
    'a "REGEX URL" pair such as "file://.* https://sstate.example.com/PATH;downloadfilename=PATH"',
  );

/** The root URL of a shared sstate mirror, as builds read it: `https://HOST/PATH`, `http://...` or `file:///PATH`. */
export const sstateMirrorUrl = z
  .string()
  .regex(
    /^(https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?|file:\/\/)(\/[A-Za-z0-9._~/%+-]*)?$/,
    'an http(s):// URL or a file:/// path, such as https://sstate.example.com/scarthgap (no credentials, query or spaces)',
  )
  .transform((v) => v.replace(/\/+$/, ''));

/**
 * A host path that reaches a conf (layers_dir, build_dir, cache paths). A whitelist: BitBake
 * splits path lists at spaces, `$` starts an expansion, quotes end the assignment and a colon
 * splits a container volume, so none of them is allowed; `..` and absolute paths are.
 */
export const CONF_PATH_PATTERN = /^[A-Za-z0-9._/~@,-]+$/;
export const confPath = z
  .string()
  .min(1)
  .regex(CONF_PATH_PATTERN, 'a path of letters, digits and . _ / ~ @ , - (no spaces, quotes, $ or other shell or BitBake syntax)');
