// kas against yoctoforge on the corpus of real kas files (test/kas/corpus, sources in its
// README). Needs YOCTOFORGE_KAS_SRC (a git repository of kas with the tag 5.4) and
// YOCTOFORGE_BITBAKE_SRC (a git repository of BitBake or poky); YOCTOFORGE_KAS_MIRRORS (a folder
// of OWNER+NAME/repo git mirrors) answers the real repositories, others are generated.
// YOCTOFORGE_KAS_CASE=SUBSTRING[,SUBSTRING...] runs only the matching cases; the verdicts are written to
// $YOCTOFORGE_KAS_REPORT (JSON) when it is set.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Build, corpusCases, judge, notCarriedList, runCase, toolsFromEnv, type Tools, type Verdict } from './differential/harness.js';

const work = path.join(os.tmpdir(), `yf-kas-diff-${process.pid}`);
const tools: Tools | string = toolsFromEnv(work);
const filter = process.env.YOCTOFORGE_KAS_CASE;
const cases = corpusCases().filter((c) => !filter || filter.split(',').some((part) => c.name.includes(part)));

/**
 * Cases where yoctoforge does not (yet) build what kas builds, each with the reason. A case
 * listed here that starts to agree with kas fails the test too, so the list stays true.
 */
const KNOWN = JSON.parse(readFileSync(path.join(import.meta.dirname, 'differential', 'known-differences.json'), 'utf8')) as Record<
  string,
  string
>;

const AGREE = new Set(['same', 'both refuse']);

describe('kas differential: the judge holds the import to its "not carried over" list', () => {
  const build = (localConf: Build['localConf'], notCarried?: string[]): Build => ({
    commits: { poky: 'a'.repeat(40) },
    layers: ['poky/meta'],
    localConf,
    bblayersConf: {},
    log: '',
    notCarried,
  });
  const kas = { ok: true as const, build: build({ MACHINE: { value: 'qemuarm64', weak: true } }) };

  it('a difference after "every kas setting was carried over" is unreported', () => {
    const notCarried = notCarriedList('wrote layers.yaml from 1 kas file(s): 1 repos, target x\nevery kas setting was carried over\n');
    expect(notCarried).toEqual([]);
    const verdict = judge(kas, { ok: true, build: build({ MACHINE: { value: 'qemux86-64', weak: true } }, notCarried) });
    expect(verdict).toMatchObject({ verdict: 'differs', unreported: [expect.stringMatching(/^local\.conf MACHINE:/)] });
  });

  it('a difference the list names is reported; a listed item without a difference is a note', () => {
    const notCarried = notCarriedList(
      'wrote layers.yaml\nnot carried over from kas (2):\n  - local_conf_header.x: MACHINE ?= "qemux86-64" is dropped\n  - signed: true: yoctoforge verifies no signatures\n',
    );
    expect(notCarried).toHaveLength(2);
    expect(judge(kas, { ok: true, build: build({ MACHINE: { value: 'qemux86-64', weak: true } }, notCarried) })).toMatchObject({
      verdict: 'differs',
      unreported: [],
    });
    const same = judge(kas, { ok: true, build: build({ MACHINE: { value: 'qemuarm64', weak: true } }, notCarried) });
    expect(same).toMatchObject({ verdict: 'same', notes: [expect.stringMatching(/MACHINE/), expect.stringMatching(/signed/)] });
  });
});

if (typeof tools === 'string') {
  describe('kas differential', () => {
    it.skip(`skipped: ${tools}`, () => {});
  });
  console.log(`kas differential: skipped (${tools})`);
} else {
  const verdicts: Record<string, Verdict & { generated: string[] }> = {};
  afterAll(() => {
    const agree = Object.values(verdicts).filter((v) => AGREE.has(v.verdict)).length;
    console.log(`kas differential: ${agree} of ${Object.keys(verdicts).length} cases build what kas builds (or are refused by both)`);
    if (process.env.YOCTOFORGE_KAS_REPORT) writeFileSync(process.env.YOCTOFORGE_KAS_REPORT, `${JSON.stringify(verdicts, null, 1)}\n`);
    if (!process.env.YOCTOFORGE_KEEP) rmSync(work, { recursive: true, force: true });
  });
  describe('kas differential: yoctoforge builds what kas 5.4 builds', () => {
    cases.forEach((c, i) => {
      it(
        c.name,
        () => {
          const dir = path.join(work, String(i));
          mkdirSync(dir, { recursive: true });
          const verdict = runCase(c, tools, dir);
          verdicts[c.name] = verdict;
          const agrees = AGREE.has(verdict.verdict);
          // the "not carried over" list must name every difference, also for a known one: an import
          // that says "every kas setting was carried over" and builds something else fails here
          if (verdict.verdict === 'differs') expect(verdict.unreported, `${c.name}: differences the import did not list`).toEqual([]);
          if (KNOWN[c.name] !== undefined) {
            expect(agrees, `${c.name} is listed in known-differences.json but now agrees with kas: remove it`).toBe(false);
          } else {
            expect(verdict).toMatchObject({ verdict: expect.stringMatching(/^(same|both refuse)$/) });
          }
        },
        600_000,
      );
    });
  });
}
