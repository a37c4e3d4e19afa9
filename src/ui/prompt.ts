import { createInterface } from 'node:readline/promises';
import { outputMode } from '../util/output.js';

/** Questions are asked only of a person: a TTY on both ends and not in CI mode. */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && outputMode().interactive;
}

/**
 * Asks one question with a default (Enter takes it). `check` returns why an answer is not
 * acceptable, and the question is asked again.
 */
export async function ask(
  question: string,
  defaultAnswer: string,
  check: (answer: string) => string | undefined = () => undefined,
): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      const answer = (await rl.question(`${question} [${defaultAnswer}]: `)).trim() || defaultAnswer;
      const problem = check(answer);
      if (!problem) return answer;
      process.stdout.write(`  ${problem}\n`);
    }
  } finally {
    rl.close();
  }
}
