// How libtorch's OpenMP threads wait between parallel regions. By default libgomp spins for a
// while after each region so the next one starts at once; on cores that another job also uses,
// that spinning takes the other job's time slices and both slow down far beyond the ideal share
// (a ResNet-18 step 3.3x slower next to one two-thread job, where 2x is fair). A short spin keeps
// the idle speed and yields the core quickly when it is contended. The variables are read once,
// when libgomp loads, so this runs before the binding is loaded (src/torch/native.ts).

/** What finprint sets when the user set none of the wait-policy variables. */
export const SHARED_CORE_ENV: Readonly<Record<string, string>> = { GOMP_SPINCOUNT: '10000' };

/** The variables that already decide the wait policy when the user sets one. */
const USER_WAIT_VARIABLES = ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'];

export interface ThreadPolicy {
  /** 'shared': finprint set SHARED_CORE_ENV; 'user': the environment decided; 'off': FINPRINT_SHARED_CORES=0. */
  mode: 'shared' | 'user' | 'off';
  /** The variables finprint set (empty unless mode is 'shared'). */
  set: Record<string, string>;
}

/**
 * Sets the shared-core wait policy in `env` unless the user chose one (OMP_WAIT_POLICY or
 * GOMP_SPINCOUNT) or turned it off (FINPRINT_SHARED_CORES=0).
 */
export function applyThreadPolicy(env: NodeJS.ProcessEnv = process.env): ThreadPolicy {
  if (USER_WAIT_VARIABLES.some((k) => env[k] !== undefined && env[k] !== '')) return { mode: 'user', set: {} };
  const flag = env.FINPRINT_SHARED_CORES?.trim().toLowerCase();
  if (flag === '0' || flag === 'off' || flag === 'false') return { mode: 'off', set: {} };
  Object.assign(env, SHARED_CORE_ENV);
  return { mode: 'shared', set: { ...SHARED_CORE_ENV } };
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
