/**
 * The offline bundle: one gzip-compressed tar whose entries all live under `yoctoforge-bundle/`.
 *
 *   yoctoforge-bundle/bundle.json        format version, tool version, target, repos
 *   yoctoforge-bundle/layers.yaml        the manifest and its lock
 *   yoctoforge-bundle/layers.lock.yaml
 *   yoctoforge-bundle/repos/NAME.bundle  `git bundle` of the locked commit with its history
 *   yoctoforge-bundle/repos/NAME.git/    or a shallow bare mirror (--shallow)
 *   yoctoforge-bundle/project/           local repos' layers and patch files, at their paths in the project
 *   yoctoforge-bundle/conf/              the rendered local.conf and bblayers.conf
 *   yoctoforge-bundle/docker/            the build environment
 *   yoctoforge-bundle/downloads/         DL_DIR files (--downloads), with SHA256SUMS
 *   yoctoforge-bundle/SHA256SUMS         every other entry's checksum: truncation and tampering show
 */
import { z } from 'zod';
import { commitId, gitUrl, repoName } from '../manifest/schema.js';

export const BUNDLE_FORMAT = 1;
export const BUNDLE_ROOT = 'yoctoforge-bundle';
export const CHECKSUMS = 'SHA256SUMS';
/** The project's own files the manifest names (local layers, patches), under their project paths. */
export const PROJECT_FILES_DIR = 'project';

/** bundle.json: read from an archive someone else made, so every field is checked. */
export const bundleInfoSchema = z.strictObject({
  format: z.number().int().min(1),
  tool: z.string().max(200),
  target: z.string().max(200),
  repos: z.record(repoName, z.strictObject({ commit: commitId, url: gitUrl, kind: z.enum(['bundle', 'mirror']) })),
  downloads: z.boolean(),
});

export type BundleInfo = z.infer<typeof bundleInfoSchema>;
