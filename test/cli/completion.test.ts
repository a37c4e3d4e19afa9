// The completion scripts loaded by the real shells (Debian's bash, zsh and fish), completing a
// command and a target name of a real layers.yaml through the built CLI.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from '../helpers/git-fixtures.js';

const has = (shell: string): boolean => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
let project: string;
let env: NodeJS.ProcessEnv;

function scriptFor(shell: string): string {
  const r = runCli(['completion', shell]);
  expect(r.code, r.stderr).toBe(0);
  const file = path.join(project, `completion.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

function run(shell: string, args: string[]): string {
  const r = spawnSync(shell, args, { cwd: project, env, encoding: 'utf8' });
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  project = tempDir('completion');
  // `yoctoforge` on PATH, as npm link or a global install puts it there.
  const bin = path.join(project, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'yoctoforge'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(path.join(bin, 'yoctoforge'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: project };
  writeFileSync(
    path.join(project, 'layers.yaml'),
    'repos:\n  poky:\n    url: https://git.example.invalid/poky\ntargets:\n  rpi-docker-image:\n    image: core-image-base\n  rpi5-minimal:\n    image: core-image-minimal\n',
  );
});

describe('yoctoforge completion', () => {
  it('an unknown shell is refused (exit 2)', () => {
    expect(runCli(['completion', 'tcsh']).code).toBe(2);
  });

  it.runIf(has('bash'))('bash: completes a command, an option and a target name', () => {
    const file = scriptFor('bash');
    const complete = (line: string): string[] => {
      const words = line.split(' ');
      const out = run('bash', [
        '-c',
        `source ${file}; complete -p yoctoforge; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _yoctoforge; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ]);
      const [registration, ...candidates] = out.trim().split('\n');
      expect(registration).toBe('complete -o default -F _yoctoforge yoctoforge');
      return candidates;
    };
    expect(complete('yoctoforge bu')).toEqual(['build', 'bundle']);
    expect(complete('yoctoforge build rpi')).toEqual(['rpi-docker-image', 'rpi5-minimal']);
    expect(complete('yoctoforge build rpi5')).toEqual(['rpi5-minimal']);
    expect(complete('yoctoforge sync --bl')).toEqual(['--blobless']);
    expect(complete('yoctoforge completion z')).toEqual(['zsh']);
  });

  it.runIf(has('zsh'))('zsh: loads under compinit and completes a command and a target name', () => {
    const file = scriptFor('zsh');
    const complete = (line: string): string[] => {
      const words = line.split(' ');
      // compadd is replaced by a function that prints what the completion offers.
      const script = [
        'autoload -U compinit && compinit -u -D',
        `source ${file}`,
        'print -r -- "registered: $_comps[yoctoforge]"',
        'compadd() { shift; print -rl -- "$@" }',
        '_files() { print -r -- "(file names)" }',
        `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}`,
        '_yoctoforge; true',
      ].join('\n');
      const [registration, ...candidates] = run('zsh', ['-f', '-c', script]).trim().split('\n');
      expect(registration).toBe('registered: _yoctoforge');
      return candidates;
    };
    expect(complete('yoctoforge she')).toEqual(['shell']);
    expect(complete('yoctoforge show-me-nothing-')).toEqual(['(file names)']);
    expect(complete('yoctoforge clean rpi-')).toEqual(['rpi-docker-image']);
  });

  it.runIf(has('fish'))('fish: completes a command and a target name', () => {
    const file = scriptFor('fish');
    const complete = (line: string): string[] =>
      run('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`])
        .trim()
        .split('\n');
    expect(complete('yoctoforge fla')).toEqual(['flash']);
    expect(complete('yoctoforge build rpi5')).toEqual(['rpi5-minimal']);
  });
});
