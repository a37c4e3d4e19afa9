import { z } from 'zod';
import {
  accountName,
  confPath,
  confWord,
  distroName,
  hashServerAddress,
  initManager,
  machineName,
  passwordHash,
  plainValue,
  recipeName,
  sstateMirror,
  sstateMirrorUrl,
  variableName,
} from './conf-values.js';

export const MANIFEST_FILE = 'layers.yaml';
export const LOCK_FILE = 'layers.lock.yaml';
export const MANIFEST_VERSION = 1;

const gitRef = z
  .string()
  .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/+-]+$/, 'a git branch or tag name')
  .refine((v) => !v.endsWith('.lock') && !v.endsWith('/'), 'a git branch or tag name');

export const commitId = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-hex commit id');

/**
 * A manifest's commit pin: a full id, or an abbreviated one (4 hex digits at least, git's and so
 * kas's minimum) that sync resolves in the clone, as kas does, and locks as the full id.
 */
export const commitPin = z.string().regex(/^[0-9a-f]{4,40}$/, 'a commit id (4 to 40 hex digits)');

/** Whether `commit` is the pin `pin` (a full id, or its abbreviation). */
export function matchesPin(commit: string, pin: string): boolean {
  return commit.startsWith(pin);
}

/** Repo and target names: nothing a shell, YAML, a path or a CI expression reads specially. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Names become directory and container names: a bound well inside a file name's 255 bytes. */
export const NAME_MAX = 100;
export const repoName = z.string().max(NAME_MAX).regex(NAME_PATTERN, 'a repository name (letters, digits, . _ -)');
const targetName = z.string().max(NAME_MAX).regex(NAME_PATTERN, 'a target name (letters, digits, . _ -)');

/** A sub-layer path inside its repository: relative, no `..`. */
const subLayerPath = z
  .string()
  .regex(/^(\.|[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*)$/, 'a relative path inside the repository (no ..), or "."');

/**
 * A git URL or path. Not a remote-helper transport that talks over file descriptors or runs a
 * command (`fd::17` waits forever, `ext::sh -c ...` runs anything), and not an option.
 */
export const gitUrl = z
  .string()
  .min(1, 'a git URL or path')
  .regex(/^(?!-)/, 'a git URL or path, not an option')
  .regex(/^(?!(fd|ext)::)/i, 'a git URL or path (the fd:: and ext:: transports are refused)');

/**
 * A path inside the project, relative to it: a local repo (`path:`) or a patch file or folder.
 * The pattern already keeps out `..`, absolute paths and conf syntax; load.ts checks on disk that
 * it exists and does not leave the project through a symlink.
 */
export const projectPath = z
  .string()
  .regex(
    /^(\.\/?|(\.\/)?(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*\/?)$/,
    'a relative path inside the project, or "." (letters, digits, . _ - and /; no .., no absolute path)',
  )
  .transform((v) => v.replace(/^\.\/(?=.)/, '').replace(/\/+$/, '') || '.');

export const repoSchema = z
  .strictObject({
    url: gitUrl.optional(),
    /**
     * A repo kept in the project itself (kas: a repo with `path:` and no `url`): used in place,
     * never cloned, fetched or moved by sync.
     */
    path: projectPath.optional(),
    branch: gitRef.optional(),
    tag: gitRef.optional(),
    commit: commitPin.optional(),
    /** sub-layers inside the repo (default ["."]); [] for a repo that holds no layers, such as bitbake (kas: `layers: {}`) */
    layers: z.array(subLayerPath).optional(),
    /** patch files or folders of `git format-patch` output in the project, applied in order after checkout */
    patches: z.array(projectPath).min(1).optional(),
  })
  .refine((r) => !(r.branch && r.tag), { message: 'either branch or tag, not both', path: ['tag'] })
  .superRefine((r, ctx) => {
    if (r.url === undefined && r.path === undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'a git URL (or `path: FOLDER` for a repo kept in the project)' });
    else if (r.url !== undefined && r.path !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'either url (a repository to clone) or path (a folder of this project), not both',
      });
  })
  .refine((r) => r.url === undefined || !/^\.\.?\//.test(r.url), {
    message: 'a git URL; a folder of this project is a local repo: write `path: FOLDER` instead of url',
    path: ['url'],
  })
  .refine((r) => r.path === undefined || (!r.branch && !r.tag && !r.commit && !r.patches), {
    message: 'a local repo (path:) is used as it is: branch, tag, commit and patches apply only to a repo with a url',
    path: ['path'],
  });

const groupSchema = z.strictObject({
  name: accountName,
  system: z.boolean().optional(),
  gid: z.number().int().min(0).max(65534).optional(),
  members: z.array(accountName).optional(),
});

const userSchema = z.strictObject({
  name: accountName,
  uid: z.number().int().min(0).max(65534).optional(),
  groups: z.array(accountName).optional(),
  shell: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]+$/, 'an absolute path such as /bin/sh')
    .optional(),
  home: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]+$/, 'an absolute path')
    .optional(),
  password_hash: passwordHash.optional(),
});

/** Settings a target can have; `defaults` holds the same keys for every target. */
export const targetSettingsShape = {
  image: recipeName.optional(),
  machine: machineName.optional(),
  /** "" is kas's `distro: ""` (BitBake then reads no distro conf) */
  distro: distroName.or(z.literal('')).optional(),
  init_manager: initManager.optional(),
  distro_features: z.array(confWord).optional(),
  image_features: z.array(confWord).optional(),
  packages: z.array(recipeName).optional(),
  groups: z.array(groupSchema).optional(),
  users: z.array(userSchema).optional(),
  license_flags_accepted: z.array(confWord).optional(),
  image_fstypes: z.array(confWord).optional(),
  /** repos (or repo/sub-layer) to put in bblayers.conf; default: every layer of every repo */
  layers: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9_.][A-Za-z0-9._/-]*)?$/, 'REPO or REPO/SUBLAYER')).optional(),
  variables: z.record(variableName, plainValue).optional(),
  /** Raw BitBake conf text, rendered verbatim (and labelled so) at the end of local.conf. */
  local_conf: z.string().optional(),
  /** Raw BitBake conf text, rendered verbatim at the end of bblayers.conf. */
  bblayers_conf: z.string().optional(),
  /**
   * How local.conf and bblayers.conf are laid out. "yoctoforge" (default): MACHINE and DISTRO
   * first, poky's sample defaults, local_conf last. "kas" (what `import kas` writes): as kas
   * writes them, local_conf first and MACHINE ??= / DISTRO ??= after it as weak defaults, no
   * sample defaults, BBPATH ?= / BBFILES ??= after bblayers_conf; the build kas would run.
   */
  conf_layout: z.enum(['yoctoforge', 'kas']).optional(),
};

export const targetSchema = z.strictObject(targetSettingsShape);

/** Who may write to the shared mirror and hash server: developers read, CI publishes. */
export const CACHE_ROLES = ['read-only', 'read-write'] as const;
export type CacheRole = (typeof CACHE_ROLES)[number];

/** A publish destination: a directory, `[USER@]HOST:PATH` or `rsync://HOST/MODULE/PATH` (rsync), `s3://BUCKET/PREFIX`. */
export const publishTarget = z
  .string()
  .min(1)
  .refine(
    (v) => /^[\x21-\x7e]+$/.test(v),
    'a directory, HOST:PATH, rsync://HOST/MODULE/PATH or s3://BUCKET/PREFIX (no spaces or control characters)',
  );

/**
 * A team's shared sstate mirror and hash-equivalence server. Credentials never appear here: the
 * read-write role takes them from the environment (BB_HASHSERVE_USERNAME, BB_HASHSERVE_PASSWORD
 * for the hash server; ssh keys or the agent for rsync).
 */
const sharedCacheSchema = z.strictObject({
  /** where every build reads sstate objects from (SSTATE_MIRRORS) */
  sstate_url: sstateMirrorUrl.optional(),
  /** where `yoctoforge cache publish` writes when no TARGET is given */
  publish: publishTarget.optional(),
  /** the team's bitbake-hashserv: HOST:PORT or ws(s)://HOST[:PORT] */
  hashserve: hashServerAddress
    .refine(
      (v) => v !== 'auto' && !v.startsWith('unix://'),
      'a network address (HOST:PORT or ws(s)://HOST[:PORT]), not auto or a unix socket',
    )
    .optional(),
  /** default read-only; YOCTOFORGE_CACHE_ROLE overrides it (CI's nightly builds set read-write) */
  role: z.enum(CACHE_ROLES).optional(),
});

const cacheSchema = z
  .strictObject({
    /** root of the shared caches; default $XDG_CACHE_HOME/yoctoforge or ~/.cache/yoctoforge */
    dir: confPath.optional(),
    downloads: confPath.optional(),
    sstate: confPath.optional(),
    sstate_mirrors: z.array(sstateMirror).optional(),
    hashserve: hashServerAddress.optional(),
    hashserve_upstream: hashServerAddress.optional(),
    /** BB_GENERATE_MIRROR_TARBALLS: keep git sources as tarballs in DL_DIR, for `bundle --downloads` */
    mirror_tarballs: z.boolean().optional(),
    /** a shared sstate mirror and hash-equivalence server (see README, "Sharing the cache") */
    shared: sharedCacheSchema.optional(),
  })
  .refine((c) => !(c.shared?.hashserve && (c.hashserve || c.hashserve_upstream)), {
    message:
      'cache.shared.hashserve sets BB_HASHSERVE and BB_HASHSERVE_UPSTREAM by role: leave cache.hashserve and cache.hashserve_upstream out',
    path: ['shared', 'hashserve'],
  });

const syncSchema = z.strictObject({
  clone: z.enum(['full', 'shallow', 'blobless']).optional(),
  jobs: z.number().int().min(1).max(32).optional(),
});

const buildEnvSchema = z.strictObject({
  engine: z.enum(['docker', 'podman', 'none']).optional(),
  base_image: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'an image reference such as debian:12')
    .optional(),
});

export const BITBAKE_REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;
/**
 * Environment variables for the build environment (`env:`): `NAME: null` passes the caller's
 * value through, `NAME: value` sets it unless the caller has NAME set (as kas does). Names the
 * build environment itself owns are refused: overriding them would break it, not configure it.
 */
export const RESERVED_ENV_NAMES = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'PWD',
  'TERM',
  'BUILDDIR',
  'BBPATH',
  'BB_ENV_PASSTHROUGH',
  'BB_ENV_PASSTHROUGH_ADDITIONS',
  'SSH_AUTH_SOCK',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** One line of printable text: an environment value reaches a shell, a container and BitBake. */
const envValue = z.union([z.string().regex(/^[^\0-\x1f\x7f]*$/, 'one line of text (no newlines or control characters)'), z.number()]);
// Names are checked here rather than as record keys, so that the problem names the key.
const envSchema = z.record(z.string(), envValue.nullable()).superRefine((env, ctx) => {
  for (const name of Object.keys(env)) {
    if (!ENV_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'an environment variable name (letters, digits, _)' });
    else if (RESERVED_ENV_NAMES.includes(name))
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `a name the build environment does not set itself (${RESERVED_ENV_NAMES.join(', ')} are its own)`,
      });
  }
});

export const manifestSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(MANIFEST_VERSION).optional(),
    /** the Yocto release series; default branch of every repo */
    series: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, 'a release series name such as scarthgap')
      .optional(),
    layers_dir: confPath.optional(),
    build_dir: confPath.optional(),
    repos: z.record(repoName, repoSchema).refine((repos) => Object.keys(repos).length > 0, 'at least one repository'),
    /**
     * Where BitBake is: "REPO" or "REPO/PATH" (poky/bitbake). Default: found by content, the one
     * repository (or folder one level inside it) holding bin/bitbake and lib/bb.
     */
    bitbake: z.string().regex(BITBAKE_REF_PATTERN, 'REPO or REPO/PATH, e.g. bitbake or poky/bitbake').optional(),
    cache: cacheSchema.optional(),
    sync: syncSchema.optional(),
    build_env: buildEnvSchema.optional(),
    env: envSchema.optional(),
    defaults: targetSchema.optional(),
    targets: z.record(targetName, targetSchema).refine((targets) => Object.keys(targets).length > 0, 'at least one target'),
  })
  .refine((m) => m.bitbake === undefined || m.repos[m.bitbake.split('/')[0]!] !== undefined, {
    message: 'the name of a repository of this manifest (REPO or REPO/PATH)',
    path: ['bitbake'],
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type RepoSpec = z.infer<typeof repoSchema>;
/** A repo sync clones: one with a url. */
export type RemoteRepoSpec = RepoSpec & { url: string };

export function isRemoteRepo(spec: RepoSpec): spec is RemoteRepoSpec {
  return spec.url !== undefined;
}
export type TargetSettings = z.infer<typeof targetSchema>;
export type GroupSpec = z.infer<typeof groupSchema>;
export type UserSpec = z.infer<typeof userSchema>;
export type EnvSpec = z.infer<typeof envSchema>;
export type SharedCacheSpec = z.infer<typeof sharedCacheSchema>;
