import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command, Option } from 'commander';
import { parse } from 'yaml';
import { MANIFEST_FILE } from '../manifest/schema.js';

/**
 * Shell completion, answered by the CLI itself from its commander definitions: the scripts that
 * `yoctoforge completion SHELL` prints only pass the words typed so far to the hidden
 * `yoctoforge __complete -- WORD...` and offer what it prints (one candidate a line), so they
 * never go stale when a command or an option is added. An empty answer lets the shell complete
 * file names.
 */
export function completeWords(program: Command, words: string[], cwd = process.cwd()): string[] {
  const current = words.at(-1) ?? '';
  let command = program;
  let positional = 0;
  let pendingValue: Option | undefined;
  let afterDashDash = false;
  let projectDir = cwd;
  for (const word of words.slice(0, -1)) {
    if (pendingValue) {
      if (pendingValue.long === '--project') projectDir = path.resolve(cwd, word);
      pendingValue = undefined;
    } else if (word === '--') {
      afterDashDash = true;
    } else if (word.startsWith('-') && !afterDashDash) {
      const option = findOption(program, command, word);
      if (option && (option.required || option.optional) && !word.includes('=')) pendingValue = option;
    } else if (positional === 0 && !afterDashDash && command.commands.some((c) => c.name() === word || c.aliases().includes(word))) {
      command = command.commands.find((c) => c.name() === word || c.aliases().includes(word))!;
    } else {
      positional += 1;
    }
  }
  const matching = (candidates: string[]): string[] => candidates.filter((c) => c.startsWith(current));
  if (pendingValue) {
    if (pendingValue.argChoices) return matching(pendingValue.argChoices);
    return pendingValue.long === '--target' ? matching(targetNames(projectDir)) : [];
  }
  if (afterDashDash) return [];
  if (current.startsWith('-')) {
    const options = [...visibleOptions(command), ...(command === program ? [] : visibleOptions(program))];
    return matching([...options.flatMap((o) => [o.long, o.short]).filter((n): n is string => Boolean(n)), '--help']);
  }
  const candidates: string[] = [];
  if (positional === 0)
    candidates.push(
      ...command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden && c.name() !== 'help').map((c) => c.name()),
    );
  const args = command.registeredArguments;
  const argument = args[positional] ?? (args.at(-1)?.variadic ? args.at(-1) : undefined);
  if (argument?.argChoices) candidates.push(...argument.argChoices);
  else if (argument && /^target/.test(argument.name())) candidates.push(...targetNames(projectDir));
  return matching(candidates);
}

function visibleOptions(command: Command): Option[] {
  return command.options.filter((o) => !o.hidden);
}

function findOption(program: Command, command: Command, word: string): Option | undefined {
  const name = word.split('=')[0];
  return [...command.options, ...program.options].find((o) => o.long === name || o.short === name);
}

/** Target names from layers.yaml as it is (no validation: completion must not fail loudly). */
function targetNames(projectDir: string): string[] {
  try {
    const manifest = parse(readFileSync(path.join(projectDir, MANIFEST_FILE), 'utf8')) as { targets?: Record<string, unknown> };
    return Object.keys(manifest?.targets ?? {});
  } catch {
    return [];
  }
}

export type CompletionShell = 'bash' | 'zsh' | 'fish';

/** The script a shell loads; each only relays the words to `yoctoforge __complete`. */
export function completionScript(shell: CompletionShell): string {
  switch (shell) {
    case 'bash':
      return `# yoctoforge completion for bash: add to ~/.bashrc
#   source <(yoctoforge completion bash)
_yoctoforge() {
  local IFS=$'\\n'
  COMPREPLY=($(yoctoforge __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _yoctoforge yoctoforge
`;
    case 'zsh':
      return `#compdef yoctoforge
# yoctoforge completion for zsh: add to ~/.zshrc (after compinit)
#   source <(yoctoforge completion zsh)
_yoctoforge() {
  local -a candidates
  candidates=("\${(@f)$(yoctoforge __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n "\${candidates[1]}" ]]; then
    compadd -- "\${candidates[@]}"
  else
    _files
  fi
}
compdef _yoctoforge yoctoforge
`;
    case 'fish':
      return `# yoctoforge completion for fish:
#   yoctoforge completion fish > ~/.config/fish/completions/yoctoforge.fish
function __yoctoforge_complete
    set -l words (commandline -opc) (commandline -ct)
    yoctoforge __complete -- $words[2..-1] 2>/dev/null
end
complete -c yoctoforge -f -a '(__yoctoforge_complete)'
`;
  }
}
