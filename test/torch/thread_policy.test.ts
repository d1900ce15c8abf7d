import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { threadWarnings } from '../../src/torch/environment.js';
import { applyThreadPolicy, PASSIVE_ENV, SPIN_ENV, withoutFinprintPolicy } from '../../src/torch/thread_policy.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));

test('the wait policy follows the load at start, and is set only when the user chose none', () => {
  // Idle cores: a short spin; busy ones (load average >= 1): the passive wait.
  for (const [load, mode, vars] of [[0.2, 'spin', SPIN_ENV], [1.5, 'passive', PASSIVE_ENV]] as const) {
    const env: NodeJS.ProcessEnv = { PATH: '/bin' };
    const policy = applyThreadPolicy(env, load);
    assert.equal(policy.mode, mode);
    assert.deepEqual(policy.set, vars);
    for (const [k, v] of Object.entries(vars)) assert.equal(env[k], v);
    // What a PyTorch process run beside finprint gets: the user's environment, not finprint's choice.
    assert.deepEqual(withoutFinprintPolicy(env, policy), { PATH: '/bin' });
  }
  assert.equal(applyThreadPolicy({ FINPRINT_SHARED_CORES: 'on' }, 0).mode, 'passive', 'forced on idle cores');
  for (const user of [{ OMP_WAIT_POLICY: 'PASSIVE' }, { GOMP_SPINCOUNT: '0' }]) {
    const e: NodeJS.ProcessEnv = { ...user };
    assert.deepEqual(applyThreadPolicy(e, 3), { mode: 'user', set: {} });
    assert.deepEqual(e, user, "the user's variables are left as they are");
    assert.deepEqual(withoutFinprintPolicy(e, { mode: 'user', set: {} }), user);
  }
  for (const off of ['0', 'off', 'False']) {
    const e: NodeJS.ProcessEnv = { FINPRINT_SHARED_CORES: off };
    assert.deepEqual(applyThreadPolicy(e, 3), { mode: 'off', set: {} });
    assert.deepEqual(e, { FINPRINT_SHARED_CORES: off });
  }
});

test('threadWarnings names a slow BLAS, more threads than cores, and cores busy with other work', () => {
  const ok = { threads: 2, cores: 2, load: 0.2, blas: 'OpenBLAS (pthread)' };
  assert.deepEqual(threadWarnings(ok), []);
  assert.match(threadWarnings({ ...ok, blas: 'reference BLAS (slow: install libopenblas0-pthread)' })[0]!, /reference BLAS .*apt-get install libopenblas0-pthread/);
  assert.match(threadWarnings({ ...ok, threads: 8 })[0]!, /oversubscribed: 8 intra-op threads on 2 cores; set FINPRINT_THREADS=2/);
  assert.match(threadWarnings({ ...ok, load: 2.1 })[0]!, /oversubscribed: load average 2\.1 from other processes plus 2 threads on 2 cores/);
  assert.deepEqual(threadWarnings({ ...ok, threads: 1, load: 1.2 }), [], 'one thread beside one busy core fits');
});

function doctor(env: NodeJS.ProcessEnv): { status: number | null; report: Record<string, unknown>; stderr: string } {
  const base = { ...process.env };
  for (const k of ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'FINPRINT_SHARED_CORES', 'FINPRINT_THREADS', 'OMP_NUM_THREADS']) delete base[k];
  const r = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8', env: { ...base, ...env } });
  return { status: r.status, report: r.status === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : {}, stderr: r.stderr };
}

test('finprint doctor names the CPU, the measured GFLOP/s, how threads wait, and warns about oversubscription', () => {
  const d = doctor({ FINPRINT_THREADS: '64', FINPRINT_SHARED_CORES: 'on' });
  assert.equal(d.status, 0, d.stderr);
  assert.ok(typeof d.report.cpuModel === 'string' && d.report.cpuModel.length > 0);
  assert.ok((d.report.cores as number) >= 1);
  assert.ok((d.report.matmulGflops as number) > 0);
  assert.equal(d.report.intraOpThreads, 64);
  assert.match(d.report.trainingThreads as string, /^fixed \(FINPRINT_THREADS/, 'a thread count the user chose stays');
  assert.match(d.report.waitPolicy as string, /^shared cores: passive \(OMP_WAIT_POLICY=PASSIVE/);
  assert.ok((d.report.warnings as string[]).some((w) => /oversubscribed: 64 intra-op threads on \d+ cores/.test(w)));

  // The user's own setting wins, and the child process really sees it.
  const passive = doctor({ OMP_WAIT_POLICY: 'PASSIVE' });
  assert.equal(passive.status, 0, passive.stderr);
  assert.equal(passive.report.waitPolicy, 'set by the environment (OMP_WAIT_POLICY=PASSIVE)');
  assert.equal((passive.report.env as Record<string, string>).GOMP_SPINCOUNT, undefined);
  assert.match(passive.report.trainingThreads as string, /^adapt: training uses the cores other processes leave/);
});
