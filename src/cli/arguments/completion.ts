import { Argument, type Command } from 'commander';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish (commands, options, target names)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      const { completionScript } = await import('../completion.js');
      process.stdout.write(completionScript(shell));
    });
  program
    .command('__complete', { hidden: true })
    .description('the candidates for the last of WORDS (used by the completion scripts)')
    .argument('[words...]')
    .helpOption(false)
    .action(async (words: string[] | undefined) => {
      const { completeWords } = await import('../completion.js');
      const candidates = completeWords(program, words && words.length > 0 ? words : ['']);
      if (candidates.length > 0) process.stdout.write(`${candidates.join('\n')}\n`);
    });
}
