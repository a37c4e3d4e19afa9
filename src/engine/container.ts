import { existsSync, realpathSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { InputError, InterruptedError } from '../errors.js';
import type { BuildUser, EngineName } from './engine.js';

export interface RunSpec {
  engine: EngineName;
  /** the build-environment image (containers only) */
  envImage?: string;
  user: BuildUser;
  /** a name we choose, so that the container can be stopped by name */
  name: string;
  /** host directories, mounted at the same path: conf files and log paths mean the same inside and out */
  mounts: string[];
  workdir: string;
  env: Record<string, string>;
  /**
   * Variables passed from the caller's environment by name (`--env NAME`): secrets reach the
   * container without appearing in its command line, its inspect output or a file.
   */
  passEnvironment?: string[];
  /** a bash script run in the environment */
  script: string;
  /** interactive terminal (yoctoforge shell) */
  tty: boolean;
  /** Podman run by a normal user (keep-id); rootful Podman takes --user like Docker */
  rootless?: boolean;
}

const AGENT_SOCKET = '/run/yoctoforge/ssh-agent.sock';

/** Where container engines listen: a mount holding one would hand the build the host. */
function engineSockets(hostEnv: NodeJS.ProcessEnv): string[] {
  const runtime = hostEnv.XDG_RUNTIME_DIR;
  const fromUrl = [hostEnv.DOCKER_HOST, hostEnv.CONTAINER_HOST].flatMap((u) =>
    u?.startsWith('unix://') ? [u.slice('unix://'.length)] : [],
  );
  const candidates = [
    '/var/run/docker.sock',
    '/run/docker.sock',
    '/run/podman/podman.sock',
    '/run/containerd/containerd.sock',
    '/run/user',
    ...(runtime ? [`${runtime}/podman`, `${runtime}/docker.sock`] : []),
    ...fromUrl,
  ];
  return candidates.flatMap((p) => {
    try {
      return [realpathSync(p)];
    } catch {
      return [];
    }
  });
}

/** Refuses a mount that holds an engine's socket (a cache at /var/run, /run or $XDG_RUNTIME_DIR). */
export function checkMountsHoldNoEngineSocket(mounts: string[], hostEnv: NodeJS.ProcessEnv = process.env): void {
  const sockets = engineSockets(hostEnv);
  for (const mount of mounts) {
    let real: string;
    try {
      real = realpathSync(mount);
    } catch {
      real = mount;
    }
    const socket = sockets.find((s) => s === real || s.startsWith(`${real === '/' ? '' : real}/`));
    if (socket)
      throw new InputError(
        `${mount} holds the container engine's socket (${socket}); it is never mounted into the build container: choose another directory`,
      );
  }
}

/**
 * Passed from the caller into the build environment without being asked for: proxies (both
 * spellings, as tools read either), GIT_PROXY_COMMAND, and BitBake's parallelism. poky's
 * oe-init-build-env lets each of these through to BitBake (BB_ENV_PASSTHROUGH_ADDITIONS).
 */
export const DEFAULT_PASSTHROUGH = [
  'http_proxy',
  'https_proxy',
  'ftp_proxy',
  'all_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'FTP_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  'GIT_PROXY_COMMAND',
  'BB_NUMBER_THREADS',
  'PARALLEL_MAKE',
] as const;

/**
 * The variables the build environment gets, and nothing else: the defaults above when the caller
 * has them, and the manifest's `env:` (a name with null passes the caller's value; a name with a
 * value sets it unless the caller sets that name). The manifest's names are added to
 * BB_ENV_PASSTHROUGH_ADDITIONS so that BitBake, which scrubs its environment, keeps them too.
 */
export function buildEnvironment(
  manifestEnv: Record<string, string | number | null> = {},
  hostEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of DEFAULT_PASSTHROUGH) {
    const value = hostEnv[name];
    if (value !== undefined) env[name] = value;
  }
  const names = Object.keys(manifestEnv);
  for (const name of names) {
    const value = hostEnv[name] ?? manifestEnv[name];
    if (value !== undefined && value !== null) env[name] = String(value);
  }
  if (names.length > 0) env.BB_ENV_PASSTHROUGH_ADDITIONS = names.join(' ');
  return env;
}

/**
 * The engine's argv for a run. Only what the build needs goes in: the project, layers and
 * caches, an SSH agent for private layers; never --privileged, never the engine's socket.
 */
export function containerArgv(spec: RunSpec, hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  if (spec.engine === 'none') throw new Error('containerArgv: no container for --engine none');
  checkMountsHoldNoEngineSocket(spec.mounts, hostEnv);
  const argv = ['run', '--rm', '--init', '--name', spec.name, '--workdir', spec.workdir];
  if (spec.engine === 'podman') argv.push('--security-opt', 'label=disable');
  if (spec.engine === 'podman' && spec.rootless) {
    // Rootless Podman: the host user's uid is the same uid inside, so files stay the user's.
    argv.push('--userns=keep-id');
  } else {
    argv.push('--user', `${spec.user.uid}:${spec.user.gid}`);
  }
  argv.push(spec.tty ? '-it' : '-i');
  for (const dir of uniqueMounts(spec.mounts)) argv.push('--volume', `${dir}:${dir}`);
  const agent = hostEnv.SSH_AUTH_SOCK;
  if (agent && existsSync(agent)) argv.push('--volume', `${agent}:${AGENT_SOCKET}`, '--env', `SSH_AUTH_SOCK=${AGENT_SOCKET}`);
  for (const [key, value] of Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b))) argv.push('--env', `${key}=${value}`);
  for (const name of spec.passEnvironment ?? []) argv.push('--env', name);
  argv.push(spec.envImage ?? 'missing-image', 'bash', '-c', spec.script);
  return argv;
}

/** spawn's uid/gid when yoctoforge runs as root and the build user is not root. */
function hostUser(user: BuildUser): { uid?: number; gid?: number } {
  return process.getuid?.() === 0 && user.uid !== 0 ? { uid: user.uid, gid: user.gid } : {};
}

/** Drops mounts inside other mounts, keeps order. */
function uniqueMounts(dirs: string[]): string[] {
  const sorted = [...new Set(dirs)];
  return sorted.filter((d) => !sorted.some((other) => other !== d && d.startsWith(`${other}/`)));
}

export interface RunOptions {
  /** raw output (stdout and stderr interleaved) as it comes */
  onOutput?: (chunk: Buffer) => void;
  /** inherit the terminal instead (interactive shell) */
  inheritStdio?: boolean;
}

/**
 * Runs the script in the environment and returns its exit code. Ctrl-C or SIGTERM stops the
 * container (or the host process group) and waits for it, then throws InterruptedError: no
 * container is left running and no BitBake server outlives the command.
 */
export async function runInEnvironment(spec: RunSpec, options: RunOptions = {}): Promise<number> {
  let child: ResultPromise;
  if (spec.engine === 'none') {
    child = execa('bash', ['-c', spec.script], {
      cwd: spec.workdir,
      env: spec.env,
      // As root, BitBake runs as the build user here too, as it does in a container.
      ...hostUser(spec.user),
      reject: false,
      buffer: false,
      stdio: options.inheritStdio ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      detached: !options.inheritStdio,
    });
  } else {
    const argv = containerArgv({ ...spec, tty: spec.tty && Boolean(options.inheritStdio) });
    child = execa(spec.engine, argv, {
      reject: false,
      buffer: false,
      stdio: options.inheritStdio ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
  }
  if (!options.inheritStdio) {
    child.stdout?.on('data', (c: Buffer) => options.onOutput?.(c));
    child.stderr?.on('data', (c: Buffer) => options.onOutput?.(c));
  }

  let interruptedBy: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    if (interruptedBy) return;
    interruptedBy = signal;
    if (spec.engine === 'none') {
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          child.kill('SIGTERM');
        }
      }
    } else {
      // BitBake gets SIGTERM first and time to stop its server; the engine kills what is left.
      void execa(spec.engine, ['stop', '--time', '20', spec.name], { reject: false, stdin: 'ignore' });
    }
  };
  const onInt = (): void => stop('SIGINT');
  const onTerm = (): void => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const result = await child;
    if (interruptedBy) {
      if (spec.engine !== 'none') await execa(spec.engine, ['rm', '--force', spec.name], { reject: false, stdin: 'ignore' });
      throw new InterruptedError(
        `interrupted by ${interruptedBy}; the build ${spec.engine === 'none' ? 'processes were' : `container ${spec.name} was`} stopped`,
      );
    }
    return result.exitCode ?? 1;
  } finally {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
  }
}
