import { existsSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { InterruptedError } from '../errors.js';
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
  /** a bash script run in the environment */
  script: string;
  /** interactive terminal (yoctoforge shell) */
  tty: boolean;
  /** Podman run by a normal user (keep-id); rootful Podman takes --user like Docker */
  rootless?: boolean;
}

const AGENT_SOCKET = '/run/yoctoforge/ssh-agent.sock';

/**
 * The engine's argv for a run. Only what the build needs goes in: the project, layers and
 * caches, an SSH agent for private layers; never --privileged, never the engine's socket.
 */
export function containerArgv(spec: RunSpec, hostEnv: NodeJS.ProcessEnv = process.env): string[] {
  if (spec.engine === 'none') throw new Error('containerArgv: no container for --engine none');
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
  argv.push(spec.envImage ?? 'missing-image', 'bash', '-c', spec.script);
  return argv;
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
      reject: false,
      buffer: false,
      stdio: options.inheritStdio ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      detached: !options.inheritStdio,
    });
  } else {
    const argv = containerArgv({ ...spec, tty: spec.tty && Boolean(options.inheritStdio) });
    child = execa(spec.engine, argv, { reject: false, buffer: false, stdio: options.inheritStdio ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
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
      throw new InterruptedError(`interrupted by ${interruptedBy}; the build ${spec.engine === 'none' ? 'processes were' : `container ${spec.name} was`} stopped`);
    }
    return result.exitCode ?? 1;
  } finally {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
  }
}
