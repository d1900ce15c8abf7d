// Gives cores back when other work arrives. libgomp reads its wait policy once, when it loads
// (thread_policy.ts), so a job started on idle cores keeps a short spin after each parallel region;
// when another job arrives later, the spinning takes its time slices and both slow down beyond
// their fair share (3.2x beside one two-thread job, where 2x is fair). So a training loop asks,
// between steps, how much of the machine other processes used over the last few seconds, and
// trains on the cores they leave (at least one thread, where no OpenMP team waits at all); when
// they go quiet it takes its threads back.
import { availableParallelism, cpus } from 'node:os';
import { checkInteger } from '../util/check.js';
import { getNumThreads, setNumThreads } from './runtime.js';
import { sharedCoresFlag } from './thread_policy.js';

/** CPU time so far, in milliseconds summed over every core. */
export interface CpuSample {
  /** Every process's (the kernel's included). */
  busyMs: number;
  /** Busy and idle: the elapsed time times the number of cores. */
  totalMs: number;
  /** This process's own, every thread of it. */
  ownMs: number;
}

export function sampleCpu(): CpuSample {
  let busyMs = 0;
  let totalMs = 0;
  for (const { times: t } of cpus()) {
    const busy = t.user + t.nice + t.sys + t.irq;
    busyMs += busy;
    totalMs += busy + t.idle;
  }
  const own = process.cpuUsage();
  return { busyMs, totalMs, ownMs: (own.user + own.system) / 1000 };
}

/** Cores other processes kept busy between two samples (0 when no time passed). */
export function otherCores(before: CpuSample, after: CpuSample, cores: number): number {
  const elapsedMs = (after.totalMs - before.totalMs) / cores;
  if (elapsedMs <= 0) return 0;
  const others = after.busyMs - before.busyMs - (after.ownMs - before.ownMs);
  return Math.max(0, others / elapsedMs);
}

/**
 * Whether training adapts its threads: not when the user fixed the count (OMP_NUM_THREADS,
 * FINPRINT_THREADS) or turned shared-core mode off (FINPRINT_SHARED_CORES=0).
 */
export function fairThreadsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (['OMP_NUM_THREADS', 'FINPRINT_THREADS'].some((k) => (env[k] ?? '') !== '')) return false;
  return sharedCoresFlag(env) !== 'off';
}

export interface FairThreadsOptions {
  /** The most threads to use: the count in effect when training starts, by default. */
  max?: number;
  cores?: number;
  /** How long each measurement lasts (milliseconds). */
  intervalMs?: number;
  /** Told each change: the new thread count and the cores others used. */
  onChange?: (threads: number, others: number) => void;
  /** For tests: the clock, the CPU counters and the engine's thread setter. */
  now?: () => number;
  sample?: () => CpuSample;
  setThreads?: (n: number) => void;
}

export class FairThreads {
  readonly max: number;
  private readonly cores: number;
  private readonly intervalMs: number;
  private readonly options: FairThreadsOptions;
  private readonly now: () => number;
  private readonly sample: () => CpuSample;
  private readonly setThreads: (n: number) => void;
  private window: { at: number; cpu: CpuSample } | undefined;
  private current: number;
  /** Intervals in a row that left room for more threads. */
  private roomy = 0;

  constructor(options: FairThreadsOptions = {}) {
    this.max = checkInteger('FairThreads.max', options.max ?? getNumThreads(), 1);
    this.cores = checkInteger('FairThreads.cores', options.cores ?? availableParallelism(), 1);
    this.intervalMs = checkInteger('FairThreads.intervalMs', options.intervalMs ?? 2000, 1);
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.sample = options.sample ?? sampleCpu;
    this.setThreads = options.setThreads ?? setNumThreads;
    this.current = this.max;
  }

  get threads(): number {
    return this.current;
  }

  /**
   * Starts a new measurement, leaving the thread count as it is: after a pause in which other
   * work of this program's own making ran (the other side of a benchmark), or a new epoch.
   */
  restart(): void {
    this.window = { at: this.now(), cpu: this.sample() };
  }

  /** Called between steps: at the end of each interval, sets the threads to the cores others leave. */
  check(): void {
    if (!this.window) return this.restart();
    const at = this.now();
    if (at - this.window.at < this.intervalMs) return;
    const cpu = this.sample();
    const others = otherCores(this.window.cpu, cpu, this.cores);
    this.window = { at, cpu };
    const clamp = (n: number): number => Math.min(this.max, Math.max(1, n));
    // Down as soon as others use more than half a core of ours. Up only when they leave nearly a whole core
    // more, two intervals in a row: while this process competes, the others get (and show) less
    // than they would use, most of all while a new epoch's photos decode.
    const fewer = clamp(Math.round(this.cores - others));
    const more = clamp(Math.floor(this.cores - others + 0.25));
    this.roomy = more > this.current ? this.roomy + 1 : 0;
    const next = fewer < this.current ? fewer : this.roomy >= 2 ? more : this.current;
    if (next === this.current) return;
    this.roomy = 0;
    this.current = next;
    this.setThreads(next);
    this.options.onChange?.(next, others);
  }

  /** Puts back the thread count training started with. */
  finish(): void {
    this.window = undefined;
    this.roomy = 0;
    if (this.current === this.max) return;
    this.current = this.max;
    this.setThreads(this.max);
  }
}

/** The log line for a change of thread count. */
export function describeThreadChange(threads: number, others: number, max: number): string {
  const use = `${others.toFixed(1)} cores busy with other processes`;
  return threads < max
    ? `${use}: training on ${threads} thread${threads > 1 ? 's' : ''} of ${max} (FINPRINT_SHARED_CORES=0 keeps them all)`
    : `${use}: training on all ${max} threads again`;
}

/**
 * A training loop's FairThreads (at most `max` threads, the count in effect by default), each
 * change told to `log`; none when fairThreadsEnabled() says no.
 */
export function fairThreadsFor(log: (message: string) => void, max?: number): FairThreads | undefined {
  if (!fairThreadsEnabled()) return undefined;
  const fair: FairThreads = new FairThreads({ ...(max ? { max } : {}), onChange: (n, others) => log(describeThreadChange(n, others, fair.max)) });
  return fair;
}
