// Which image flash writes when none is named (report/images.ts): no root, no loop devices.
import { buildReportJson } from '../helpers/report-fixture.js';
import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseImage, findBmapBeside, IMAGE_NAME } from '../../src/report/images.js';
import { tempDir } from '../helpers/git-fixtures.js';

const dir = tempDir('yf-image-choice-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const project = (): { root: string; deploy: string } => {
  const root = path.join(dir, `p${n++}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(
    path.join(root, 'layers.yaml'),
    'version: 1\nseries: scarthgap\nrepos:\n  poky:\n    url: https://git.example.invalid/poky\ntargets:\n  pi:\n    image: core-image-test\n    machine: raspberrypi4-64\n',
  );
  const deploy = path.join(root, 'build', 'pi', 'tmp', 'deploy', 'images', 'raspberrypi4-64');
  mkdirSync(deploy, { recursive: true });
  return { root, deploy };
};
const file = (p: string, ageSeconds = 0): string => {
  writeFileSync(p, 'x');
  const t = Date.now() / 1000 - ageSeconds;
  utimesSync(p, t, t);
  return p;
};

describe('image choice', () => {
  it('knows the image names a build deploys', () => {
    for (const name of ['a.wic', 'a.wic.bz2', 'a.rootfs.img.xz', 'a.sdimg.zst', 'a.wic.gz', 'a.wic.lz4', 'a.wic.zip'])
      expect(IMAGE_NAME.test(name), name).toBe(true);
    for (const name of ['a.wic.bmap', 'a.manifest', 'a.tar.bz2']) expect(IMAGE_NAME.test(name), name).toBe(false);
  });

  it('finds the bmap beside an image under its own name or without the compression suffix', async () => {
    const { deploy } = project();
    const image = file(path.join(deploy, 'x.wic.bz2'));
    expect(await findBmapBeside(image)).toBeUndefined();
    const bmap = file(path.join(deploy, 'x.wic.bmap'));
    expect(await findBmapBeside(image)).toBe(bmap);
  });

  it('--image wins; a missing one or a folder is named', async () => {
    const { root, deploy } = project();
    const image = file(path.join(deploy, 'given.wic'));
    expect(await chooseImage({ projectDir: root, image })).toEqual({ image, origin: '--image' });
    await expect(chooseImage({ projectDir: root, image: path.join(root, 'none.wic') })).rejects.toThrow(/does not exist/);
    await expect(chooseImage({ projectDir: root, image: deploy })).rejects.toThrow(/not a regular file/);
  });

  it('from report.json: the image with a bmap beside it first, then the newest', async () => {
    const { root, deploy } = project();
    const old = file(path.join(deploy, 'core-image-test-raspberrypi4-64.rootfs-1.wic.bz2'), 100);
    file(path.join(deploy, 'core-image-test-raspberrypi4-64.rootfs-1.wic.bmap'));
    const newer = file(path.join(deploy, 'core-image-test-raspberrypi4-64.rootfs-2.wic.zst'));
    const artifacts = [old, newer].map((p) => ({ path: path.relative(root, p), type: 'wic', size: 1 }));
    writeFileSync(path.join(root, 'build', 'pi', 'report.json'), buildReportJson({ target: 'pi', artifacts }));
    expect(await chooseImage({ projectDir: root })).toEqual({ image: old, origin: 'report.json of target pi' });
  });

  it('without a report: the stable link of the target in the deploy directory', async () => {
    const { root, deploy } = project();
    const stamped = file(path.join(deploy, 'core-image-test-raspberrypi4-64.rootfs-2.wic.xz'), 50);
    file(path.join(deploy, 'other-image-raspberrypi4-64.rootfs-3.wic.xz'));
    symlinkSync(path.basename(stamped), path.join(deploy, 'core-image-test-raspberrypi4-64.rootfs.wic.xz'));
    expect(await chooseImage({ projectDir: root })).toEqual({ image: stamped, origin: 'deploy directory of target pi' });
  });

  it('says what to do without an image or a project', async () => {
    const { root } = project();
    await expect(chooseImage({ projectDir: root })).rejects.toThrow(
      /no image of target pi in .*: run `yoctoforge build pi` first, or pass --image FILE/,
    );
    const empty = path.join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(chooseImage({ projectDir: empty })).rejects.toThrow(/no layers\.yaml in .*empty: pass --image FILE/);
  });
});
