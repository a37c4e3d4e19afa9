// flash as a command on regular files: the cases of the flash issues that need no loop device.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSparseImage } from '../helpers/disk-fixtures.js';
import { runCli, tempDir } from '../helpers/git-fixtures.js';

const dir = tempDir('yf-flash-cli-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = path.join(dir, 'out.img');
const flash = (args: string[], env: NodeJS.ProcessEnv = process.env): ReturnType<typeof runCli> => {
  rmSync(out, { force: true });
  return runCli(['flash', out, '--force', '--yes', ...args], { env });
};

describe('small compressed images are written whole (the decompressor may end before the writer reads)', () => {
  // 128 KiB of random data: the whole output fits in the pipe, so the decompressor exits first
  const image = path.join(dir, 's.img');
  beforeAll(() => writeFileSync(image, randomBytes(131072)));
  it.each([
    ['xz', ['xz', '-kf']],
    ['bz2', ['bzip2', '-kf']],
    ['zst', ['zstd', '-qkf']],
    ['gz', ['gzip', '-kf']],
  ])('%s', (suffix, command) => {
    execFileSync(command[0]!, [...command.slice(1), image]);
    const r = flash(['--image', `${image}.${suffix}`, '--no-bmap', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'success', verified: true, bytesWritten: 131072 });
    expect(readFileSync(out).equals(readFileSync(image))).toBe(true);
  });
});

describe('what is not an image, or not the image its bmap describes', () => {
  it('a file that is neither a known format nor a disk image is refused (exit 4) unless --raw', () => {
    const noise = path.join(dir, 'noise.bin');
    writeFileSync(noise, randomBytes(65536));
    let r = flash(['--image', noise]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/neither a compressed image .* nor a disk image .*pass --raw/);
    expect(existsSync(out)).toBe(false);
    r = flash(['--image', noise, '--raw']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(noise))).toBe(true);
  });

  it('a bmap damaged and its count lowered to match is refused by its own checksum (exit 5), nothing left behind', () => {
    const image = path.join(dir, 'b.img');
    makeSparseImage(image, 1024 * 1024);
    const bmap = execFileSync('bmaptool', ['-q', 'create', image], { encoding: 'utf8' });
    const range = /^\s*<Range[^\n]*> (\d+)-(\d+) <\/Range>\n/m.exec(bmap)!;
    const count = Number(/<MappedBlocksCount>\s*(\d+)/.exec(bmap)![1]) - (Number(range[2]) - Number(range[1]) + 1);
    writeFileSync(`${image}.bmap`, bmap.replace(range[0], '').replace(/<MappedBlocksCount>\s*\d+/, `<MappedBlocksCount> ${count}`));
    const r = flash(['--image', image, '--json']);
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({
      result: 'failure',
      exitCode: 5,
      reason: expect.stringMatching(/checksum mismatch for the bmap file itself/),
    });
    expect(existsSync(out)).toBe(false);
  });

  it('a bmap of another image names the bmap, with the offset, for gz as for raw (exit 5)', () => {
    const image = path.join(dir, 'm.img');
    const other = path.join(dir, 'other.img');
    makeSparseImage(image, 1024 * 1024, 7);
    makeSparseImage(other, 1024 * 1024, 7);
    // same layout, different content in the first block
    writeFileSync(other, Buffer.concat([Buffer.alloc(4096, 9), readFileSync(image).subarray(4096)]));
    const bmap = path.join(dir, 'other.bmap');
    execFileSync('bmaptool', ['-q', 'create', '-o', bmap, other]);
    execFileSync('gzip', ['-kf', image]);
    for (const file of [image, `${image}.gz`]) {
      const r = flash(['--image', file, '--bmap', bmap, '--json']);
      expect(r.code, r.stderr).toBe(5);
      expect(JSON.parse(r.stdout)).toMatchObject({
        result: 'failure',
        exitCode: 5,
        offset: 0,
        reason: expect.stringMatching(/checksum mismatch in the range at offset 0/),
      });
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--no-verify checks no range checksums and reads nothing back, as the README says', () => {
    const image = path.join(dir, 'nv.img');
    const other = path.join(dir, 'nv-other.img');
    makeSparseImage(image, 256 * 1024, 3);
    writeFileSync(other, Buffer.concat([Buffer.alloc(4096, 9), readFileSync(image).subarray(4096)]));
    const bmap = path.join(dir, 'nv.bmap');
    execFileSync('bmaptool', ['-q', 'create', '-o', bmap, other]);
    const r = flash(['--image', image, '--bmap', bmap, '--no-verify', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'success', verified: false });
  });

  it('a regular-file target is sparse: holes for unmapped ranges, its length the image size', () => {
    const image = path.join(dir, 'sparse.img');
    execFileSync('truncate', ['-s', '64M', image]);
    const mbr = Buffer.alloc(512);
    mbr.writeUInt16LE(0xaa55, 510);
    writeFileSync(image, mbr, { flag: 'r+' });
    execFileSync('bmaptool', ['-q', 'create', '-o', `${image}.bmap`, image]);
    const r = flash(['--image', image]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(out).size).toBe(64 * 1024 * 1024);
    expect(statSync(out).blocks * 512).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('the built-in decoders detect corruption as the tools do', () => {
  it.each([
    ['bz2', 'bzip2'],
    ['xz', 'xz'],
  ])('a .%s with one flipped byte fails with the library decoder (exit 4)', (suffix, tool) => {
    const image = path.join(dir, `lib-${suffix}.img`);
    writeFileSync(image, randomBytes(300_000));
    execFileSync(tool, ['-kf', image]);
    const data = readFileSync(`${image}.${suffix}`);
    const middle = Math.floor(data.length / 2);
    data[middle] = data[middle]! ^ 0x01;
    writeFileSync(`${image}.${suffix}`, data);
    const r = flash(['--image', `${image}.${suffix}`, '--no-bmap'], { ...process.env, YOCTOFORGE_DECOMPRESSOR: 'library' });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/is corrupt or truncated \((unbzip2-stream|xz-decompress): /);
    expect(existsSync(out)).toBe(false);
  });

  it('a .zst with one flipped byte fails with the library decoder (exit 4)', () => {
    const image = path.join(dir, 'z.img');
    writeFileSync(image, randomBytes(300_000));
    execFileSync('zstd', ['-qf', '-3', image, '-o', `${image}.zst`]);
    const data = readFileSync(`${image}.zst`);
    // random data is stored in raw blocks: a flipped byte there decodes, to different bytes
    const middle = Math.floor(data.length / 2);
    data[middle] = data[middle]! ^ 0x01;
    writeFileSync(`${image}.zst`, data);
    const tool = flash(['--image', `${image}.zst`, '--no-bmap']);
    expect(tool.code).toBe(4);
    const library = flash(['--image', `${image}.zst`, '--no-bmap', '--json'], { ...process.env, YOCTOFORGE_DECOMPRESSOR: 'library' });
    expect(library.code, library.stdout).toBe(4);
    expect(JSON.parse(library.stdout).reason).toMatch(/fzstd: .*checksum mismatch/);
    expect(existsSync(out)).toBe(false);
    execFileSync('zstd', ['-qf', image, '-o', `${image}.good.zst`]);
    const good = flash(['--image', `${image}.good.zst`, '--no-bmap', '--raw'], { ...process.env, YOCTOFORGE_DECOMPRESSOR: 'library' });
    expect(good.code, good.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(image))).toBe(true);
  });
});

describe('signed bmaps', () => {
  const gnupg = path.join(dir, 'gnupg');
  const env = { ...process.env, GNUPGHOME: gnupg };
  const gpg = (...args: string[]): string =>
    execFileSync('gpg', ['--batch', '--quiet', ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const image = path.join(dir, 'signed.img');
  const bmap = `${image}.bmap`;
  beforeAll(() => {
    mkdirSync(gnupg, { recursive: true, mode: 0o700 });
    // a throwaway key, made for this test only
    gpg('--passphrase', '', '--quick-generate-key', 'yoctoforge test <test@example.invalid>', 'ed25519', 'sign', '1d');
    makeSparseImage(image, 512 * 1024, 5);
    execFileSync('bmaptool', ['-q', 'create', '-o', bmap, image]);
  });
  afterAll(() => spawnSync('gpgconf', ['--kill', 'all'], { env }));

  it('a detached .asc: verified, and a bad one refused (exit 5); --no-sig-verify skips it when asked', () => {
    gpg('--armor', '--detach-sign', '--output', `${bmap}.asc`, bmap);
    let r = flash(['--image', image], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/signed by yoctoforge test <test@example\.invalid>/);
    writeFileSync(
      `${bmap}.asc`,
      readFileSync(`${bmap}.asc`, 'utf8').replace(
        /^([A-Za-z0-9+/]{10})([A-Za-z0-9+/])/m,
        (_, a: string, b: string) => `${a}${b === 'A' ? 'B' : 'A'}`,
      ),
    );
    r = flash(['--image', image], env);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/signature of .* is bad|cannot be checked/);
    r = flash(['--image', image, '--no-sig-verify'], env);
    expect(r.code, r.stderr).toBe(0);
    rmSync(`${bmap}.asc`);
  });

  it('a clearsigned bmap: verified and unwrapped; a changed one refused (exit 5)', () => {
    const signed = path.join(dir, 'clear.bmap');
    gpg('--clearsign', '--output', signed, bmap);
    let r = flash(['--image', image, '--bmap', signed], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/signed by yoctoforge test/);
    // without a key to check with: refused too, with the way out named
    r = flash(['--image', image, '--bmap', signed], { ...process.env, GNUPGHOME: path.join(dir, 'empty-gnupg') });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/public key is not in your gpg keyring .*--no-sig-verify/);
    const original = readFileSync(signed, 'utf8');
    writeFileSync(signed, original.replace('<BlockSize> 4096', '<BlockSize>  4096'));
    r = flash(['--image', image, '--bmap', signed], env);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/signature of .* is bad/);
    // --no-sig-verify: the signature is not looked at; the unwrapped bmap is still checked by its own checksum
    r = flash(['--image', image, '--bmap', signed, '--no-sig-verify'], env);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/checksum mismatch for the bmap file itself/);
    writeFileSync(
      signed,
      original.replace(/^([A-Za-z0-9+/]{10})([A-Za-z0-9+/])/m, (_, a: string, b: string) => `${a}${b === 'A' ? 'B' : 'A'}`),
    );
    r = flash(['--image', image, '--bmap', signed], env);
    expect(r.code).toBe(5);
    r = flash(['--image', image, '--bmap', signed, '--no-sig-verify'], env);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('output contracts', () => {
  it('--json prints one JSON object on failure too, and under GitHub Actions no ::warning:: on stdout', () => {
    const image = path.join(dir, 'j.img');
    makeSparseImage(image, 128 * 1024);
    const env = { ...process.env, GITHUB_ACTIONS: 'true' };
    let r = flash(['--image', image, '--no-bmap', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('::warning::');
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'success' });
    r = flash(['--image', path.join(dir, 'missing.img'), '--json'], env);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'failure', exitCode: 2, reason: expect.stringMatching(/does not exist/) });
  });
});

describe('the confirmation prompt (on a terminal made by script(1))', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  /** runs flash on a pseudo-terminal; `answer` runs once the prompt is up and returns the keys to type */
  const onTerminal = async (args: string[], answer: () => string): Promise<{ code: number; output: string }> => {
    const { spawn } = await import('node:child_process');
    const command = ['node', runCliPath(), 'flash', ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qec', `${command}; echo EXIT=$?`, '/dev/null'], { env: { ...process.env, CI: '' } });
    let output = '';
    let answered = false;
    return await new Promise((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (!answered && output.includes('Type "yes"')) {
          answered = true;
          child.stdin.write(answer());
        }
      });
      child.on('close', () => resolve({ code: Number(/EXIT=(\d+)/.exec(output)?.[1] ?? -1), output }));
    });
  };
  const runCliPath = (): string => path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'dist', 'cli', 'main.js');

  it.skipIf(!hasScript)('Ctrl-D is a clean refusal (exit 7), nothing created', async () => {
    const image = path.join(dir, 'prompt.img');
    makeSparseImage(image, 64 * 1024);
    rmSync(out, { force: true });
    const r = await onTerminal([out, '--image', image, '--force'], () => '\x04');
    expect(r.code, r.output).toBe(7);
    expect(r.output).toMatch(/not confirmed: .* was not touched/);
    expect(r.output).not.toMatch(/bug in yoctoforge/);
    expect(existsSync(out)).toBe(false);
  });

  it.skipIf(!hasScript)('a device replaced while the prompt waits is not written (checked again after "yes")', async () => {
    const image = path.join(dir, 'prompt2.img');
    makeSparseImage(image, 64 * 1024);
    writeFileSync(out, Buffer.alloc(4096, 7));
    const r = await onTerminal([out, '--image', image, '--force'], () => {
      // another file now stands behind the path
      rmSync(out);
      writeFileSync(out, Buffer.alloc(8192, 8));
      return 'yes\r';
    });
    expect(r.code, r.output).toBe(7);
    expect(r.output).toMatch(/changed while waiting for the confirmation/);
    expect(readFileSync(out).equals(Buffer.alloc(8192, 8))).toBe(true);
  });
});
