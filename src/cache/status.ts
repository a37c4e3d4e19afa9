import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { readReport } from '../bitbake/report.js';
import { UserError } from '../errors.js';
import type { Project } from '../manifest/load.js';
import { projectPaths } from '../manifest/paths.js';
import { cacheSettings, HASHSERVE_CREDENTIAL_VARIABLES } from '../manifest/shared-cache.js';
import type { CacheRole } from '../manifest/schema.js';
import { HashservClient } from './hashserv.js';
import { isSstateFile, listSstateFiles, tally } from './objects.js';
import { describeTarget, parsePublishTarget, RSYNC_FILTER } from './publish.js';

export interface CacheStatus {
  role: CacheRole;
  local: {
    downloads: { path: string; bytes: number; files: number };
    sstate: { path: string; bytes: number; objects: number };
  };
  mirror?: { url?: string; publish?: string; bytes?: number; objects?: number; note?: string };
  hashserve?: {
    address: string;
    role: CacheRole;
    reachable: boolean;
    error?: string;
    equivalences?: number;
    requests?: Record<string, unknown>;
  };
  /** the sstate summary of the last build of each target: how much came from the local cache and the mirror */
  builds: Array<{ target: string; finishedAt: string; wanted: number; local: number; mirrors: number; missed: number; hitPercent: number }>;
}

export async function cacheStatus(project: Project, env: NodeJS.ProcessEnv = process.env): Promise<CacheStatus> {
  const paths = projectPaths(project, env);
  const settings = cacheSettings(project.manifest, env);
  const shared = project.manifest.cache?.shared;
  const [downloads, sstateFiles, builds] = await Promise.all([
    treeSize(paths.dlDir),
    listSstateFiles(paths.sstateDir),
    lastBuilds(paths.buildRoot),
  ]);
  const sstate = tally(sstateFiles);
  const status: CacheStatus = {
    role: settings.role,
    local: {
      downloads: { path: paths.dlDir, ...downloads },
      sstate: { path: paths.sstateDir, bytes: sstate.bytes, objects: sstate.objects },
    },
    builds,
  };
  if (shared?.sstate_url || shared?.publish)
    status.mirror = {
      url: shared.sstate_url,
      publish: shared.publish,
      ...(await mirrorSize(shared.publish ?? shared.sstate_url!, project.dir)),
    };
  const address = shared?.hashserve ?? (settings.hashserve !== 'auto' ? settings.hashserve : settings.hashserveUpstream);
  if (address) status.hashserve = { address, role: settings.role, ...(await probeHashserv(address, env)) };
  return status;
}

async function treeSize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  async function walk(d: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries.map(async (e) => {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) {
          bytes += (await lstat(p)).size;
          files++;
        }
      }),
    );
  }
  await walk(dir);
  return { bytes, files };
}

/** The mirror's size where it can be listed: a directory, an rsync target, a bucket; not an HTTP mirror. */
async function mirrorSize(where: string, projectDir: string): Promise<{ bytes?: number; objects?: number; note?: string }> {
  if (/^https?:\/\//.test(where)) return { note: 'an HTTP mirror cannot be listed; set cache.shared.publish to measure it' };
  const target = parsePublishTarget(where.replace(/^file:\/\//, ''), projectDir);
  if (target.kind === 'directory') {
    const t = tally(await listSstateFiles(target.path));
    return { bytes: t.bytes, objects: t.objects };
  }
  if (target.kind === 'rsync') {
    const r = await execa('rsync', ['--recursive', '--list-only', ...RSYNC_FILTER, target.destination], {
      reject: false,
      stdin: 'ignore',
      env: { ...process.env, RSYNC_RSH: process.env.RSYNC_RSH ?? 'ssh -o BatchMode=yes' },
    });
    if (r.exitCode !== 0) return { note: `rsync --list-only ${describeTarget(target)} failed: ${String(r.stderr).split('\n')[0]}` };
    let bytes = 0;
    let objects = 0;
    for (const line of String(r.stdout).split('\n')) {
      const m = /^-\S+\s+([\d,.]+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
      if (!m) continue;
      bytes += Number(m[1]!.replace(/[,.]/g, ''));
      if (/\.(tar\.zst|tgz)$/.test(m[2]!)) objects++;
    }
    return { bytes, objects };
  }
  // loaded here: the S3 client is most of a megabyte the other mirrors do without
  const { listBucket, s3ClientFromEnvironment } = await import('./s3.js');
  try {
    const client = s3ClientFromEnvironment();
    try {
      const keys = await listBucket(client, target);
      const files = [...keys]
        .filter(([key]) => isSstateFile(path.posix.basename(key)))
        .map(([rel, size]) => ({ rel, size, lastUsedMs: 0 }));
      const t = tally(files);
      return { bytes: t.bytes, objects: t.objects };
    } finally {
      client.destroy();
    }
  } catch (error) {
    if (error instanceof UserError) return { note: error.message };
    throw error;
  }
}

/** Alive, and with the read-write role's login (which may read the tables) how many equivalences it holds. */
async function probeHashserv(
  address: string,
  env: NodeJS.ProcessEnv,
): Promise<{ reachable: boolean; error?: string; equivalences?: number; requests?: Record<string, unknown> }> {
  if (/^wss?:\/\//.test(address))
    return { reachable: false, error: 'websocket servers are not probed (BitBake checks them when a build starts)' };
  let client: HashservClient | undefined;
  try {
    client = await HashservClient.connect(address, 3000);
    await client.ping();
    const out: { reachable: boolean; equivalences?: number; requests?: Record<string, unknown> } = { reachable: true };
    out.requests = await client.stats().catch(() => undefined);
    const [user, password] = HASHSERVE_CREDENTIAL_VARIABLES.map((name) => env[name]);
    if (user && password) {
      await client.auth(user, password);
      const rows = await client.tableRows().catch(() => undefined);
      if (rows)
        out.equivalences = rows.unihashes_v3 ?? rows.unihashes_v2 ?? Object.entries(rows).find(([t]) => t.startsWith('unihashes'))?.[1];
    }
    return out;
  } catch (error) {
    return { reachable: false, error: (error as Error).message };
  } finally {
    client?.close();
  }
}

async function lastBuilds(buildRoot: string): Promise<CacheStatus['builds']> {
  const out: CacheStatus['builds'] = [];
  for (const target of (await readdir(buildRoot).catch(() => [] as string[])).sort()) {
    const report = await readReport(path.join(buildRoot, target, 'report.json')).catch(() => undefined);
    const s = report?.sstate;
    if (!report || !s || report.mode !== 'build') continue;
    out.push({
      target: report.target,
      finishedAt: report.finishedAt,
      wanted: s.wanted,
      local: s.local,
      mirrors: s.mirrors,
      missed: s.missed,
      hitPercent: s.wanted ? Math.round(((s.local + s.mirrors) / s.wanted) * 100) : 0,
    });
  }
  return out;
}
