import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { BuildUser, EngineName } from '../engine/engine.js';
import { engineCommand } from '../engine/engine.js';
import { EnvironmentError } from '../errors.js';
import { HashservClient } from './hashserv.js';

export interface ServeSpec {
  engine: Exclude<EngineName, 'none'>;
  /** the build-environment image: it has the Python BitBake's server needs */
  image: string;
  user: BuildUser;
  /** the project's bitbake (poky/bitbake or bitbake/ beside openembedded-core), mounted read-only */
  bitbakeDir: string;
  /** holds sstate-mirror/ (served over HTTP, published into) and hashserv/ (database, logins) */
  dir: string;
  /** the hash server's port; the HTTP server listens on the next one */
  port: number;
  /** the name clients reach this machine by */
  host: string;
}

export interface ServeResult {
  sstateDir: string;
  sstateUrl: string;
  hashserve: string;
  /** where the read-write login's token is kept (mode 0600) */
  tokenFile: string;
  readWriteUser: string;
  containers: string[];
}

/** The login the read-write role (CI) uses: may read and report, nothing else. */
export const READ_WRITE_USER = 'ci';
const ADMIN_USER = 'yoctoforge-admin';

export function serverContainerNames(port: number): { hashserv: string; http: string } {
  return { hashserv: `yoctoforge-hashserv-${port}`, http: `yoctoforge-sstate-http-${port + 1}` };
}

/** This machine's first external IPv4 address (what other machines and containers reach), else its hostname. */
export function defaultServeHost(): string {
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    if (/^(lo|docker|br-|veth|cni-|podman|virbr)/.test(name)) continue;
    const v4 = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return os.hostname();
}

/**
 * Starts BitBake's own hash server and a static HTTP server for the mirror, each in a container
 * of the build environment that restarts with the engine. Anonymous clients may only read the
 * hash server; the `ci` login (its token in DIR/hashserv/ci.token) may also report. A running
 * pair on the same ports is replaced, the database and the mirror are kept.
 */
export async function startCacheServers(spec: ServeSpec, onLine: (line: string) => void = () => {}): Promise<ServeResult> {
  const sstateDir = path.join(spec.dir, 'sstate-mirror');
  const hashDir = path.join(spec.dir, 'hashserv');
  await mkdir(sstateDir, { recursive: true });
  await mkdir(hashDir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    // the servers run as the build user, who must own what they write
    for (const d of [spec.dir, sstateDir, hashDir]) await chown(d, spec.user.uid, spec.user.gid);
  }
  const adminToken = await secretFile(path.join(hashDir, 'admin.token'), spec.user);
  const names = serverContainerNames(spec.port);
  await stopCacheServers(spec.engine, spec.port);

  const common = ['run', '--detach', '--restart', 'unless-stopped', '--init', '--user', `${spec.user.uid}:${spec.user.gid}`];
  if (spec.engine === 'podman') common.push('--security-opt', 'label=disable');
  const database = path.join(hashDir, 'hashserv.db');
  await runEngine(
    spec.engine,
    [
      ...common,
      '--name',
      names.hashserv,
      '--publish',
      `${spec.port}:${spec.port}`,
      '--volume',
      `${spec.bitbakeDir}:${spec.bitbakeDir}:ro`,
      '--volume',
      `${hashDir}:${hashDir}`,
      // by name: the admin password is in neither the command line nor `inspect`'s Args
      '--env',
      'HASHSERVER_ADMIN_PASSWORD',
      spec.image,
      'python3',
      path.join(spec.bitbakeDir, 'bin', 'bitbake-hashserv'),
      '--bind',
      `:${spec.port}`,
      '--database',
      database,
      '--anon-perms',
      '@read',
      '--admin-user',
      ADMIN_USER,
      '--log',
      'INFO',
    ],
    { HASHSERVER_ADMIN_PASSWORD: adminToken },
  );
  onLine(`${names.hashserv}: bitbake-hashserv on port ${spec.port}`);
  await runEngine(spec.engine, [
    ...common,
    '--name',
    names.http,
    '--publish',
    `${spec.port + 1}:8000`,
    '--volume',
    `${sstateDir}:${sstateDir}:ro`,
    spec.image,
    'python3',
    '-m',
    'http.server',
    '8000',
    '--directory',
    sstateDir,
  ]);
  onLine(`${names.http}: HTTP server for ${sstateDir} on port ${spec.port + 1}`);

  const local = `localhost:${spec.port}`;
  const client = await waitForHashserv(local, spec.engine, names.hashserv);
  const tokenFile = path.join(hashDir, `${READ_WRITE_USER}.token`);
  try {
    await client.auth(ADMIN_USER, adminToken);
    const saved = await readFile(tokenFile, 'utf8').catch(() => '');
    if (!saved.trim() || !(await loginWorks(local, READ_WRITE_USER, saved.trim()))) {
      let token: string;
      try {
        token = await client.newUser(READ_WRITE_USER, ['@read', '@report']);
      } catch {
        // the login exists but its token file was lost: issue a new token
        token = String((await client.invoke({ 'refresh-token': { username: READ_WRITE_USER } })).token);
      }
      await writeSecret(tokenFile, token, spec.user);
    }
  } finally {
    client.close();
  }
  return {
    sstateDir,
    sstateUrl: `http://${spec.host}:${spec.port + 1}`,
    hashserve: `${spec.host}:${spec.port}`,
    tokenFile,
    readWriteUser: READ_WRITE_USER,
    containers: [names.hashserv, names.http],
  };
}

export async function stopCacheServers(engine: Exclude<EngineName, 'none'>, port: number): Promise<string[]> {
  const stopped: string[] = [];
  for (const name of Object.values(serverContainerNames(port))) {
    const r = await engineCommand(engine, ['rm', '--force', name]);
    if (r.exitCode === 0) stopped.push(name);
  }
  return stopped;
}

async function runEngine(engine: string, argv: string[], extraEnv: Record<string, string> = {}): Promise<void> {
  const r = await execa(engine, argv, { reject: false, stdin: 'ignore', env: { ...process.env, ...extraEnv } });
  if (r.exitCode !== 0) {
    const first =
      String(r.stderr)
        .split('\n')
        .find((l) => l.trim()) ?? '';
    const hint = /address already in use|port is already allocated/i.test(String(r.stderr))
      ? ' (the port is taken: choose another with --port)'
      : '';
    throw new EnvironmentError(`${engine} could not start a cache server: ${first}${hint}`);
  }
}

async function waitForHashserv(address: string, engine: string, container: string): Promise<HashservClient> {
  const deadline = Date.now() + 60_000;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    try {
      const client = await HashservClient.connect(address, 2000);
      await client.ping();
      return client;
    } catch (error) {
      last = error as Error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const logs = await execa(engine, ['logs', '--tail', '10', container], { reject: false, stdin: 'ignore', all: true });
  throw new EnvironmentError(
    `the hash server did not answer on ${address}: ${last?.message ?? 'no answer'}`,
    String(logs.all ?? '')
      .split('\n')
      .filter(Boolean),
  );
}

async function loginWorks(address: string, user: string, token: string): Promise<boolean> {
  const client = await HashservClient.connect(address, 3000);
  try {
    await client.auth(user, token);
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** A random secret kept in a 0600 file of the server's user, created once. */
async function secretFile(file: string, user: BuildUser): Promise<string> {
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing) return existing;
  const token = randomBytes(24).toString('hex');
  await writeSecret(file, token, user);
  return token;
}

async function writeSecret(file: string, value: string, user: BuildUser): Promise<void> {
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  if (process.getuid?.() === 0) await chown(file, user.uid, user.gid);
}
