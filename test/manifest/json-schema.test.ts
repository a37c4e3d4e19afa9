import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, tempDir } from '../helpers/git-fixtures.js';

const schema = JSON.parse(readFileSync(path.join(REPO_ROOT, 'schema', 'layers.schema.json'), 'utf8')) as object;
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

describe('the published JSON Schema of layers.yaml', () => {
  it('is generated from the zod schema and committed up to date', () => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'schema.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('accepts the manifest init writes, which references it for editors', () => {
    const dir = tempDir('yf-schema-');
    expect(runCli(['init', dir, '--yes']).code).toBe(0);
    const text = readFileSync(path.join(dir, 'layers.yaml'), 'utf8');
    const ref = /^# yaml-language-server: \$schema=(.+)$/m.exec(text)?.[1];
    expect(ref).toBeDefined();
    // A copy inside the project, so the reference works on every machine that checks it out.
    expect(ref).toBe('./.yoctoforge/layers.schema.json');
    expect(readFileSync(path.resolve(dir, ref!), 'utf8')).toBe(JSON.stringify(schema, null, 2) + '\n');
    expect(text).not.toContain('npmjs.com');
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('`yoctoforge schema` prints it and `schema --write` refreshes the project copy', () => {
    const dir = tempDir('yf-schema-');
    const printed = runCli(['schema']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe(JSON.stringify(schema, null, 2) + '\n');
    const written = runCli(['-C', dir, 'schema', '--write']);
    expect(written.code, written.stderr).toBe(0);
    expect(readFileSync(path.join(dir, '.yoctoforge', 'layers.schema.json'), 'utf8')).toBe(printed.stdout);
  });

  it('rejects what zod rejects: a misspelt key, a bad machine, a missing url', () => {
    const dir = tempDir('yf-schema-');
    expect(runCli(['init', dir, '--yes']).code).toBe(0);
    const base = parse(readFileSync(path.join(dir, 'layers.yaml'), 'utf8')) as Record<string, any>;
    expect(validate(base), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...base, target: {} })).toBe(false);
    const badMachine = structuredClone(base);
    badMachine.targets['rpi-docker-image'].machine = 'pi${@os.system("x")}';
    expect(validate(badMachine)).toBe(false);
    const noUrl = structuredClone(base);
    delete noUrl.repos.poky.url;
    expect(validate(noUrl)).toBe(false);
  });
});
