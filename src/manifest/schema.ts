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

/** Repo and target names: nothing a shell, YAML, a path or a CI expression reads specially. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const repoName = z.string().regex(NAME_PATTERN, 'a repository name (letters, digits, . _ -)');

/** A sub-layer path inside its repository: relative, no `..`. */
const subLayerPath = z
  .string()
  .regex(/^(\.|[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*)$/, 'a relative path inside the repository (no ..), or "."');

export const repoSchema = z
  .strictObject({
    url: z.string().min(1, 'a git URL or path'),
    branch: gitRef.optional(),
    tag: gitRef.optional(),
    commit: commitId.optional(),
    /** sub-layers inside the repo (default ["."]); [] for a repo that holds no layers, such as bitbake (kas: `layers: {}`) */
    layers: z.array(subLayerPath).optional(),
  })
  .refine((r) => !(r.branch && r.tag), { message: 'either branch or tag, not both', path: ['tag'] });

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

const cacheSchema = z.strictObject({
  /** root of the shared caches; default $XDG_CACHE_HOME/yoctoforge or ~/.cache/yoctoforge */
  dir: confPath.optional(),
  downloads: confPath.optional(),
  sstate: confPath.optional(),
  sstate_mirrors: z.array(sstateMirror).optional(),
  hashserve: hashServerAddress.optional(),
  hashserve_upstream: hashServerAddress.optional(),
  /** BB_GENERATE_MIRROR_TARBALLS: keep git sources as tarballs in DL_DIR, for `bundle --downloads` */
  mirror_tarballs: z.boolean().optional(),
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

export const manifestSchema = z.strictObject({
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
  cache: cacheSchema.optional(),
  sync: syncSchema.optional(),
  build_env: buildEnvSchema.optional(),
  defaults: targetSchema.optional(),
  targets: z.record(repoName, targetSchema).refine((targets) => Object.keys(targets).length > 0, 'at least one target'),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type RepoSpec = z.infer<typeof repoSchema>;
export type TargetSettings = z.infer<typeof targetSchema>;
export type GroupSpec = z.infer<typeof groupSchema>;
export type UserSpec = z.infer<typeof userSchema>;
