import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readBuildstats } from '../../src/bitbake/buildstats.js';
import { runCli, tempDir } from '../helpers/git-fixtures.js';

function report(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    version: 1,
    target: 'rpi-docker-image',
    image: 'core-image-base',
    machine: 'raspberrypi4-64',
    distro: 'poky',
    mode: 'build',
    result: 'success',
    startedAt: '2026-11-22T01:00:00.000Z',
    finishedAt: '2026-11-22T03:00:00.000Z',
    durationSeconds: 7200,
    engine: 'docker',
    layers: [
      { repo: 'poky', url: 'https://git.yoctoproject.org/poky', commit: 'a'.repeat(40) },
      { repo: 'meta-raspberrypi', url: 'https://github.com/agherzan/meta-raspberrypi', commit: 'b'.repeat(40) },
    ],
    tasks: { attempted: 4000, succeeded: 4000, failed: 0, total: 4000 },
    sstate: { wanted: 2000, local: 500, mirrors: 0, missed: 1500, current: 0, matchPercent: 25, completePercent: 100 },
    failures: [],
    warnings: 3,
    artifacts: [
      {
        path: 'build/rpi-docker-image/tmp/deploy/images/raspberrypi4-64/core-image-base.wic.bz2',
        type: 'wic.bz2',
        size: 300 * 1024 * 1024,
      },
    ],
    imageSize: 300 * 1024 * 1024,
    packages: [
      { name: 'base-files', arch: 'raspberrypi4_64', version: '3.0.14' },
      { name: 'docker-moby', arch: 'cortexa72', version: '25.0.3' },
      { name: 'ntp', arch: 'cortexa72', version: '4.2.8p17' },
    ],
    slowestTasks: [
      { recipe: 'linux-raspberrypi-6.6.63+git-r0', task: 'do_compile', start: 600, seconds: 1500 },
      { recipe: 'docker-moby-25.0.3+git-r0', task: 'do_compile', start: 900, seconds: 800 },
      { recipe: 'gcc-cross-aarch64-13.3.0-r0', task: 'do_compile', start: 100, seconds: 700, failed: true },
    ],
    log: 'build/rpi-docker-image/logs/x.log',
    ...overrides,
  };
}

describe('yoctoforge report', () => {
  it('reads BitBake buildstats: the slowest tasks, with starts relative to the first task', async () => {
    const tmp = tempDir('yf-bs-');
    const write = (pf: string, task: string, started: number, elapsed: number, status = 'PASSED'): void => {
      mkdirSync(path.join(tmp, 'buildstats', '20261123010000', pf), { recursive: true });
      writeFileSync(
        path.join(tmp, 'buildstats', '20261123010000', pf, task),
        `Event: TaskStarted \nStarted: ${started.toFixed(2)} \nElapsed time: ${elapsed.toFixed(2)} seconds\nStatus: ${status} \nEnded: ${(started + elapsed).toFixed(2)} \n`,
      );
    };
    write('busybox-1.36.1-r0', 'do_compile', 1700000100, 12.5);
    write('busybox-1.36.1-r0', 'do_fetch', 1700000000, 1);
    write('openssl-3.2.3-r0', 'do_compile', 1700000050, 30, 'FAILED');
    mkdirSync(path.join(tmp, 'buildstats', '20261123010000', 'reduced_proc_pressure'), { recursive: true });
    const tasks = await readBuildstats(tmp, new Date(Date.now() - 1000), 2);
    expect(tasks).toEqual([
      { recipe: 'openssl-3.2.3-r0', task: 'do_compile', start: 50, seconds: 30, failed: true },
      { recipe: 'busybox-1.36.1-r0', task: 'do_compile', start: 100, seconds: 12.5 },
    ]);
  });

  it('summarises one report and compares two: packages, image size, layers, build time, sstate reuse', () => {
    const dir = tempDir('yf-report-');
    writeFileSync(path.join(dir, 'old.json'), JSON.stringify(report({})));
    const newer = report({
      durationSeconds: 1800,
      layers: [
        { repo: 'poky', url: 'https://git.yoctoproject.org/poky', commit: 'a'.repeat(40) },
        { repo: 'meta-raspberrypi', url: 'https://github.com/agherzan/meta-raspberrypi', commit: 'c'.repeat(40) },
      ],
      sstate: { wanted: 2000, local: 1900, mirrors: 0, missed: 100, current: 0, matchPercent: 95, completePercent: 100 },
      imageSize: 310 * 1024 * 1024,
      packages: [
        { name: 'base-files', arch: 'raspberrypi4_64', version: '3.0.14' },
        { name: 'docker-moby', arch: 'cortexa72', version: '25.0.5' },
        { name: 'containerd-opencontainers', arch: 'cortexa72', version: '1.7.20' },
      ],
    });
    writeFileSync(path.join(dir, 'new.json'), JSON.stringify(newer));
    const r = runCli(['report', 'old.json', 'new.json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('sstate reused  1900 of 2000 (95%)');
    expect(r.stdout).toContain('image size     310.0 MiB');
    expect(r.stdout).toContain(
      [
        'changes from old.json to new.json:',
        '  packages: 1 added, 1 removed, 1 changed version',
        '    + containerd-opencontainers 1.7.20',
        '    - ntp 4.2.8p17',
        '    ~ docker-moby 25.0.3 -> 25.0.5',
        '  image size: +10.0 MiB',
        '  layers moved:',
        `    meta-raspberrypi: ${'b'.repeat(12)} -> ${'c'.repeat(12)}`,
        '  build time: -1h 30m',
        '  sstate reused: 500 of 2000 (25%) -> 1900 of 2000 (95%)',
      ].join('\n'),
    );
    const bad = runCli(['report', 'missing.json'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^yoctoforge: error: no build report at .*missing\.json: run `yoctoforge build` first$/m);
  });

  const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
  it.skipIf(!chromium)('writes one self-contained HTML page that a real headless browser renders, timeline included', () => {
    const dir = tempDir('yf-html-');
    writeFileSync(path.join(dir, 'old.json'), JSON.stringify(report({})));
    writeFileSync(
      path.join(dir, 'new.json'),
      JSON.stringify(report({ result: 'failed', failures: [{ recipe: 'gcc-cross-aarch64', task: 'do_compile' }] })),
    );
    const r = runCli(['report', 'old.json', 'new.json', '--html', 'report.html'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!git\.yoctoproject|github\.com)/);
    const page = `file://${path.join(dir, 'report.html')}`;
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--hide-scrollbars'];
    const dom = spawnSync(chromium!, [...flags, '--dump-dom', page], { encoding: 'utf8', timeout: 60_000 });
    expect(dom.status, dom.stderr).toBe(0);
    // the browser parsed the SVG timeline: one bar per slow task, the failed one marked
    expect(dom.stdout.match(/<rect /g)).toHaveLength(3);
    expect(dom.stdout).toMatch(/<rect [^>]*class="bar failed"/);
    expect(dom.stdout).toContain('<span class="bad">failed</span>');
    const shot = path.join(dir, 'report.png');
    const s = spawnSync(chromium!, [...flags, `--screenshot=${shot}`, '--window-size=1000,1200', page], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(s.status, s.stderr).toBe(0);
    const png = readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1000, 1200]);
    // something was drawn: the pixels are not all background
    const idat: Buffer[] = [];
    for (let at = 8; at < png.length;) {
      const length = png.readUInt32BE(at);
      if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
      at += 12 + length;
    }
    const pixels = inflateSync(Buffer.concat(idat));
    const ink = pixels.filter((b) => b < 128).length;
    expect(ink).toBeGreaterThan(5000);
  });
});
