/**
 * A streaming parser of BitBake's knotty output (the plain and the non-curses TTY forms): it
 * turns lines into events and keeps a small running state for progress displays and reports.
 * Memory stays bounded whatever the build's length: every list it keeps is capped.
 */
export interface SstateSummary {
  wanted: number;
  local: number;
  mirrors: number;
  missed: number;
  current: number;
  matchPercent: number;
  completePercent: number;
}

export interface FailedTask {
  recipe: string;
  task: string;
  logFile?: string;
  lastLines: string[];
}

export type BitbakeEvent =
  | { kind: 'parse-progress'; percent: number }
  | { kind: 'parse-done'; recipes?: number; errors?: number }
  | { kind: 'build-config'; entries: Record<string, string> }
  | { kind: 'task-started'; index: number; total: number; recipe: string; task: string; setscene: boolean }
  | { kind: 'task-finished'; recipe: string; task: string; ok: boolean }
  | { kind: 'sstate-summary'; summary: SstateSummary }
  | { kind: 'task-failed'; failure: FailedTask }
  | { kind: 'parse-error'; file?: string; line?: number; message: string }
  | { kind: 'tasks-summary'; attempted: number; succeeded: number; failed: number; text: string }
  | { kind: 'graph-saved'; file: string }
  | { kind: 'warning'; message: string }
  | { kind: 'error'; message: string };

export interface BuildProgress {
  phase: 'starting' | 'parsing' | 'running' | 'done';
  parsePercent: number;
  taskIndex: number;
  taskTotal: number;
  running: string[];
  sstate?: SstateSummary;
  failures: FailedTask[];
  errors: string[];
  warnings: number;
  tasksSummary?: { attempted: number; succeeded: number; failed: number };
  recipesParsed?: number;
}

const MAX_LINE = 64 * 1024;
const MAX_RUNNING = 256;
const MAX_KEPT = 50;
const TAIL_LINES = 20;

const RE = {
  parseProgress: /Parsing recipes:\s+(\d+)%/,
  parseDots: /Parsing recipes\.\.\.done\./,
  parseDone: /Parsing of (\d+) \.bb files complete .*?(\d+) errors\./,
  running: /^NOTE: Running (setscene |noexec )?task (\d+) of (\d+) \((.+):(do_[A-Za-z0-9_]+)\)$/,
  recipeTask: /^NOTE: recipe (\S+): task (do_[A-Za-z0-9_]+): (Started|Succeeded|Failed)$/,
  sstate: /Sstate summary: Wanted (\d+) Local (\d+) Mirrors (\d+) Missed (\d+) Current (\d+) \((\d+)% match, (\d+)% complete\)/,
  logfile: /^ERROR: Logfile of failure stored in: (\S+)/,
  taskFailed: /^ERROR: Task \((.+):(do_[A-Za-z0-9_]+)\) failed with exit code/,
  parseError: /ERROR: ParseError(?: in| at) ([^:\s]+(?:\.bb|\.bbappend|\.bbclass|\.conf|\.inc))(?::(\d+))?: (.*)$/,
  summary: /^NOTE: Tasks Summary: Attempted (\d+) tasks of which (\d+) didn't need to be rerun and (?:all succeeded|(\d+) failed)\./,
  graphSaved: /^NOTE: PN build list saved to '(.+)'$/,
  buildConfigStart: /^Build Configuration:$/,
  buildConfigLine: /^(\S+)\s*(?:= "(.*)")?$/,
};

/** quilt-native-0.67-r0 → quilt-native (PN from BitBake's PN-PV-PR) */
export function recipeOfPf(pf: string): string {
  const m = /^(.+)-[^-]+-r\d+(?:\.\d+)*$/.exec(pf);
  return m ? m[1]! : pf;
}

/** /x/quilt-native_0.67.bb or virtual:native:/x/quilt_0.67.bb → quilt-native / quilt */
function recipeFromFile(file: string): string {
  const base = file.split('/').pop() ?? file;
  const pn = base.replace(/\.bb$/, '').replace(/_[^_]*$/, '');
  return file.startsWith('virtual:native:') && !pn.endsWith('-native') ? `${pn}-native` : pn;
}

export class KnottyParser {
  readonly progress: BuildProgress = {
    phase: 'starting',
    parsePercent: 0,
    taskIndex: 0,
    taskTotal: 0,
    running: [],
    failures: [],
    errors: [],
    warnings: 0,
  };
  private partial = '';
  private decoder = new TextDecoder('utf-8');
  private tail: string[] = [];
  private lastLogFile?: string;
  private running = new Set<string>();
  private inBuildConfig = false;
  private buildConfig: Record<string, string> = {};
  private pendingConfigNames: string[] = [];

  push(chunk: string | Uint8Array): BitbakeEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: BitbakeEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        this.partial += text.slice(start, i);
        // A carriage return ends a redraw of a progress line: it is a line of its own, only
        // its progress matters; an empty redraw between \r and \n is dropped.
        this.line(this.partial, events);
        this.partial = '';
        start = i + 1;
      }
    }
    if (start < text.length) {
      this.partial += text.slice(start);
      if (this.partial.length > MAX_LINE) this.partial = this.partial.slice(0, MAX_LINE);
    }
    return events;
  }

  end(): BitbakeEvent[] {
    const events: BitbakeEvent[] = [];
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    if (rest) this.line(rest, events);
    if (this.inBuildConfig) this.closeBuildConfig(events);
    this.progress.phase = 'done';
    return events;
  }

  private line(raw: string, events: BitbakeEvent[]): void {
    const line = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    if (line === '') {
      if (this.inBuildConfig) this.closeBuildConfig(events);
      return;
    }
    if (this.inBuildConfig) {
      const m = RE.buildConfigLine.exec(line);
      if (m) {
        if (m[2] === undefined) this.pendingConfigNames.push(m[1]!);
        else {
          for (const name of [...this.pendingConfigNames, m[1]!]) this.buildConfig[name] = m[2];
          this.pendingConfigNames = [];
        }
        return;
      }
      this.closeBuildConfig(events);
    }
    this.remember(line);

    let m: RegExpExecArray | null;
    if ((m = RE.parseProgress.exec(line))) {
      const percent = Number(m[1]);
      if (percent !== this.progress.parsePercent || this.progress.phase !== 'parsing') {
        this.progress.phase = 'parsing';
        this.progress.parsePercent = percent;
        events.push({ kind: 'parse-progress', percent });
      }
    }
    if (RE.parseDots.test(line)) {
      this.progress.parsePercent = 100;
      events.push({ kind: 'parse-progress', percent: 100 });
    }
    if ((m = RE.parseDone.exec(line))) {
      this.progress.parsePercent = 100;
      this.progress.recipesParsed = Number(m[1]);
      events.push({ kind: 'parse-done', recipes: Number(m[1]), errors: Number(m[2]) });
    }
    if ((m = RE.parseError.exec(line))) {
      const message = m[3]!;
      events.push({ kind: 'parse-error', file: m[1], line: m[2] ? Number(m[2]) : undefined, message });
    }
    if ((m = RE.sstate.exec(line))) {
      const n = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
      const summary: SstateSummary = {
        wanted: n[0],
        local: n[1],
        mirrors: n[2],
        missed: n[3],
        current: n[4],
        matchPercent: n[5],
        completePercent: n[6],
      };
      this.progress.sstate = summary;
      events.push({ kind: 'sstate-summary', summary });
    }
    if (RE.buildConfigStart.test(line)) {
      this.inBuildConfig = true;
      this.buildConfig = {};
      this.pendingConfigNames = [];
      return;
    }
    if ((m = RE.running.exec(line))) {
      const setscene = m[1] === 'setscene ';
      const index = Number(m[2]);
      const total = Number(m[3]);
      this.progress.phase = 'running';
      if (!setscene) {
        this.progress.taskIndex = index;
        this.progress.taskTotal = total;
      }
      events.push({ kind: 'task-started', index, total, recipe: recipeFromFile(m[4]!), task: m[5]!, setscene });
      return;
    }
    if ((m = RE.recipeTask.exec(line))) {
      const key = `${recipeOfPf(m[1]!)}:${m[2]}`;
      if (m[3] === 'Started') {
        if (this.running.size < MAX_RUNNING) this.running.add(key);
      } else {
        this.running.delete(key);
        events.push({ kind: 'task-finished', recipe: recipeOfPf(m[1]!), task: m[2]!, ok: m[3] === 'Succeeded' });
      }
      this.progress.running = [...this.running];
      return;
    }
    if ((m = RE.graphSaved.exec(line))) {
      events.push({ kind: 'graph-saved', file: m[1]! });
      return;
    }
    if ((m = RE.logfile.exec(line))) this.lastLogFile = m[1];
    if ((m = RE.taskFailed.exec(line))) {
      const failure: FailedTask = { recipe: recipeFromFile(m[1]!), task: m[2]!, logFile: this.lastLogFile, lastLines: [...this.tail] };
      this.lastLogFile = undefined;
      if (this.progress.failures.length < MAX_KEPT) this.progress.failures.push(failure);
      events.push({ kind: 'task-failed', failure });
      return;
    }
    if ((m = RE.summary.exec(line))) {
      const attempted = Number(m[1]);
      const failed = m[3] ? Number(m[3]) : 0;
      this.progress.tasksSummary = { attempted, succeeded: attempted - failed, failed };
      events.push({ kind: 'tasks-summary', attempted, succeeded: attempted - failed, failed, text: line.slice('NOTE: '.length) });
      return;
    }
    if (line.startsWith('WARNING: ')) {
      this.progress.warnings++;
      events.push({ kind: 'warning', message: line.slice(9) });
    } else if (line.startsWith('ERROR: ') || line.includes('ERROR: ')) {
      const message = line.slice(line.indexOf('ERROR: ') + 7);
      this.progress.errors.push(message);
      if (this.progress.errors.length > MAX_KEPT) this.progress.errors.shift();
      events.push({ kind: 'error', message });
    }
  }

  private closeBuildConfig(events: BitbakeEvent[]): void {
    this.inBuildConfig = false;
    events.push({ kind: 'build-config', entries: this.buildConfig });
  }

  private remember(line: string): void {
    // progress redraws say nothing about a failure
    if (/^(Parsing recipes|Loading cache|Initialising tasks|Checking sstate mirror object availability): /.test(line)) return;
    this.tail.push(line.length > 1000 ? `${line.slice(0, 1000)}…` : line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }
}

/** The lines the CLI prints for a failed task. */
export function formatFailure(failure: FailedTask): string[] {
  return [
    `${failure.recipe} ${failure.task} failed`,
    ...(failure.logFile ? [`log: ${failure.logFile}`] : []),
    ...failure.lastLines.map((l) => `| ${l}`),
  ];
}
