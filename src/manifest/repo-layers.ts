import type { RepoSpec } from './schema.js';

/** The layer directories of a repository, relative to its root: the repo itself when the manifest names none. */
export function repoLayers(spec: RepoSpec): string[] {
  return spec.layers ?? ['.'];
}
