// Publishing sstate objects to an S3-compatible bucket, for real: s3rver (an S3 server in Node,
// files on disk, AWS signatures checked) on loopback, our CLI with credentials from the
// environment; incremental, never overwriting, and a publish killed halfway leaving only whole
// objects with their .siginfo.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCliAsync, tempDir } from '../helpers/git-fixtures.js';
import { makeSstateTree } from '../helpers/sstate-fixtures.js';

const work = tempDir('s3');
const BUCKET = 'team-sstate';
let server: S3rver;
let endpoint = '';
// s3rver's own fixed credentials: its signature check refuses any other
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let client: S3Client;
// the SDK's note that its 2027 releases need Node 22 (the CLI silences it the same way)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

beforeAll(async () => {
  server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(work, 'server'),
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const address = (await server.run()) as AddressInfo;
  endpoint = `http://127.0.0.1:${address.port}`;
  client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function project(name: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'layers.yaml'),
    'repos:\n  poky:\n    url: https://git.example.invalid/poky\ntargets:\n  t:\n    image: core-image-base\n',
  );
  return dir;
}

function s3Env(sstate: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    YOCTOFORGE_SSTATE_DIR: sstate,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

async function bucketKeys(prefix: string): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.set(o.Key!, o.Size!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function objectBytes(key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Every key under the prefix is byte for byte the local file, and every object has its .siginfo. */
async function expectWholeCopies(prefix: string, local: string): Promise<number> {
  const keys = await bucketKeys(prefix);
  for (const key of keys.keys()) {
    const rel = key.slice(prefix.length + 1);
    expect((await objectBytes(key)).equals(readFileSync(path.join(local, rel))), rel).toBe(true);
    if (key.endsWith('.tar.zst')) expect(keys.has(`${key}.siginfo`), `${rel} without its .siginfo`).toBe(true);
  }
  return keys.size;
}

describe('publish to an S3-compatible bucket', () => {
  it('uploads objects and .siginfo files only, then only what is new, and never overwrites', async () => {
    const local = path.join(work, 'local');
    const objects = makeSstateTree(local, 30);
    const dir = project('incremental');
    let r = await runCliAsync(['cache', 'publish', `s3://${BUCKET}/scarthgap/`, '--json'], { cwd: dir, env: s3Env(local) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ target: `s3://${BUCKET}/scarthgap`, uploaded: 60, present: 0, conflicts: [] });
    // BitBake's half-written temp file and the lock stayed home
    expect(await expectWholeCopies('scarthgap', local)).toBe(60);

    makeSstateTree(local, 35); // the same 30 and 5 more
    const rebuilt = objects[1]!;
    writeFileSync(path.join(local, rebuilt), 'different content');
    r = await runCliAsync(['cache', 'publish', `s3://${BUCKET}/scarthgap`, '--json'], { cwd: dir, env: s3Env(local) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ uploaded: 10, present: 59, conflicts: [rebuilt] });
    expect(r.stderr).toMatch(/1 file\(s\) on the mirror differ/);
    expect((await objectBytes(`scarthgap/${rebuilt}`)).length).toBe(4096);
  });

  // A PUT is atomic on S3 and the servers modelled on it: a publisher killed outright mid-upload
  // leaves nothing of that object. s3rver writes the body straight to its final file, so here the
  // publisher is stopped (SIGTERM, as CI cancels a job): it must finish the uploads under way,
  // start no other and exit 130, leaving whole objects, each with its .siginfo.
  it('stopped halfway, leaves only whole objects with their .siginfo, exits 130, and the next publish completes', async () => {
    const local = path.join(work, 'stop-local');
    makeSstateTree(local, 120, 1 << 20, 'stop');
    const dir = project('stop');
    const child = spawn(process.execPath, [CLI, 'cache', 'publish', `s3://${BUCKET}/stopped`], {
      cwd: dir,
      env: { ...s3Env(local), CI: 'true' },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await bucketKeys('stopped')).size < 20) await new Promise((res) => setTimeout(res, 20));
    child.kill('SIGTERM');
    const code = await new Promise((res) => child.once('exit', res));
    expect(code).toBe(130);
    const partial = await expectWholeCopies('stopped', local);
    expect(partial).toBeGreaterThanOrEqual(20);
    expect(partial).toBeLessThan(240);
    const r = await runCliAsync(['cache', 'publish', `s3://${BUCKET}/stopped`, '--json'], { cwd: dir, env: s3Env(local) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ uploaded: 240 - partial, present: partial, conflicts: [] });
    expect(await expectWholeCopies('stopped', local)).toBe(240);
  });

  it('cache status counts the objects in the bucket cache.shared.publish names', async () => {
    const local = path.join(work, 'status-local');
    makeSstateTree(local, 7, 4096, 'status');
    const dir = project('status');
    writeFileSync(
      path.join(dir, 'layers.yaml'),
      `${readFileSync(path.join(dir, 'layers.yaml'), 'utf8')}cache:\n  shared:\n    sstate_url: https://sstate.example.com\n    publish: s3://${BUCKET}/status\n`,
    );
    let r = await runCliAsync(['cache', 'publish'], { cwd: dir, env: s3Env(local) });
    expect(r.code, r.stderr).toBe(0);
    r = await runCliAsync(['cache', 'status', '--json'], { cwd: dir, env: s3Env(local) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).mirror).toMatchObject({ objects: 7, bytes: 7 * (4096 + 256) });
    // without credentials: a note, not a failure of the whole status
    const env = s3Env(local);
    delete env.AWS_ACCESS_KEY_ID;
    r = await runCliAsync(['cache', 'status', '--json'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).mirror.note).toMatch(/AWS_ACCESS_KEY_ID/);
  });

  it('takes credentials from the environment only, and says so (exit 3) when they are missing', async () => {
    const local = path.join(work, 'nocred-local');
    makeSstateTree(local, 1);
    const env = s3Env(local);
    delete env.AWS_SECRET_ACCESS_KEY;
    const r = await runCliAsync(['cache', 'publish', `s3://${BUCKET}/x`], { cwd: project('nocred'), env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports a bucket that does not exist or refuses the login as one line, exit 3', async () => {
    const local = path.join(work, 'bad-local');
    makeSstateTree(local, 1);
    let r = await runCliAsync(['cache', 'publish', 's3://no-such-bucket/x'], { cwd: project('nobucket'), env: s3Env(local) });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/listing s3:\/\/no-such-bucket\/x failed: NoSuchBucket/);
    r = await runCliAsync(['cache', 'publish', `s3://${BUCKET}/x`], {
      cwd: project('badlogin'),
      env: { ...s3Env(local), AWS_ACCESS_KEY_ID: 'NOBODY' },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/listing s3:\/\/team-sstate\/x failed: InvalidAccessKeyId \(HTTP 403\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
