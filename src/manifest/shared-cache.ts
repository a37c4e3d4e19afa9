import { InputError } from '../errors.js';
import { CACHE_ROLES, type CacheRole, type Manifest } from './schema.js';

/** The environment variable that picks the role of this machine (CI's nightly jobs set read-write). */
export const CACHE_ROLE_ENV = 'YOCTOFORGE_CACHE_ROLE';

/**
 * BitBake's own variables for the hash server's login (meta/lib/oe/sstatesig.py reads them).
 * The read-write role passes them from the environment into the build container by name and lets
 * them through BitBake's environment filter; their values never reach a file.
 */
export const HASHSERVE_CREDENTIAL_VARIABLES = ['BB_HASHSERVE_USERNAME', 'BB_HASHSERVE_PASSWORD'] as const;

/** What the conf of one machine says about caches shared beyond it. */
export interface CacheSettings {
  role: CacheRole;
  /** BB_HASHSERVE: `auto` (a local server, its database in PERSISTENT_DIR) or the team's server */
  hashserve: string;
  /** BB_HASHSERVE_UPSTREAM: where the local server reads equivalences it does not know */
  hashserveUpstream?: string;
  /** SSTATE_MIRRORS entries, the shared mirror first */
  sstateMirrors: string[];
  /** environment variables the build passes into the container by name */
  passEnvironment: string[];
}

/** The shared mirror as one SSTATE_MIRRORS entry: every sstate path looked up under the mirror's root. */
export function sstateMirrorEntry(url: string): string {
  return `file://.* ${url}/PATH;downloadfilename=PATH`;
}

/** This machine's role: YOCTOFORGE_CACHE_ROLE, then cache.shared.role, then read-only. */
export function cacheRole(manifest: Manifest, env: NodeJS.ProcessEnv = process.env): CacheRole {
  const fromEnv = env[CACHE_ROLE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!(CACHE_ROLES as readonly string[]).includes(fromEnv))
      throw new InputError(`${CACHE_ROLE_ENV}=${fromEnv}: expected ${CACHE_ROLES.join(' or ')}`);
    return fromEnv as CacheRole;
  }
  return manifest.cache?.shared?.role ?? 'read-only';
}

/**
 * The hash-equivalence and mirror settings per role. read-only (developers): a local hash server
 * that reads the team's server as its upstream and keeps what it learns to itself, and the mirror
 * for reading. read-write (CI): the team's server itself, reporting new equivalences with the
 * login from the environment, and the same mirror (`cache publish` writes to it).
 */
export function cacheSettings(manifest: Manifest, env: NodeJS.ProcessEnv = process.env): CacheSettings {
  const cache = manifest.cache ?? {};
  const shared = cache.shared;
  const role = cacheRole(manifest, env);
  const sstateMirrors = [...(shared?.sstate_url ? [sstateMirrorEntry(shared.sstate_url)] : []), ...(cache.sstate_mirrors ?? [])];
  if (!shared?.hashserve) {
    return { role, hashserve: cache.hashserve ?? 'auto', hashserveUpstream: cache.hashserve_upstream, sstateMirrors, passEnvironment: [] };
  }
  if (role === 'read-only') {
    return { role, hashserve: 'auto', hashserveUpstream: shared.hashserve, sstateMirrors, passEnvironment: [] };
  }
  return {
    role,
    hashserve: shared.hashserve,
    sstateMirrors,
    passEnvironment: HASHSERVE_CREDENTIAL_VARIABLES.filter((name) => env[name] !== undefined && env[name] !== ''),
  };
}
