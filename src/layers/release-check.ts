import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mapLimit } from '../util/concurrency.js';
import { gitAt, gitFailure, isMissingRef } from './git.js';
import { layerConfFromText } from './layer-conf.js';

export interface RepoAtRef {
  name: string;
  url: string;
  ref: { branch?: string; tag?: string };
  layers: string[];
}

export interface ReleaseCheck {
  /** one line per repository or layer that blocks the move, saying why */
  problems: string[];
  /** the commit each repository's branch or tag points at now */
  heads: Record<string, string>;
}

/**
 * Before a move to `series` writes anything: does every repository have its branch (or tag), and
 * does every layer there declare LAYERSERIES_COMPAT for the series (and the core layer
 * LAYERSERIES_CORENAMES)? Each ref is fetched at depth 1 into a scratch repository, through the
 * user's git (insteadOf mirrors apply); the project's checkouts are not touched.
 */
export async function checkReposForSeries(repos: RepoAtRef[], series: string, interactive: boolean): Promise<ReleaseCheck> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'yoctoforge-upgrade-'));
  const problems: string[] = [];
  const heads: Record<string, string> = {};
  try {
    const results = await mapLimit(repos, 6, async (repo) => checkRepo(repo, series, path.join(scratch, repo.name), interactive));
    for (const [i, r] of results.entries()) {
      problems.push(...r.problems);
      if (r.head) heads[repos[i]!.name] = r.head;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { problems, heads };
}

async function checkRepo(
  repo: RepoAtRef,
  series: string,
  dir: string,
  interactive: boolean,
): Promise<{ problems: string[]; head?: string }> {
  const refName = repo.ref.branch ?? repo.ref.tag ?? 'HEAD';
  const remoteRef = repo.ref.branch ? `refs/heads/${repo.ref.branch}` : repo.ref.tag ? `refs/tags/${repo.ref.tag}` : 'HEAD';
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const git = await gitAt(dir, interactive);
  await git.raw(['init', '--quiet', '--bare']);
  try {
    await git.raw(['fetch', '--quiet', '--depth', '1', '--no-tags', repo.url, remoteRef]);
  } catch (error) {
    const why = gitFailure(error);
    if (isMissingRef(error)) {
      return {
        problems: [
          `repos.${repo.name}: ${repo.url} has no ${repo.ref.tag ? 'tag' : 'branch'} "${refName}", so it has no release for ${series} (drop the repository, or give it a branch that supports ${series})`,
        ],
      };
    }
    return { problems: [`repos.${repo.name}: fetching ${refName} from ${repo.url} failed: ${why}`] };
  }
  const head = await git.revparse(['FETCH_HEAD']);
  const problems: string[] = [];
  for (const sub of repo.layers) {
    const id = sub === '.' ? repo.name : `${repo.name}/${sub}`;
    const file = sub === '.' ? 'conf/layer.conf' : `${sub}/conf/layer.conf`;
    let text: string;
    try {
      text = await git.raw(['show', `FETCH_HEAD:${file}`]);
    } catch {
      problems.push(`${id}: ${refName} of ${repo.url} has no ${file} (the layer is not in this release's branch)`);
      continue;
    }
    const conf = layerConfFromText(text, sub);
    if (conf.coreSeries.length > 0 && !conf.coreSeries.includes(series)) {
      problems.push(`${id}: its ${refName} branch is the core of "${conf.coreSeries.join(' ')}", not ${series}`);
    }
    for (const c of conf.collections) {
      if (!c.seriesCompat.includes(series)) {
        const supported = c.seriesCompat.length > 0 ? `supports only "${c.seriesCompat.join(' ')}"` : 'sets no LAYERSERIES_COMPAT';
        problems.push(`${id} (${c.name}) at ${refName} ${supported}, not ${series}`);
      }
    }
  }
  return { problems, head };
}
