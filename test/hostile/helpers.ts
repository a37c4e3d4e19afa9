// Shared by the hostile-input suite: a small real project (the fixture poky only), and a way to
// forge a bundle the way an attacker would, with checksums that match whatever was changed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeProject, runCli, tempDir, type FixtureWorld } from '../helpers/git-fixtures.js';

export function pokyManifest(world: FixtureWorld, extra = '', repos = ''): string {
  return `version: 1
series: scarthgap
repos:
  poky:
    url: ${world.upstreams.poky!.url}
    layers: [meta, meta-poky]
${repos}${extra}targets:
  t:
    image: core-image-base
    machine: qemux86-64
`;
}

/** A synced project of the fixture poky, ready to bundle. */
export function syncedProject(
  world: FixtureWorld,
  extra = '',
  repos = '',
  syncArgs: string[] = [],
): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = makeProject(world, pokyManifest(world, extra, repos));
  const env = { ...world.env, YOCTOFORGE_CACHE_DIR: path.join(world.root, 'cache') };
  const r = runCli(['sync', ...syncArgs], { cwd: dir, env });
  if (r.code !== 0) throw new Error(`sync failed: ${r.stderr}`);
  return { dir, env };
}

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name), `${prefix}${e.name}/`) : e.isFile() ? [`${prefix}${e.name}`] : []));
}

/**
 * Unpacks `good`, lets `mutate` change the tree under yoctoforge-bundle/, recomputes its
 * SHA256SUMS (an attacker controls those too) and packs it again.
 */
export function forgeBundle(good: string, mutate: (root: string) => void): string {
  const work = tempDir('forge');
  execFileSync('tar', ['-xzf', good, '-C', work]);
  const root = path.join(work, 'yoctoforge-bundle');
  mutate(root);
  const sums = files(root)
    .filter((f) => f !== 'SHA256SUMS')
    .map(
      (f) =>
        `${createHash('sha256')
          .update(readFileSync(path.join(root, f)))
          .digest('hex')}  ${f}`,
    );
  writeFileSync(path.join(root, 'SHA256SUMS'), `${sums.join('\n')}\n`);
  const out = path.join(work, 'forged.tar.gz');
  execFileSync('tar', ['-czf', out, '-C', work, 'yoctoforge-bundle']);
  return out;
}

/** Every file under dir with its mode and content digest: "nothing here changed" in one value. */
export function snapshot(dir: string): string {
  return files(dir)
    .map(
      (f) =>
        `${f} ${statSync(path.join(dir, f)).mode.toString(8)} ${createHash('sha256')
          .update(readFileSync(path.join(dir, f)))
          .digest('hex')}`,
    )
    .join('\n');
}
