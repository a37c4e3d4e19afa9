import { loadProject } from '../manifest/load.js';
import { abortGit } from '../layers/git.js';
import { planSync, type CloneMode, type RepoSyncResult } from '../layers/sync.js';
import { runSteps } from '../ui/tasks.js';
import { logLine, outputMode } from '../util/output.js';
import { interruptible } from '../util/signals.js';

export interface SyncCommandOptions {
  projectDir: string;
  locked: boolean;
  update: boolean;
  force: boolean;
  cloneMode?: CloneMode;
  jobs?: number;
}

export async function runSync(options: SyncCommandOptions): Promise<void> {
  const project = await loadProject(options.projectDir);
  const plan = await planSync(project, {
    locked: options.locked,
    update: options.update,
    force: options.force,
    cloneMode: options.cloneMode,
    jobs: options.jobs,
    interactive: outputMode().interactive,
  });
  const results: RepoSyncResult[] = [];
  await interruptible(
    async () => {
      abortGit();
      await plan.abandon();
    },
    async () => {
      await runSteps(
        plan.repos.map((repo) => ({
          title: repo.name,
          run: async () => {
            const result = await repo.run();
            results.push(result);
            // A repo that did not get there is named once, in the error that ends the command.
            return result.action === 'failed'
              ? 'failed (see below)'
              : result.action === 'left-dirty'
                ? 'left as it is (see below)'
                : result.detail;
          },
        })),
        undefined,
        { concurrent: plan.jobs, exitOnError: false },
      );
    },
  );
  const outcome = await plan.finish(results);
  logLine(outcome.lockWritten ? 'layers.lock.yaml written' : 'layers.lock.yaml unchanged');
}
