import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeThreadChange, FairThreads, fairThreadsEnabled, otherCores, sampleCpu, type CpuSample } from '../../src/torch/fair_threads.js';

/** A machine of `cores` cores where, each second, this process uses `own` cores and others `others`. */
function machine(cores: number) {
  const clock = { ms: 0, busy: 0, own: 0, others: 0, ownRate: 0 };
  return {
    now: () => clock.ms,
    sample: (): CpuSample => ({ busyMs: clock.busy, totalMs: clock.ms * cores, ownMs: clock.own }),
    load(own: number, others: number) {
      clock.ownRate = own;
      clock.others = others;
    },
    advance(ms: number) {
      clock.ms += ms;
      clock.own += clock.ownRate * ms;
      clock.busy += (clock.ownRate + clock.others) * ms;
    },
  };
}

test('otherCores: what other processes used between two samples, in cores', () => {
  const before = { busyMs: 1000, totalMs: 8000, ownMs: 300 };
  // 2 cores, 1 s: 1.5 core-seconds busy, 0.5 of them ours.
  assert.equal(otherCores(before, { busyMs: 2500, totalMs: 10000, ownMs: 800 }, 2), 1);
  assert.equal(otherCores(before, before, 2), 0, 'no time passed');
  assert.equal(otherCores(before, { busyMs: 1500, totalMs: 10000, ownMs: 900 }, 2), 0, 'never below zero (counters of different resolution)');
});

test('sampleCpu reads real counters that only grow', () => {
  const a = sampleCpu();
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  const b = sampleCpu();
  assert.ok(x > 0 && b.totalMs >= a.totalMs && b.busyMs >= a.busyMs && b.ownMs > a.ownMs, JSON.stringify({ a, b }));
});

test('FairThreads trains on the cores others leave, at least one, and takes them back when they go', () => {
  const m = machine(4);
  const set: number[] = [];
  const changes: string[] = [];
  const fair = new FairThreads({ max: 4, cores: 4, intervalMs: 2000, now: m.now, sample: m.sample, setThreads: (n) => set.push(n), onChange: (n, o) => changes.push(`${n}@${o.toFixed(1)}`) });
  fair.restart();
  m.load(4, 0.2);
  m.advance(2500);
  fair.check();
  assert.deepEqual(set, [], 'background noise is not a job');
  m.load(2.5, 1.6); // another job arrives
  m.advance(1000);
  fair.check();
  assert.deepEqual(set, [], 'nothing decided before the interval ends');
  m.advance(1500);
  fair.check();
  assert.deepEqual([set, fair.threads], [[2], 2], 'two of four cores busy elsewhere');
  m.load(1, 6); // a heavy job: still one thread
  m.advance(2000);
  fair.check();
  assert.equal(fair.threads, 1);
  m.load(1, 0);
  m.advance(2000);
  fair.check();
  assert.deepEqual(set, [2, 1], 'up only after two quiet intervals');
  m.advance(2000);
  fair.check();
  assert.deepEqual([set, changes], [[2, 1, 4], ['2@1.6', '1@6.0', '4@0.0']]);
  m.load(2, 1);
  m.advance(2000);
  fair.check();
  fair.finish();
  assert.deepEqual(set, [2, 1, 4, 3, 4], 'finish puts back the threads training started with');
});

test('FairThreads goes down at half a core taken, and up only when nearly a whole core is free', () => {
  const m = machine(2);
  const set: number[] = [];
  const fair = new FairThreads({ max: 2, cores: 2, intervalMs: 2000, now: m.now, sample: m.sample, setThreads: (n) => set.push(n) });
  fair.restart();
  const interval = (own: number, others: number): void => {
    m.load(own, others);
    m.advance(2000);
    fair.check();
  };
  interval(1.4, 0.6);
  assert.deepEqual(set, [1]);
  // Competing for the cores, the other job shows less than it would use: not room enough.
  for (let i = 0; i < 4; i++) interval(1.6, 0.4);
  assert.deepEqual(set, [1]);
  interval(1, 0.1);
  interval(1.6, 0.4);
  interval(1, 0.1);
  assert.deepEqual(set, [1], 'two quiet intervals in a row, not two in all');
  interval(1, 0.1);
  assert.deepEqual(set, [1, 2]);
});

test('FairThreads.restart leaves out a pause in which other work of the same program ran', () => {
  const m = machine(2);
  const set: number[] = [];
  const fair = new FairThreads({ max: 2, cores: 2, intervalMs: 2000, now: m.now, sample: m.sample, setThreads: (n) => set.push(n) });
  fair.restart();
  m.load(0, 2); // the other side of a benchmark runs while this side waits
  m.advance(5000);
  fair.restart();
  m.load(2, 0);
  m.advance(2000);
  fair.check();
  assert.deepEqual(set, []);
  assert.throws(() => new FairThreads({ max: 0 }), /FairThreads\.max/);
});

test('fairThreadsEnabled: off when the user fixed the thread count or turned shared-core mode off', () => {
  assert.equal(fairThreadsEnabled({}), true);
  assert.equal(fairThreadsEnabled({ FINPRINT_SHARED_CORES: 'on' }), true);
  assert.equal(fairThreadsEnabled({ FINPRINT_SHARED_CORES: '0' }), false);
  assert.equal(fairThreadsEnabled({ FINPRINT_THREADS: '2' }), false);
  assert.equal(fairThreadsEnabled({ OMP_NUM_THREADS: '1' }), false);
  assert.match(describeThreadChange(1, 1.3, 2), /1\.3 cores busy with other processes: training on 1 thread of 2/);
  assert.match(describeThreadChange(2, 0.1, 2), /training on all 2 threads again/);
});
