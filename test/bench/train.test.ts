import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { benchTrain, PHASES } from '../../src/bench/train.js';
import { processAlive } from '../../src/util/fs.js';

/** The session id of a running process (Linux's /proc/PID/stat: state, ppid, pgrp, session after the name). */
const sessionOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3]);

test('bench train times each phase on both sides and measures the slowdown beside a competing job', async () => {
  let pids: number[] = [];
  let sessions: number[] = [];
  const r = await benchTrain({
    images: 16, batch: 8, size: 64, rounds: 1, threads: 1, competitors: 1, competitorThreads: 1, quiet: true,
    onCompetitors: (p) => {
      pids = p;
      sessions = p.map(sessionOf);
    },
  });
  assert.equal(r.images, 16);
  assert.equal(r.validationImages, 8);
  for (const side of [r.phases.finprint, r.phases.pytorch]) {
    assert.deepEqual(Object.keys(side).sort(), [...PHASES].sort());
    for (const p of PHASES) assert.ok(side[p]! >= 0, p);
    assert.ok(side.forward! > 0 && side.backward! > 0 && side.validation! > 0);
  }
  // The phases are parts of the epoch: together no longer than it took (24 photos at the measured rate).
  const epochSeconds = 24 / r.finprint_img_s;
  const total = PHASES.reduce((s, p) => s + r.phases.finprint[p]!, 0);
  assert.ok(total <= epochSeconds * 1.01, `${total} s of phases in a ${epochSeconds} s epoch`);
  const c = r.competition!;
  assert.equal(c.competitors, 1);
  assert.ok(c.finprint_slowdown > 0 && c.pytorch_slowdown > 0);
  assert.equal(c.finprint_slowdown, r.finprint_img_s / c.finprint_img_s);
  assert.equal(pids.length, 1);
  assert.equal(c.competitorSession, 'own');
  assert.notEqual(sessions[0], sessionOf(process.pid), 'the competing job runs in a session of its own, as another user\'s would');
  assert.ok(!pids.some(processAlive), 'the competing job was ended with the bench');
  assert.ok(r.machine.cpu.length > 0 && r.machine.matmulGflops > 0);
});

test('bench train --competitor-session shared starts the competing job in the bench\'s session; a wrong value is named', async () => {
  let sessions: number[] = [];
  const r = await benchTrain({ images: 16, batch: 8, size: 32, rounds: 1, threads: 1, competitors: 1, competitorThreads: 1, competitorSession: 'shared', quiet: true, onCompetitors: (p) => (sessions = p.map(sessionOf)) });
  assert.equal(r.competition!.competitorSession, 'shared');
  assert.deepEqual(sessions, [sessionOf(process.pid)]);
  await assert.rejects(benchTrain({ competitors: 1, competitorSession: 'elsewhere' as 'own' }), /one of own, shared for competitorSession/);
});
