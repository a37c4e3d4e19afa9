import type { Command } from 'commander';
import { EXIT_CODE_MEANINGS } from '../errors.js';

/**
 * The environment variables yoctoforge reads, with the commands that read them: the one list
 * every `--help` page and the README print from (test/cli/help.test.ts fails when a variable
 * read in src/ is missing here). `*` means every command.
 */
export const ENVIRONMENT: readonly { name: string; meaning: string; commands: readonly string[] }[] = [
  { name: 'CI', meaning: 'set: CI mode (plain timestamped lines, no questions), as --ci', commands: ['*'] },
  { name: 'GITHUB_ACTIONS', meaning: 'true: grouped steps and ::error::/::warning:: annotations', commands: ['*'] },
  { name: 'GITHUB_STEP_SUMMARY', meaning: 'file the build appends its Markdown summary to', commands: ['build'] },
  { name: 'YOCTOFORGE_DEBUG', meaning: 'set: print the stack trace of an unexpected error', commands: ['*'] },
  {
    name: 'YOCTOFORGE_ENGINE',
    meaning: 'docker, podman or none, after --engine and build_env.engine',
    commands: ['build', 'shell', 'clean'],
  },
  {
    name: 'YOCTOFORGE_BASE_IMAGE',
    meaning: 'base image of the build environment, after --base-image and build_env.base_image',
    commands: ['build', 'shell', 'clean', 'bundle'],
  },
  {
    name: 'YOCTOFORGE_CACHE_DIR',
    meaning: 'root of the shared caches (default $XDG_CACHE_HOME/yoctoforge or ~/.cache/yoctoforge)',
    commands: ['build', 'shell', 'config', 'clean', 'bundle'],
  },
  { name: 'XDG_CACHE_HOME', meaning: 'where the user cache directory is', commands: ['build', 'shell', 'config', 'clean', 'bundle'] },
  { name: 'YOCTOFORGE_DL_DIR', meaning: 'DL_DIR, over cache.downloads', commands: ['build', 'shell', 'config', 'clean', 'bundle'] },
  { name: 'YOCTOFORGE_SSTATE_DIR', meaning: 'SSTATE_DIR, over cache.sstate', commands: ['build', 'shell', 'config', 'clean', 'bundle'] },
  {
    name: 'YOCTOFORGE_MIN_FREE_GIB',
    meaning: 'free space required before a build, in GiB (default 50, 2 for --dry-run)',
    commands: ['build'],
  },
  {
    name: 'http_proxy, https_proxy, ftp_proxy, all_proxy, no_proxy (also upper case), GIT_PROXY_COMMAND',
    meaning: 'passed into the build environment',
    commands: ['build', 'shell', 'clean'],
  },
  {
    name: 'BB_NUMBER_THREADS, PARALLEL_MAKE',
    meaning: "passed into the build environment (BitBake's parallelism)",
    commands: ['build', 'shell', 'clean'],
  },
  {
    name: 'SSH_AUTH_SOCK',
    meaning: 'the SSH agent, mounted into the build environment for private layers',
    commands: ['build', 'shell', 'clean', 'sync'],
  },
  {
    name: 'YOCTOFORGE_PROGRESS_INTERVAL',
    meaning: 'seconds between progress lines when not on a terminal (default 5)',
    commands: ['flash'],
  },
  { name: 'YOCTOFORGE_DECOMPRESSOR', meaning: 'library: decompress in-process instead of with lbzip2/xz/zstd', commands: ['flash'] },
  {
    name: 'YOCTOFORGE_READ_BACK_EVERY_MIB',
    meaning: 'how often written data is made durable and read back (default 64)',
    commands: ['flash'],
  },
];

/** One or two examples for each command's --help, by the command's full name. */
const EXAMPLES: Record<string, string[]> = {
  init: [
    'yoctoforge init --yes                      # the Raspberry Pi 4 + Docker project here',
    'yoctoforge init rpi5 --machine raspberrypi5   # in ./rpi5, for a Pi 5',
  ],
  sync: [
    'yoctoforge sync                            # clone/check out every repo at the lock',
    'yoctoforge sync --update && yoctoforge lock diff   # move to the branch heads, see what moved',
  ],
  layers: ['yoctoforge layers rpi-docker-image --json'],
  config: ['yoctoforge config rpi-docker-image && less build/rpi-docker-image/conf/local.conf'],
  build: ['yoctoforge build rpi-docker-image --dry-run   # parse and task graph only', 'yoctoforge build --engine podman'],
  shell: [
    'yoctoforge shell                           # an interactive shell, oe-init-build-env sourced',
    'yoctoforge shell -- bitbake-layers show-layers > layers.txt',
  ],
  flash: ['yoctoforge flash --list', 'yoctoforge flash /dev/sdb --yes'],
  'lock diff': ['yoctoforge lock diff HEAD~1 layers.lock.yaml --exit-code'],
  report: ['yoctoforge report rpi-docker-image --html', 'yoctoforge report old/report.json build/rpi-docker-image/report.json'],
  bundle: ['yoctoforge bundle rpi-docker-image --downloads -o release.bundle.tar.gz'],
  'ci init': ['yoctoforge ci init --provider gitlab --target rpi-docker-image'],
  'export kas': ['yoctoforge export kas rpi-docker-image -o kas.yml && kas build kas.yml'],
  'import kas': ['yoctoforge import kas kas/base.yml kas/rpi4.yml -o layers.yaml'],
  upgrade: [
    'yoctoforge upgrade --series wrynose && yoctoforge sync && yoctoforge build rpi-docker-image --dry-run',
    'yoctoforge upgrade --undo',
  ],
  'export bitbake-setup': ['yoctoforge export bitbake-setup rpi-docker-image -o rpi.conf.json'],
  'import bitbake-setup': ['yoctoforge import bitbake-setup poky-wrynose.conf.json poky machine/raspberrypi4-64 distro/poky'],
  'cache publish': ['yoctoforge cache publish rpi-docker-image', 'YOCTOFORGE_CACHE_ROLE=read-write yoctoforge cache publish --json'],
  'cache status': ['yoctoforge cache status', 'yoctoforge cache status --json'],
  'cache prune': ['yoctoforge cache prune --older-than 30 --dry-run'],
  'cache serve': ['yoctoforge cache serve --port 8686 --dir /srv/yoctoforge-cache', 'yoctoforge cache serve --stop'],
  status: ['yoctoforge status', 'yoctoforge status --json | jq \'.repos[] | select(.state == "dirty")\''],
  show: ['yoctoforge show rpi-docker-image', 'yoctoforge show rpi-docker-image --json'],
  schema: ['yoctoforge schema --write                 # refresh .yoctoforge/layers.schema.json after an upgrade'],
  foreach: ['yoctoforge foreach -- git status --short', "yoctoforge foreach 'echo $YOCTOFORGE_REPO $(git rev-parse --short HEAD)'"],
  clean: [
    'yoctoforge clean rpi-docker-image          # tmp/ and cache/ of the target',
    'yoctoforge clean rpi-docker-image --sstate busybox virtual/kernel',
  ],
  completion: [
    'yoctoforge completion bash > ~/.local/share/bash-completion/completions/yoctoforge',
    'yoctoforge completion fish > ~/.config/fish/completions/yoctoforge.fish',
  ],
};

/** Exit codes a command adds to the common ones. */
const EXTRA_EXIT_CODES: Record<string, string[]> = {
  shell: ['    N   with a command: the exit code of that command'],
  'lock diff': ['    1   with --exit-code: the locks differ'],
};

function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The text after a command's options: examples, the environment it reads, the exit codes. */
export function helpFooter(name: string): string {
  const top = name.split(' ')[0]!;
  const lines: string[] = [];
  const examples = EXAMPLES[name];
  if (examples) lines.push('', 'Examples:', ...examples.map((e) => `  $ ${e}`));
  const environment = ENVIRONMENT.filter((v) => v.commands.includes(top) || (v.commands.includes('*') && name === ''));
  if (environment.length > 0) lines.push('', 'Environment:', ...environment.map((v) => `  ${v.name}\n      ${v.meaning}`));
  lines.push(
    '',
    'Exit codes:',
    ...Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => `  ${code.padStart(3)}   ${meaning}`),
    ...(EXTRA_EXIT_CODES[name] ?? []),
  );
  return `${lines.join('\n')}\n`;
}

/** Adds the footer to the program's help and to every command's (subcommands included). */
export function addHelpFooters(program: Command): void {
  program.addHelpText('after', `${helpFooter('')}\nEvery command's --help shows its examples, environment and exit codes.\n`);
  const visit = (command: Command): void => {
    for (const sub of command.commands) {
      if (sub.commands.length > 0) visit(sub);
      else sub.addHelpText('after', () => helpFooter(fullName(sub)));
    }
  };
  visit(program);
}
