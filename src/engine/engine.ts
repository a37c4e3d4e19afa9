import { statSync } from 'node:fs';
import { execa } from 'execa';
import { EnvironmentError, InputError } from '../errors.js';
import { isOnPath } from '../util/path.js';

export type EngineName = 'docker' | 'podman' | 'none';
export const ENGINES: readonly EngineName[] = ['docker', 'podman', 'none'];

/** The ids BitBake runs as: never root (BitBake refuses it). */
export interface BuildUser {
  uid: number;
  gid: number;
  /** why these ids, when they are not the caller's own */
  note?: string;
}

/**
 * The caller's ids; when the caller is root (CI containers, this kind of machine) the owner of the
 * project directory, or 1000:1000 when root owns that too.
 */
export function buildUser(projectDir: string): BuildUser {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  if (uid !== 0) return { uid, gid };
  const owner = statSync(projectDir);
  if (owner.uid !== 0) {
    return {
      uid: owner.uid,
      gid: owner.gid,
      note: `running BitBake as ${owner.uid}:${owner.gid}, the owner of the project (BitBake refuses to run as root)`,
    };
  }
  return {
    uid: 1000,
    gid: 1000,
    note: 'running BitBake as 1000:1000 (BitBake refuses to run as root; the build directory and caches are given to that user)',
  };
}

/** --engine, then the manifest, then YOCTOFORGE_ENGINE, then the first of docker/podman on PATH. */
export async function chooseEngine(requested: string | undefined, fromManifest: EngineName | undefined): Promise<EngineName> {
  const explicit = requested ?? fromManifest ?? process.env.YOCTOFORGE_ENGINE;
  if (explicit) {
    // Name the setting the value came from: a bad YOCTOFORGE_ENGINE is not an --engine flag.
    const source =
      requested !== undefined
        ? `--engine ${explicit}`
        : fromManifest !== undefined
          ? `build_env.engine: ${explicit}`
          : `YOCTOFORGE_ENGINE=${explicit}`;
    if (!ENGINES.includes(explicit as EngineName)) throw new InputError(`${source}: expected docker, podman or none`);
    if (explicit !== 'none' && !isOnPath(explicit)) {
      throw new EnvironmentError(
        `${explicit} is not installed (or not on PATH); install it, pick another --engine, or use --engine none to build on this host`,
      );
    }
    return explicit as EngineName;
  }
  for (const candidate of ['docker', 'podman'] as const) if (isOnPath(candidate)) return candidate;
  throw new EnvironmentError('no container engine found: install Docker or Podman, or use --engine none to build on this host');
}

/** Runs an engine command, turning "cannot reach the engine" into one clear line (exit 3). */
export async function engineCommand(
  engine: Exclude<EngineName, 'none'>,
  args: string[],
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = await execa(engine, args, { reject: false, all: false, stdin: 'ignore' });
  const stderr = String(result.stderr ?? '');
  if (
    result.exitCode !== 0 &&
    /Cannot connect to the Docker daemon|Is the docker daemon running|connect: no such file or directory|permission denied while trying to connect/i.test(
      stderr,
    )
  ) {
    throw new EnvironmentError(`cannot reach the ${engine} engine: ${stderr.split('\n')[0]}`);
  }
  return { stdout: String(result.stdout ?? ''), stderr, exitCode: result.exitCode ?? 1 };
}
