// Facts about the engine's environment that decide its speed: libtorch build, BLAS, threads.
import { readFileSync, realpathSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { buildInfo, getNumInteropThreads, getNumThreads, noGrad } from './runtime.js';
import { randn } from './creation.js';
import { fairThreadsEnabled } from './fair_threads.js';
import { threadPolicy } from './native.js';

export interface EngineEnvironment {
  libtorch: string;
  blas: string;
  blasLibrary: string | null;
  intraOpThreads: number;
  interOpThreads: number;
  cores: number;
  /** The CPU's model name as the kernel reports it. */
  cpuModel: string;
  /** How OpenMP threads wait: finprint's shared-core setting, the user's variables, or libgomp's default. */
  waitPolicy: string;
  /** Whether training gives threads back when other processes use the cores (fair_threads.ts). */
  trainingThreads: string;
  cuda: boolean;
  cudaDevices: number;
  env: Record<string, string>;
}

/** The BLAS actually mapped into this process (the Debian alternative or a bundled MKL). */
function loadedBlas(): { name: string; path: string | null } {
  let maps = '';
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return { name: 'unknown (no /proc/self/maps)', path: null };
  }
  const libs = new Set(maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => /lib(open)?blas|libmkl|libblis|libatlas/.test(p)));
  const paths = [...libs].map((p) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  });
  const pick = (re: RegExp): string | undefined => paths.find((p) => re.test(p));
  const found = pick(/mkl/) ?? pick(/openblas/) ?? pick(/blis/) ?? pick(/atlas/) ?? pick(/blas/);
  if (!found) return { name: 'none loaded (libtorch uses its own kernels or MKL statically)', path: null };
  const name = /mkl/.test(found) ? 'MKL' : /openblas/.test(found) ? `OpenBLAS (${/pthread/.test(found) ? 'pthread' : /openmp/.test(found) ? 'openmp' : 'serial'})` : /blis/.test(found) ? 'BLIS' : /atlas/.test(found) ? 'ATLAS' : 'reference BLAS (slow: install libopenblas0-pthread)';
  return { name, path: found };
}

export function engineEnvironment(): EngineEnvironment {
  const info = buildInfo();
  const blas = loadedBlas();
  const env: Record<string, string> = {};
  for (const k of ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'FINPRINT_THREADS', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'FINPRINT_SHARED_CORES', 'LIBTORCH']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return {
    libtorch: info.version,
    blas: blas.name,
    blasLibrary: blas.path,
    intraOpThreads: getNumThreads(),
    interOpThreads: getNumInteropThreads(),
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() || 'unknown',
    waitPolicy: describeWaitPolicy(),
    trainingThreads: fairThreadsEnabled()
      ? 'adapt: training uses the cores other processes leave, measured every 2 s (FINPRINT_SHARED_CORES=0 keeps them all)'
      : 'fixed (FINPRINT_THREADS or OMP_NUM_THREADS set, or FINPRINT_SHARED_CORES=0)',
    cuda: info.cuda,
    cudaDevices: info.cudaDevices,
    env,
  };
}

/** Measured float32 matmul speed (GFLOP/s) on n x n matrices: a quick check that the BLAS is fast. */
export function matmulGflops(n = 1024, repeats = 5): number {
  return noGrad(() => {
    const a = randn([n, n]);
    const b = randn([n, n]);
    a.matmul(b).dispose();
    const start = process.hrtime.bigint();
    for (let i = 0; i < repeats; i++) a.matmul(b).dispose();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    a.dispose();
    b.dispose();
    return (2 * n ** 3 * repeats) / seconds / 1e9;
  });
}

function describeWaitPolicy(): string {
  const vars = (names: string[]): string => names.map((k) => `${k}=${process.env[k]}`).join(' ');
  switch (threadPolicy.mode) {
    case 'passive':
      return `shared cores: passive (${vars(Object.keys(threadPolicy.set))}; the cores were busy at start, or FINPRINT_SHARED_CORES=on)`;
    case 'spin':
      return `shared cores: short spin (${vars(Object.keys(threadPolicy.set))}; the cores were idle at start; FINPRINT_SHARED_CORES=on waits passively, =0 turns it off)`;
    case 'user':
      return `set by the environment (${vars(['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'].filter((k) => process.env[k]))})`;
    case 'off':
      return "libgomp's default spinning (FINPRINT_SHARED_CORES=0)";
  }
}

export interface ThreadCheck {
  threads: number;
  cores: number;
  /** The 1-minute load average before finprint started working: other processes' demand. */
  load: number;
  blas: string;
}

/** What slows the engine down that the user can fix: a slow BLAS, more threads than cores, busy cores. */
export function threadWarnings(c: ThreadCheck): string[] {
  const out: string[] = [];
  if (c.blas.startsWith('reference')) out.push('the reference BLAS is in use, about 35x slower than OpenBLAS: apt-get install libopenblas0-pthread');
  if (c.threads > c.cores) out.push(`threads are oversubscribed: ${c.threads} intra-op threads on ${c.cores} cores; set FINPRINT_THREADS=${c.cores} (or --threads)`);
  else if (c.load + c.threads > c.cores + 0.5) {
    out.push(
      `threads are oversubscribed: load average ${c.load.toFixed(1)} from other processes plus ${c.threads} threads on ${c.cores} cores; ` +
        'finprint will share the cores (its speed drops in proportion), or use fewer threads with FINPRINT_THREADS',
    );
  }
  return out;
}

/** threadWarnings for this process, now. */
export function currentThreadWarnings(env: EngineEnvironment = engineEnvironment()): string[] {
  return threadWarnings({ threads: env.intraOpThreads, cores: env.cores, load: loadavg()[0] ?? 0, blas: env.blas });
}
