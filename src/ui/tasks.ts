import { logLine, outputMode, progressStream } from '../util/output.js';

/** A named step of a command; `report` updates the step's one-line status. */
export interface Step<C = void> {
  title: string;
  run: (report: (message: string) => void, context: C) => Promise<string | void>;
  /** skip this step, with the reason shown */
  skip?: (context: C) => string | false;
}

export interface StepOptions {
  concurrent?: boolean | number;
  /** stop at the first failure (default) or run every step and fail afterwards */
  exitOnError?: boolean;
}

/**
 * Runs steps with a listr2 view on a TTY and timestamped plain lines otherwise. The steps are
 * functions of our modules; this file is the only place that knows how progress is displayed.
 */
export async function runSteps<C>(steps: Step<C>[], context: C, options: StepOptions = {}): Promise<void> {
  if (!outputMode().interactive) {
    await runPlain(steps, context, options);
    return;
  }
  const { Listr } = await import('listr2');
  const list = new Listr(
    steps.map((step) => ({
      title: step.title,
      skip: () => step.skip?.(context) ?? false,
      task: async (_ctx: unknown, task: { output: string; title: string }) => {
        const summary = await step.run((message) => {
          task.output = message;
        }, context);
        if (summary) task.title = `${step.title}: ${summary}`;
      },
    })),
    {
      concurrent: options.concurrent ?? false,
      exitOnError: options.exitOnError ?? true,
      rendererOptions: { collapseErrors: false, showErrorMessage: false },
    },
  );
  await list.run();
}

async function runPlain<C>(steps: Step<C>[], context: C, options: StepOptions): Promise<void> {
  const concurrency = options.concurrent === true ? steps.length : typeof options.concurrent === 'number' ? options.concurrent : 1;
  const runOne = async (step: Step<C>): Promise<void> => {
    const skipped = step.skip?.(context);
    if (skipped) {
      logLine(`${step.title}: skipped (${skipped})`);
      return;
    }
    // GitHub Actions folds each step's lines into a section
    const group = outputMode().githubActions && concurrency <= 1;
    if (group) progressStream().write(`::group::${step.title}\n`);
    try {
      const summary = await step.run((message) => logLine(`${step.title}: ${message}`), context);
      logLine(summary ? `${step.title}: ${summary}` : `${step.title}: done`);
    } finally {
      if (group) progressStream().write('::endgroup::\n');
    }
  };
  if (concurrency <= 1) {
    for (const step of steps) await runOne(step);
    return;
  }
  const { mapLimit } = await import('../util/concurrency.js');
  const errors: unknown[] = [];
  await mapLimit(steps, concurrency, (step) =>
    runOne(step).catch((error: unknown) => {
      errors.push(error);
    }),
  );
  if (errors.length > 0) throw errors[0];
}
