// cache status and cache prune on real files: sizes, the sstate reuse of the last builds from
// their report.json, an unreachable hash server said so; objects unused for N days removed with
// their .siginfo, a dry run removing nothing.
import { buildReportJson } from '../helpers/report-fixture.js';
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listSstateFiles } from '../../src/cache/objects.js';
import { pruneSstate } from '../../src/cache/prune.js';
import { runCli, tempDir } from '../helpers/git-fixtures.js';
import { makeSstateTree } from '../helpers/sstate-fixtures.js';

const work = tempDir('cache-status');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cache prune', () => {
  it('removes objects (with their companions) no build used for DAYS days, and empty folders', async () => {
    const sstate = path.join(work, 'prune');
    const objects = makeSstateTree(sstate, 10);
    const old = (Date.now() - 40 * 24 * 3600 * 1000) / 1000;
    for (const rel of objects.slice(0, 4)) {
      utimesSync(path.join(sstate, rel), old, old);
      utimesSync(path.join(sstate, `${rel}.siginfo`), old, old);
    }
    // used recently through its siginfo only: kept
    utimesSync(path.join(sstate, objects[3]!), old, old);
    utimesSync(path.join(sstate, `${objects[3]!}.siginfo`), Date.now() / 1000, old);

    const dry = await pruneSstate(sstate, 30, { dryRun: true });
    expect(dry).toMatchObject({ objects: 3, files: 6, kept: 7, dryRun: true });
    expect((await listSstateFiles(sstate)).length).toBe(20);
    const done = await pruneSstate(sstate, 30);
    expect(done).toMatchObject({ objects: 3, files: 6, kept: 7 });
    const left = (await listSstateFiles(sstate)).map((f) => f.rel);
    expect(left.length).toBe(14);
    for (const rel of objects.slice(0, 3)) expect(left).not.toContain(rel);
    // the XX/YY folders of removed objects are gone when empty; BitBake's own files stay
    for (const rel of objects.slice(1, 3)) expect(readdirSync(sstate)).not.toContain(rel.split('/')[0]);
    expect(readdirSync(path.join(sstate, path.dirname(objects[0]!))).sort()).toEqual(expect.arrayContaining(['sstate.lock']));
  });
});

describe('cache status', () => {
  it('reports sizes, the mirror, the last builds and an unreachable hash server', () => {
    const project = path.join(work, 'project');
    const cache = path.join(work, 'cache');
    const mirror = path.join(work, 'mirror');
    mkdirSync(path.join(project, 'build', 'hello'), { recursive: true });
    writeFileSync(
      path.join(project, 'layers.yaml'),
      `repos:\n  poky:\n    url: https://git.example.invalid/poky\ncache:\n  shared:\n    sstate_url: http://127.0.0.1:9/sstate\n    hashserve: 127.0.0.1:9\n    publish: ${mirror}\ntargets:\n  hello:\n    image: yf-hello-native\n`,
    );
    makeSstateTree(path.join(cache, 'sstate-cache'), 6, 1000);
    makeSstateTree(mirror, 4, 1000, 'other');
    mkdirSync(path.join(cache, 'downloads'), { recursive: true });
    writeFileSync(path.join(cache, 'downloads', 'a.tar.gz'), Buffer.alloc(2048));
    const sstate = { wanted: 6, local: 0, mirrors: 5, missed: 1, current: 0, matchPercent: 83, completePercent: 0 };
    writeFileSync(
      path.join(project, 'build', 'hello', 'report.json'),
      buildReportJson({
        target: 'hello',
        finishedAt: '2026-11-23T10:00:00.000Z',
        sstate,
      }),
    );
    const r = runCli(['cache', 'status', '--json'], { cwd: project, env: { ...process.env, YOCTOFORGE_CACHE_DIR: cache } });
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status.role).toBe('read-only');
    expect(status.local.sstate).toMatchObject({ objects: 6, bytes: 6 * (1000 + 64) });
    expect(status.local.downloads).toMatchObject({ files: 1, bytes: 2048 });
    expect(status.mirror).toMatchObject({ objects: 4, bytes: 4 * (1000 + 64) });
    expect(status.hashserve).toMatchObject({ address: '127.0.0.1:9', reachable: false });
    expect(status.builds).toEqual([
      { target: 'hello', finishedAt: '2026-11-23T10:00:00.000Z', wanted: 6, local: 0, mirrors: 5, missed: 1, hitPercent: 83 },
    ]);

    const text = runCli(['cache', 'status'], { cwd: project, env: { ...process.env, YOCTOFORGE_CACHE_DIR: cache } });
    expect(text.stdout).toMatch(/hash server: 127\.0\.0\.1:9 .*NOT reachable/);
    expect(text.stdout).toMatch(/last build of hello .*83% reused \(wanted 6, local 0, mirrors 5, missed 1\)/);
  });

  it('refuses a prune without --older-than, or with a bad number, with exit 2', () => {
    const project = path.join(work, 'project');
    expect(runCli(['cache', 'prune'], { cwd: project }).code).toBe(2);
    expect(runCli(['cache', 'prune', '--older-than', 'soon'], { cwd: project }).code).toBe(2);
  });
});
