import { checkInteger } from './check.js';

export interface ProgressOptions {
  /** Number of items expected. */
  total: number;
  /** Shown before the bar, e.g. 'synth'. */
  label?: string;
  /** Print nothing at all. */
  quiet?: boolean;
  /** Where to draw; stderr so stdout stays clean for --json and pipes. */
  stream?: NodeJS.WriteStream;
}

/**
 * A progress bar with count, rate and ETA. On a TTY it redraws one line (at most 10 times a
 * second); elsewhere (CI logs, pipes) it prints one line per 10% so logs stay short.
 */
export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly quiet: boolean;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly started = performance.now();
  private count = 0;
  private lastDraw = 0;
  private lastDecile = 0;
  private finished = false;
  private status = '';

  constructor(options: ProgressOptions) {
    this.total = checkInteger('total', options.total, 0);
    this.label = options.label ?? '';
    this.quiet = options.quiet ?? false;
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Advances by n; `status` (e.g. the running loss) is shown after the rate. */
  tick(n = 1, status?: string): void {
    this.count = Math.min(this.total, this.count + n);
    if (status !== undefined) this.status = status;
    if (this.quiet || this.finished) return;
    if (this.tty) {
      const now = performance.now();
      if (now - this.lastDraw >= 100 || this.count === this.total) {
        this.lastDraw = now;
        this.stream.write(`\r${this.line(true)}\u001b[K`);
      }
    } else {
      const decile = this.total === 0 ? 10 : Math.floor((this.count * 10) / this.total);
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${this.line(false)}\n`);
      }
    }
  }

  /** Final line; safe to call more than once. */
  done(): void {
    if (this.finished) return;
    if (!this.quiet) {
      if (this.tty) this.stream.write(`\r${this.line(true)}\u001b[K\n`);
      else if (this.lastDecile < 10) this.stream.write(`${this.line(false)}\n`);
    }
    this.finished = true;
  }

  private line(bar: boolean): string {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.count / seconds : 0;
    const share = this.total === 0 ? 1 : this.count / this.total;
    const width = 24;
    const filled = Math.round(share * width);
    const parts = [
      this.label,
      bar ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]` : '',
      `${this.count}/${this.total}`,
      `${Math.floor(share * 100)}%`,
      `${rate.toFixed(1)}/s`,
      this.count < this.total && rate > 0 ? `ETA ${formatDuration((this.total - this.count) / rate)}` : `${formatDuration(seconds)}`,
      this.status,
    ];
    return parts.filter(Boolean).join(' ');
  }
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${Math.round(seconds % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}
