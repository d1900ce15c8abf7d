import { checkInteger, checkNumber } from './check.js';

export interface ProgressOptions {
  /** Number of items expected. */
  total: number;
  /** Shown before the bar, e.g. 'synth'. */
  label?: string;
  /** Print nothing at all. */
  quiet?: boolean;
  /** Where to draw; stderr so stdout stays clean for --json and pipes. */
  stream?: ProgressStream;
  /** Milliseconds between lines when the stream is not a TTY (default 10000). */
  logInterval?: number;
  /** The clock, in milliseconds (default performance.now); tests pass a fake one. */
  now?: () => number;
}

/** What Progress writes to: process.stderr, or anything with write() and isTTY. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * A progress bar with count, rate and ETA. On a TTY it redraws one line (at most 10 times a
 * second); elsewhere (CI logs, pipes) it prints a line every `logInterval` (10 s) and one at the
 * end, so a log holds a few lines per task however many updates there are.
 */
export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly quiet: boolean;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly logInterval: number;
  private readonly now: () => number;
  private readonly started: number;
  private count = 0;
  private lastDraw = 0;
  /** The count the last log line showed (non-TTY), so done() does not repeat it. */
  private logged = -1;
  private finished = false;
  private status = '';

  constructor(options: ProgressOptions) {
    this.total = checkInteger('total', options.total, 0);
    this.label = options.label ?? '';
    this.quiet = options.quiet ?? false;
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.logInterval = checkNumber('logInterval', options.logInterval ?? 10_000, 0);
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.lastDraw = this.tty ? -Infinity : this.started;
  }

  /** Advances by n; `status` (e.g. the running loss) is shown after the rate. */
  tick(n = 1, status?: string): void {
    this.count = Math.min(this.total, this.count + n);
    if (status !== undefined) this.status = status;
    if (this.quiet || this.finished) return;
    const now = this.now();
    if (this.tty) {
      if (now - this.lastDraw >= 100 || this.count === this.total) {
        this.lastDraw = now;
        this.stream.write(`\r${this.line(true)}\u001b[K`);
      }
    } else if ((now - this.lastDraw >= this.logInterval || this.count === this.total) && this.count !== this.logged) {
      this.lastDraw = now;
      this.logged = this.count;
      this.stream.write(`${this.line(false)}\n`);
    }
  }

  /** Final line; safe to call more than once. */
  done(): void {
    if (this.finished) return;
    if (!this.quiet) {
      if (this.tty) this.stream.write(`\r${this.line(true)}\u001b[K\n`);
      else if (this.logged !== this.count) this.stream.write(`${this.line(false)}\n`);
    }
    this.finished = true;
  }

  private line(bar: boolean): string {
    const seconds = (this.now() - this.started) / 1000;
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
