// Runs the PyTorch half of a benchmark in a Python process that waits for a newline before each
// timed round, so finprint and PyTorch rounds alternate and share the machine's noise fairly.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { engineEnvironment, matmulGflops } from '../torch/environment.js';
import { environmentWithoutFinprintPolicy } from '../torch/index.js';

/** Debian's python3-torch lives in /usr/bin/python3, which may not be the first python3 on PATH. */
export function findTorchPython(): string {
  const candidates = [process.env.FINPRINT_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, torchvision; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  throw new Error(
    'PyTorch is needed for the side-by-side benchmark but no python3 with torch and torchvision was found ' +
      `(tried ${candidates.join(', ')}). Install it with: apt-get install python3-torch python3-torchvision ` +
      '(or set FINPRINT_PYTHON to a python that has them)',
  );
}

/** The path of a script shipped in the repository's bench/ folder. */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`../../../bench/${name}`, import.meta.url));
}

export class PyTorchSide {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  private readonly queued: string[] = [];
  private stderr = '';
  private exited: string | undefined;

  constructor(script: string, args: string[]) {
    // The scripts import their shared helpers from bench/; no __pycache__ left in the checkout.
    this.child = spawn(findTorchPython(), [benchScript(script), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...environmentWithoutFinprintPolicy(), PYTHONDONTWRITEBYTECODE: '1' } });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => {
      const waiter = this.pending.shift();
      if (waiter) waiter(line);
      else this.queued.push(line);
    });
    this.child.on('exit', (code) => {
      this.exited = `the PyTorch benchmark (${script}) exited with code ${code}: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`;
      for (const w of this.pending.splice(0)) w('');
    });
  }

  /** Runs one timed round on the Python side and returns its JSON result. */
  async round<T>(): Promise<T> {
    if (this.exited) throw new Error(this.exited);
    this.child.stdin.write('\n');
    return this.read<T>();
  }

  /** The next JSON line the script prints: a round's result, or what it prints unasked (after its warm-up). */
  async read<T>(): Promise<T> {
    const line = this.queued.shift() ?? (this.exited ? '' : await new Promise<string>((resolve) => this.pending.push(resolve)));
    if (!line) throw new Error(this.exited ?? 'the PyTorch benchmark stopped');
    return JSON.parse(line) as T;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

/** Median of a list of numbers: robust to one noisy round on a shared machine. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Each phase's median seconds over rounds (a phase missing from a round counts 0). */
export function medianPhases(rounds: readonly Record<string, number>[]): Record<string, number> {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(names.map((k) => [k, median(rounds.map((r) => r[k] ?? 0))]));
}

/**
 * finprint / PyTorch as the median of each round's own ratio: a round and the PyTorch round just
 * before it share the machine's state (clock, cache, neighbours), so pairing them cancels the drift
 * that moves both sides between rounds, which a ratio of the two medians keeps.
 */
export function pairedRatio(finprint: readonly number[], pytorch: readonly number[]): number {
  if (finprint.length === 0 || finprint.length !== pytorch.length) throw new RangeError(`pairedRatio needs as many PyTorch rounds as finprint rounds (at least one), got ${finprint.length} and ${pytorch.length}`);
  return median(finprint.map((f, i) => f / pytorch[i]!));
}

/** What bench/pytorch_rounds.py prints for each round. */
interface PyTorchRound {
  img_s: number;
  /** Seconds in each phase of the round, for scripts that time them. */
  phases?: Record<string, number>;
  torch: string;
  threads: number;
  blas: string;
}

/** Both sides' throughput (medians over rounds), their ratio, and what the figures depend on. */
export interface SideBySide {
  finprint_img_s: number;
  pytorch_img_s: number;
  /** finprint / PyTorch, the median of the paired rounds' ratios: above 1, finprint is faster. */
  ratio: number;
  rounds: { finprint: number[]; pytorch: number[] };
  /** Per phase, the median seconds of PyTorch's rounds, when its script times phases. */
  pytorch_phases?: Record<string, number>;
  /** Medians of the further PyTorch sides, when alternateRounds was given any. */
  others_img_s?: number[];
  /** finprint / each further side, paired by round as `ratio` is. */
  others_ratio?: number[];
  finprint: { libtorch: string; blas: string; threads: number; interopThreads: number; waitPolicy: string };
  pytorch: { torch: string; blas: string; threads: number };
  /** The machine the figures come from: CPU model, cores, and float32 matmul speed at finprint's threads. */
  machine: { cpu: string; cores: number; matmulGflops: number };
}

export type OnRound = (round: number, finprintImgS: number, pytorchImgS: number) => void;

/**
 * Alternates `rounds` timed rounds, PyTorch's first: the Python side warms up until its first
 * round is asked for, so that warm-up never shares the cores with a timed finprint round.
 * `ours(round)` runs one finprint round and returns the number of images it processed. Further
 * PyTorch sides (`others`, e.g. another way to do the same work) run their round before each of
 * finprint's too, so one finprint round serves every comparison.
 */
export async function alternateRounds(py: PyTorchSide, rounds: number, ours: (round: number) => number | Promise<number>, onRound?: OnRound, others: readonly PyTorchSide[] = []): Promise<SideBySide> {
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  const finprint: number[] = [];
  const pytorch: number[] = [];
  const otherRates = others.map((): number[] => []);
  const phases: Record<string, number>[] = [];
  let theirs: PyTorchRound | undefined;
  for (let r = 0; r < rounds; r++) {
    theirs = await py.round<PyTorchRound>();
    pytorch.push(theirs.img_s);
    if (theirs.phases) phases.push(theirs.phases);
    for (const [i, side] of others.entries()) otherRates[i]!.push((await side.round<PyTorchRound>()).img_s);
    const start = performance.now();
    const images = await ours(r);
    finprint.push(images / ((performance.now() - start) / 1000));
    onRound?.(r, finprint[r]!, pytorch[r]!);
  }
  const env = engineEnvironment();
  return {
    finprint_img_s: median(finprint),
    pytorch_img_s: median(pytorch),
    ratio: pairedRatio(finprint, pytorch),
    rounds: { finprint, pytorch },
    ...(phases.length ? { pytorch_phases: medianPhases(phases) } : {}),
    ...(others.length ? { others_img_s: otherRates.map(median), others_ratio: otherRates.map((o) => pairedRatio(finprint, o)) } : {}),
    finprint: { libtorch: env.libtorch, blas: env.blas, threads: env.intraOpThreads, interopThreads: env.interOpThreads, waitPolicy: env.waitPolicy },
    pytorch: { torch: theirs!.torch, blas: theirs!.blas, threads: theirs!.threads },
    machine: { cpu: env.cpuModel, cores: env.cores, matmulGflops: Math.round(matmulGflops() * 10) / 10 },
  };
}
