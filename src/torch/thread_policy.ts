// How libtorch's OpenMP threads wait between parallel regions. By default libgomp spins for a
// while after each region so the next one starts at once; on cores that another job also uses,
// that spinning takes the other job's time slices and both slow down far beyond their fair share
// (an efficientnet_b0 epoch 10x slower beside one two-thread job, where 2x is fair). Waiting
// passively gives the fair share but costs a fifth of the idle speed; a short spin keeps the idle
// speed and yields the core sooner. So finprint picks by the load it finds when it starts: busy
// cores get the passive wait, idle ones the short spin (README, "Threads and shared machines").
// The variables are read once, when libgomp loads, so this runs before the binding is loaded
// (src/torch/native.ts).
import { availableParallelism, loadavg } from 'node:os';

/** Idle cores at start: a short spin (libgomp's default is 300,000). */
export const SPIN_ENV: Readonly<Record<string, string>> = { GOMP_SPINCOUNT: '10000' };
/** Cores already busy at start (or FINPRINT_SHARED_CORES=on): wait without spinning. */
export const PASSIVE_ENV: Readonly<Record<string, string>> = { OMP_WAIT_POLICY: 'PASSIVE' };
/** The load average (other processes' runnable threads) from which the cores count as busy. */
export const BUSY_LOAD = 1;

/** The variables that already decide the wait policy when the user sets one. */
const USER_WAIT_VARIABLES = ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'];

export interface ThreadPolicy {
  /**
   * 'passive' / 'spin': finprint set PASSIVE_ENV / SPIN_ENV; 'user': the environment decided;
   * 'off': FINPRINT_SHARED_CORES=0, libgomp's default.
   */
  mode: 'passive' | 'spin' | 'user' | 'off';
  /** The variables finprint set (empty unless it set some). */
  set: Record<string, string>;
}

/**
 * Sets the wait policy in `env` unless the user chose one (OMP_WAIT_POLICY or GOMP_SPINCOUNT) or
 * turned finprint's off (FINPRINT_SHARED_CORES=0). FINPRINT_SHARED_CORES=on always waits
 * passively; otherwise `load` (the 1-minute load average) at or above BUSY_LOAD does.
 */
export function applyThreadPolicy(env: NodeJS.ProcessEnv = process.env, load = loadavg()[0] ?? 0): ThreadPolicy {
  if (USER_WAIT_VARIABLES.some((k) => env[k] !== undefined && env[k] !== '')) return { mode: 'user', set: {} };
  const flag = sharedCoresFlag(env);
  if (flag === 'off') return { mode: 'off', set: {} };
  const passive = flag === 'on' || (flag === 'auto' && load >= Math.min(BUSY_LOAD, availableParallelism()));
  const set = { ...(passive ? PASSIVE_ENV : SPIN_ENV) };
  Object.assign(env, set);
  return { mode: passive ? 'passive' : 'spin', set };
}

/** FINPRINT_SHARED_CORES: 0/off/false, 1/on/true, or unset (anything else): decided by the load. */
export function sharedCoresFlag(env: NodeJS.ProcessEnv): 'on' | 'off' | 'auto' {
  const flag = env.FINPRINT_SHARED_CORES?.trim().toLowerCase() ?? '';
  return ['0', 'off', 'false'].includes(flag) ? 'off' : ['1', 'on', 'true'].includes(flag) ? 'on' : 'auto';
}

/**
 * `env` without the variables finprint set itself: what another program (the PyTorch side of a
 * benchmark) would have seen had finprint not started first.
 */
export function withoutFinprintPolicy(env: NodeJS.ProcessEnv, policy: ThreadPolicy): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of Object.keys(policy.set)) delete out[k];
  return out;
}
