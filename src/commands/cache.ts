import path from 'node:path';
import { existsSync } from 'node:fs';
import type { CacheStatus } from '../cache/status.js';
import { EnvironmentError, InputError } from '../errors.js';
import { loadProject } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { CACHE_ROLE_ENV, HASHSERVE_CREDENTIAL_VARIABLES } from '../manifest/shared-cache.js';
import { logLine, warnLine } from '../util/output.js';
import { formatSize } from '../util/units.js';

export interface CachePublishOptions {
  projectDir: string;
  target?: string;
  json?: boolean;
}

export async function runCachePublish(options: CachePublishOptions): Promise<void> {
  const { describeTarget, parsePublishTarget, publishSstate } = await import('../cache/publish.js');
  const project = await loadProject(options.projectDir);
  const where = options.target ?? project.manifest.cache?.shared?.publish;
  if (!where)
    throw new InputError(
      'no publish target: give one (`yoctoforge cache publish DIR|HOST:PATH|rsync://...|s3://...`) or set cache.shared.publish in layers.yaml',
    );
  const target = parsePublishTarget(where, options.target ? process.cwd() : project.dir);
  const sstateDir = projectPaths(project).sstateDir;
  const started = Date.now();
  const result = await publishSstate(sstateDir, target);
  const seconds = (Date.now() - started) / 1000;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...result, source: sstateDir, seconds }, null, 2)}\n`);
  } else {
    logLine(
      `published ${result.uploaded} files (${formatSize(result.uploadedBytes)}) from ${sstateDir} to ${describeTarget(target)}; ${result.present} already there`,
    );
  }
  if (result.conflicts.length > 0) {
    warnLine(
      `${result.conflicts.length} file(s) on the mirror differ in size from the local ones and were kept (never overwritten): ${result.conflicts.slice(0, 3).join(', ')}${result.conflicts.length > 3 ? ', ...' : ''}`,
    );
  }
}

export interface CacheStatusOptions {
  projectDir: string;
  json?: boolean;
}

export async function runCacheStatus(options: CacheStatusOptions): Promise<CacheStatus> {
  const { cacheStatus } = await import('../cache/status.js');
  const project = await loadProject(options.projectDir);
  const status = await cacheStatus(project);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return status;
  }
  const l = status.local;
  logLine(`role: ${status.role}${process.env[CACHE_ROLE_ENV] ? ` (from ${CACHE_ROLE_ENV})` : ''}`);
  logLine(`downloads: ${formatSize(l.downloads.bytes)} in ${l.downloads.files} files (${l.downloads.path})`);
  logLine(`sstate:    ${formatSize(l.sstate.bytes)} in ${l.sstate.objects} objects (${l.sstate.path})`);
  if (status.mirror) {
    const m = status.mirror;
    const size = m.bytes !== undefined ? `${formatSize(m.bytes)} in ${m.objects} objects` : (m.note ?? 'size unknown');
    logLine(`mirror:    ${m.url ?? m.publish}: ${size}`);
  }
  if (status.hashserve) {
    const h = status.hashserve;
    const state = h.reachable
      ? `reachable${h.equivalences !== undefined ? `, ${h.equivalences} equivalences` : ''}`
      : `NOT reachable (${h.error})`;
    logLine(`hash server: ${h.address} (${h.role === 'read-only' ? 'read through a local server' : 'read and report'}): ${state}`);
  }
  for (const b of status.builds) {
    logLine(
      `last build of ${b.target} (${b.finishedAt}): sstate ${b.hitPercent}% reused (wanted ${b.wanted}, local ${b.local}, mirrors ${b.mirrors}, missed ${b.missed})`,
    );
  }
  if (status.builds.length === 0) logLine('no build report yet (build/*/report.json)');
  return status;
}

export interface CachePruneOptions {
  projectDir: string;
  olderThan: number;
  dryRun?: boolean;
  json?: boolean;
}

export async function runCachePrune(options: CachePruneOptions): Promise<void> {
  const { pruneSstate } = await import('../cache/prune.js');
  const project = await loadProject(options.projectDir);
  const sstateDir = projectPaths(project).sstateDir;
  const result = await pruneSstate(sstateDir, options.olderThan, { dryRun: options.dryRun });
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...result, sstateDir, olderThanDays: options.olderThan }, null, 2)}\n`);
    return;
  }
  const verb = options.dryRun ? 'would remove' : 'removed';
  logLine(
    `${verb} ${result.objects} sstate objects unused for ${options.olderThan} days (${result.files} files, ${formatSize(result.bytes)}) from ${sstateDir}; ${result.kept} kept`,
  );
}

export interface CacheServeOptions {
  projectDir: string;
  port: number;
  dir?: string;
  host?: string;
  engine?: string;
  baseImage?: string;
  stop?: boolean;
}

export async function runCacheServe(options: CacheServeOptions): Promise<void> {
  // each subcommand loads only what it uses (publish runs in CI after every build)
  const { defaultServeHost, startCacheServers, stopCacheServers } = await import('../cache/serve.js');
  const { buildUser, chooseEngine } = await import('../engine/engine.js');
  const { chooseBaseImage, DEFAULT_BUILD_ENV_SERIES, ensureBuildEnvImage } = await import('../engine/image.js');
  const { checkLayers } = await import('../layers/check.js');
  const project = await loadProject(options.projectDir);
  const engine = await chooseEngine(options.engine, project.manifest.build_env?.engine);
  if (engine === 'none')
    throw new EnvironmentError(
      'cache serve runs its servers in containers: use --engine docker or podman (on a real server, see README "Sharing the cache")',
    );
  if (options.stop) {
    const stopped = await stopCacheServers(engine, options.port);
    logLine(stopped.length ? `stopped ${stopped.join(', ')}` : `no cache servers on port ${options.port}`);
    return;
  }
  const dir = path.resolve(options.dir ?? path.join(projectPaths(project).cacheRoot, 'server'));
  // every layer of the project: the core layer tells where bitbake is
  const layers = await checkLayers(project);
  // the BitBake the layer check found (by `bitbake:` or by content), whichever layout
  const bitbakeDir =
    layers.bitbakeDir && existsSync(path.join(layers.bitbakeDir, 'bin', 'bitbake-hashserv')) ? layers.bitbakeDir : undefined;
  if (!bitbakeDir)
    throw new EnvironmentError("no bitbake with bin/bitbake-hashserv among the project's layers: run `yoctoforge sync` first");
  const user = buildUser(project.dir);
  const image = await ensureBuildEnvImage(
    engine,
    {
      baseImage: chooseBaseImage(options.baseImage, project.manifest.build_env?.base_image),
      user,
      series: layers.coreSeries[0] ?? project.manifest.series ?? DEFAULT_BUILD_ENV_SERIES,
    },
    (line) => logLine(line),
  );
  const served = await startCacheServers(
    { engine, image: image.tag, user, bitbakeDir, dir, port: options.port, host: options.host ?? defaultServeHost() },
    (line) => logLine(line),
  );
  const lines = [
    `sstate mirror: ${served.sstateUrl} serves ${served.sstateDir}`,
    `hash server:   ${served.hashserve} (anonymous: read only; login ${served.readWriteUser}: read and report)`,
    '',
    'Every project that uses them adds to its layers.yaml:',
    '  cache:',
    '    shared:',
    `      sstate_url: ${served.sstateUrl}`,
    `      hashserve: ${served.hashserve}`,
    `      publish: ${served.sstateDir}        # or ${options.host ?? defaultServeHost()}:${served.sstateDir} from another machine (rsync over ssh)`,
    '',
    'Developers need nothing else (read-only role). CI runners that publish set these secrets:',
    '  YOCTOFORGE_CACHE_ROLE=read-write',
    `  ${HASHSERVE_CREDENTIAL_VARIABLES[0]}=${served.readWriteUser}`,
    `  ${HASHSERVE_CREDENTIAL_VARIABLES[1]}=<the token in ${served.tokenFile}>`,
    `Stop the servers with \`yoctoforge cache serve --stop --port ${options.port}\` (the data stays in ${dir}).`,
  ];
  for (const line of lines) process.stdout.write(`${line}\n`);
}
