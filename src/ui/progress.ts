import { logLine, outputMode } from '../util/output.js';

export interface ByteProgress {
  phase: string;
  done: number;
  /** 0 when unknown (a compressed image without a bmap): no bar, no ETA */
  total: number;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes >= 1e9 ? 0 : 1)} MB`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** "412.0 MB of 695.0 MB (59%), 85.3 MB/s, ETA 0:03" — the same words on a TTY and in a log. */
export function describeProgress(p: ByteProgress, seconds: number): string {
  const rate = seconds > 0 ? p.done / seconds : 0;
  const speed = `${(rate / 1e6).toFixed(1)} MB/s`;
  if (p.total <= 0) return `${mb(p.done)}, ${speed}`;
  const percent = Math.min(100, Math.floor((p.done / p.total) * 100));
  const eta = rate > 0 ? (p.total - p.done) / rate : Infinity;
  return `${mb(p.done)} of ${mb(p.total)} (${percent}%), ${speed}, ETA ${duration(eta)}`;
}

/**
 * A byte-progress display: a redrawn bar on a TTY, a plain line every few seconds otherwise
 * (YOCTOFORGE_PROGRESS_INTERVAL seconds, default 5), so CI logs show the flash is alive.
 */
export function byteProgress(): { update: (p: ByteProgress) => void; end: () => void } {
  const interactive = outputMode().interactive;
  const interval = Number(process.env.YOCTOFORGE_PROGRESS_INTERVAL ?? 5) * 1000;
  let phase = '';
  let phaseStart = performance.now();
  let lastPlain = 0;
  let drawn = false;
  const end = (): void => {
    if (drawn) process.stdout.write('\n');
    drawn = false;
  };
  const update = (p: ByteProgress): void => {
    const now = performance.now();
    if (p.phase !== phase) {
      end();
      phase = p.phase;
      phaseStart = now;
      lastPlain = now;
    }
    const text = describeProgress(p, (now - phaseStart) / 1000);
    const title = p.phase.charAt(0).toUpperCase() + p.phase.slice(1);
    if (interactive) {
      const width = 30;
      const filled = p.total > 0 ? Math.round((Math.min(p.done, p.total) / p.total) * width) : 0;
      const bar = p.total > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
      process.stdout.write(`\r\x1b[2K${title} ${bar}${text}`);
      drawn = true;
    } else if (now - lastPlain >= interval) {
      lastPlain = now;
      logLine(`${title}: ${text}`);
    }
  };
  return { update, end };
}
