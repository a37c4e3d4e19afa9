import type { BitbakeEvent, KnottyParser } from '../bitbake/knotty.js';
import { logLine, outputMode, warnLine } from '../util/output.js';

/** Progress: a one-line status on a TTY (throttled), timestamped plain lines otherwise. */
export function bitbakeProgressDisplay(report: (m: string) => void): (event: BitbakeEvent, parser: KnottyParser) => void {
  const interactive = outputMode().interactive;
  let lastUpdate = 0;
  let lastParseDecile = -1;
  return (event, parser) => {
    const p = parser.progress;
    if (interactive) {
      const now = Date.now();
      if (now - lastUpdate < 100 && event.kind !== 'sstate-summary') return;
      lastUpdate = now;
      if (p.phase === 'parsing') report(`Parsing recipes ${p.parsePercent}%`);
      else if (p.phase === 'running')
        report(
          `task ${p.taskIndex} of ${p.taskTotal}${p.running.length ? `: ${p.running.slice(0, 3).join(', ')}${p.running.length > 3 ? ` +${p.running.length - 3}` : ''}` : ''}`,
        );
      if (event.kind === 'sstate-summary')
        report(
          `sstate: ${event.summary.local + event.summary.mirrors} of ${event.summary.wanted} reused (${event.summary.matchPercent}% match)`,
        );
      return;
    }
    switch (event.kind) {
      case 'parse-progress': {
        const decile = Math.floor(event.percent / 10);
        if (decile !== lastParseDecile) {
          lastParseDecile = decile;
          logLine(`parsing recipes ${event.percent}%`);
        }
        break;
      }
      case 'parse-done':
        logLine(`parsed ${event.recipes} recipes, ${event.errors} errors`);
        break;
      case 'task-started':
        logLine(`${event.setscene ? 'setscene ' : ''}task ${event.index} of ${event.total}: ${event.recipe}:${event.task}`);
        break;
      case 'sstate-summary':
        logLine(
          `sstate: wanted ${event.summary.wanted}, local ${event.summary.local}, mirrors ${event.summary.mirrors}, missed ${event.summary.missed} (${event.summary.matchPercent}% match)`,
        );
        break;
      case 'tasks-summary':
        logLine(event.text);
        break;
      case 'task-failed':
        logLine(`FAILED ${event.failure.recipe}:${event.failure.task}${event.failure.logFile ? ` (log ${event.failure.logFile})` : ''}`);
        break;
      case 'warning':
        warnLine(event.message);
        break;
      case 'error':
      case 'parse-error':
        logLine(`ERROR: ${event.message}`);
        break;
      default:
        break;
    }
  };
}
