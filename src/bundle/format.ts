/**
 * The offline bundle: one gzip-compressed tar whose entries all live under `yoctoforge-bundle/`.
 *
 *   yoctoforge-bundle/bundle.json        format version, tool version, target, repos
 *   yoctoforge-bundle/layers.yaml        the manifest and its lock
 *   yoctoforge-bundle/layers.lock.yaml
 *   yoctoforge-bundle/repos/NAME.bundle  `git bundle` of the locked commit with its history
 *   yoctoforge-bundle/repos/NAME.git/    or a shallow bare mirror (--shallow)
 *   yoctoforge-bundle/conf/              the rendered local.conf and bblayers.conf
 *   yoctoforge-bundle/docker/            the build environment
 *   yoctoforge-bundle/downloads/         DL_DIR files (--downloads), with SHA256SUMS
 *   yoctoforge-bundle/SHA256SUMS         every other entry's checksum: truncation and tampering show
 */
export const BUNDLE_FORMAT = 1;
export const BUNDLE_ROOT = 'yoctoforge-bundle';
export const CHECKSUMS = 'SHA256SUMS';

export interface BundleInfo {
  format: number;
  tool: string;
  target: string;
  repos: Record<string, { commit: string; url: string; kind: 'bundle' | 'mirror' }>;
  downloads: boolean;
}
