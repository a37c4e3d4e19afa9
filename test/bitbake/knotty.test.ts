import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFailure, KnottyParser, recipeOfPf, type BitbakeEvent } from '../../src/bitbake/knotty.js';
import { REPO_ROOT } from '../helpers/git-fixtures.js';

const fixture = (name: string): string => readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'bitbake', name), 'utf8');

function parseWhole(text: string): { events: BitbakeEvent[]; parser: KnottyParser } {
  const parser = new KnottyParser();
  const events = [...parser.push(text), ...parser.end()];
  return { events, parser };
}

describe('knotty parser on real BitBake output', () => {
  it('a cold build: parse figures, build configuration, 15 tasks, sstate summary, tasks summary', () => {
    const { events, parser } = parseWhole(fixture('01-build-success.log'));
    expect(events.find((e) => e.kind === 'parse-done')).toEqual({ kind: 'parse-done', recipes: 2934, errors: 0 });
    const config = events.find((e) => e.kind === 'build-config');
    expect(config && config.kind === 'build-config' && config.entries).toMatchObject({
      BB_VERSION: '2.8.1',
      MACHINE: 'raspberrypi4-64',
      meta: 'scarthgap:1d54d1c4736a114e1cecbe85a0306e3814d5ce70',
      'meta-yocto-bsp': 'scarthgap:1d54d1c4736a114e1cecbe85a0306e3814d5ce70',
      'meta-oe': 'scarthgap:bec755063a8b5da65df626f5749496aadaa4f4bb',
      'meta-virtualization': 'scarthgap:9e040ee8dd6025558ea60ac9db60c41bfeddf221',
    });
    const started = events.filter((e) => e.kind === 'task-started');
    expect(started).toHaveLength(15);
    expect(started[1]).toEqual({ kind: 'task-started', index: 2, total: 15, recipe: 'yf-hello-native', task: 'do_fetch', setscene: false });
    expect(parser.progress.sstate).toEqual({ wanted: 6, local: 0, mirrors: 0, missed: 6, current: 0, matchPercent: 0, completePercent: 0 });
    expect(parser.progress.tasksSummary).toEqual({ attempted: 15, succeeded: 15, failed: 0 });
    expect(parser.progress.taskIndex).toBe(15);
    expect(parser.progress.running).toEqual([]);
    expect(parser.progress.warnings).toBe(2);
    expect(parser.progress.failures).toEqual([]);
  });

  it('sstate reuse: 100% match, setscene tasks', () => {
    const { events, parser } = parseWhole(fixture('02-build-sstate-reuse.log'));
    expect(parser.progress.sstate).toEqual({
      wanted: 6,
      local: 6,
      mirrors: 0,
      missed: 0,
      current: 0,
      matchPercent: 100,
      completePercent: 0,
    });
    expect(events.filter((e) => e.kind === 'task-started' && e.setscene).length).toBeGreaterThanOrEqual(5);
    expect(parser.progress.tasksSummary).toEqual({ attempted: 15, succeeded: 15, failed: 0 });
  });

  it('a failed fetch: recipe, task, log path and the last lines', () => {
    const { events, parser } = parseWhole(fixture('03-fetch-failure.log'));
    const failed = events.filter((e) => e.kind === 'task-failed');
    expect(failed).toHaveLength(1);
    const failure = parser.progress.failures[0]!;
    expect(failure.recipe).toBe('quilt-native');
    expect(failure.task).toBe('do_fetch');
    expect(failure.logFile).toBe('/project/build/tmp/work/x86_64-linux/quilt-native/0.67/temp/log.do_fetch.971');
    expect(failure.lastLines.some((l) => l.includes('Bitbake Fetcher Error: NetworkAccess'))).toBe(true);
    expect(parser.progress.tasksSummary).toEqual({ attempted: 2, succeeded: 1, failed: 1 });
    expect(formatFailure(failure).slice(0, 2)).toEqual([
      'quilt-native do_fetch failed',
      'log: /project/build/tmp/work/x86_64-linux/quilt-native/0.67/temp/log.do_fetch.971',
    ]);
  });

  it('a parse error names the recipe file and line', () => {
    const { events } = parseWhole(fixture('06-parse-error.log'));
    expect(events.find((e) => e.kind === 'parse-error')).toEqual({
      kind: 'parse-error',
      file: '/project/layers/meta-yfbroken/recipes-test/broken/broken_1.0.bb',
      line: 5,
      message: expect.stringContaining('Unparsed lines from unclosed function') as unknown as string,
    });
  });

  it('TTY progress redraws (carriage returns) become parse progress, with the same tasks as plain output', () => {
    const { events, parser } = parseWhole(fixture('04-tty-build-sstate.log'));
    const percents = events.filter((e) => e.kind === 'parse-progress').map((e) => (e.kind === 'parse-progress' ? e.percent : -1));
    expect(percents.length).toBeGreaterThan(50);
    expect(percents.slice(0, 3)).toEqual([0, 1, 2]);
    expect(parser.progress.sstate?.matchPercent).toBe(100);
    expect(parser.progress.tasksSummary?.attempted).toBe(15);
  });

  it('the task-graph run reports where the build list went', () => {
    const { events, parser } = parseWhole(fixture('05-dry-run-graph.log'));
    expect(events.filter((e) => e.kind === 'graph-saved')).toEqual([{ kind: 'graph-saved', file: 'pn-buildlist' }]);
    expect(parser.progress.errors).toEqual([]);
  });

  it('gives the same events however the stream is chunked (split lines, split UTF-8)', () => {
    for (const name of ['01-build-success.log', '03-fetch-failure.log', '04-tty-build-sstate.log', '06-parse-error.log']) {
      const bytes = Buffer.from(`${fixture(name)}NOTE: ünïcödé ✓\n`);
      const whole = parseWhole(bytes.toString('utf8')).events;
      let seed = 7;
      const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const parser = new KnottyParser();
      const chunked: BitbakeEvent[] = [];
      for (let i = 0; i < bytes.length;) {
        const n = 1 + Math.floor(random() * 200);
        chunked.push(...parser.push(bytes.subarray(i, i + n)));
        i += n;
      }
      chunked.push(...parser.end());
      expect(chunked, name).toEqual(whole);
    }
  });

  it('keeps memory flat over a long build', () => {
    const lines = fixture('01-build-success.log')
      .split('\n')
      .filter((l) => l.startsWith('NOTE: '));
    const parser = new KnottyParser();
    const chunk = `${lines.join('\n')}\n`;
    for (let i = 0; i < 200; i++) parser.push(chunk);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 2000; i++) parser.push(chunk.replace(/yf-hello/g, `r${i}`));
    globalThis.gc?.();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(32 * 1024 * 1024);
    expect(parser.progress.running.length).toBeLessThanOrEqual(256);
    expect(parser.progress.errors.length).toBeLessThanOrEqual(50);
  });

  it('derives recipe names from PN-PV-PR', () => {
    expect(recipeOfPf('quilt-native-0.67-r0')).toBe('quilt-native');
    expect(recipeOfPf('linux-raspberrypi-6.6.63+git-r0.1')).toBe('linux-raspberrypi');
  });
});
