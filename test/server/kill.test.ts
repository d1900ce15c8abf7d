// A SIGKILL leaves no half-written encounter, photo or decision: `finprint catalogue import` and
// the review server (busy with uploads and decisions) are killed at random points, and each time
// `finprint catalogue check` finds no orphan rows, every photo embedded and its file whole, every
// encounter with its photo, every decision with its effect (and no effect without its decision);
// importing again then completes, taking in the files the killed runs had stored.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Catalogue, CATALOGUE_DB } from '../../src/catalogue/catalogue.js';
import { SqliteStore } from '../../src/catalogue/sqlite_store.js';
import { ENCOUNTER_STATUSES, type Encounter } from '../../src/catalogue/types.js';
import { exited, finprint, finprintChild, trainedCatalogue, waitForLine, type Fixture } from './helpers.js';

let fx: Fixture;
/** Photos not in the catalogue: for the import kills, and for the server's uploads. */
let importDir = '';
let uploadFiles: string[] = [];

interface Check {
  ok: boolean;
  stats: { photos: number; encounters: Record<string, number>; decisions: number };
  problems: { kind: string; message: string }[];
}

function check(): Check {
  const r = finprint(fx, ['catalogue', 'check', fx.catalogue, '--json']);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return JSON.parse(r.stdout) as Check;
}

/** Nothing half-written: only files an interrupted run stored before its transaction may be left over. */
function assertWhole(when: string): Check {
  const c = check();
  const serious = c.problems.filter((p) => p.kind !== 'orphan-file');
  assert.deepEqual(serious, [], `${when}: ${serious.map((p) => p.message).join('\n')}`);
  const encounters = Object.values(c.stats.encounters).reduce((a, b) => a + b, 0);
  assert.equal(c.stats.photos, encounters, `${when}: one photo per encounter`);
  return c;
}

/** Every decided encounter is as its latest decision left it; an undecided one is untouched. */
async function assertDecisionsWhole(when: string): Promise<void> {
  const catalogue = await Catalogue.open(fx.catalogue);
  try {
    const { items: decisions } = await catalogue.store.decisions({});
    for (const status of ENCOUNTER_STATUSES) {
      for (const e of (await catalogue.store.queue({ status })).items) {
        const mine = decisions.filter((d) => d.encounterId === e.id);
        if (mine.length === 0) {
          assert.equal(e.version, 1, `${when}: encounter ${e.id} changed without a decision`);
          continue;
        }
        const last = (mine.at(-1)!.after as { encounters: Encounter[] }).encounters.find((x) => x.id === e.id);
        assert.deepEqual(last, e, `${when}: encounter ${e.id} is as decision ${mine.at(-1)!.id} left it`);
      }
    }
  } finally {
    await catalogue.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  fx = await trainedCatalogue('finprint-server-kill-');
  const more = join(fx.work, 'more');
  const r = finprint(fx, ['synth', '--out', more, '--species', '3', '--individuals', '40', '--mean-images', '4', '--size', '64', '--seed', '11', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  importDir = join(more, 'train_images');
  uploadFiles = readdirSync(join(more, 'test_images')).sort().map((f) => join(more, 'test_images', f));
  assert.ok(readdirSync(importDir).length >= 80 && uploadFiles.length >= 12);
});

test('SIGKILL during catalogue import, at random points, leaves nothing half-written; importing again completes', async (t) => {
  const photos = readdirSync(importDir).length;
  const start = check().stats.photos;
  // how long a whole import takes here, on a copy
  const copy = join(fx.work, 'timing');
  assert.equal(finprint(fx, ['catalogue', 'init', copy, '--run', fx.run, '--quiet']).status, 0);
  const t0 = Date.now();
  assert.equal(finprint(fx, ['catalogue', 'import', copy, importDir, '--quiet']).status, 0);
  const whole = Date.now() - t0;
  t.diagnostic(`a whole import of ${photos} photos: ${whole} ms`);
  const files = (): number => readdirSync(join(fx.catalogue, 'photos'), { recursive: true }).filter((f) => String(f).includes('.')).length;
  const db = new SqliteStore(join(fx.catalogue, CATALOGUE_DB), { readonly: true });
  // where each kill lands: while the files are stored, while encounters are added (twice), anywhere
  const plan = ['storing', 'adding', 'adding', 'anywhere', 'anywhere'] as const;
  let storedNotAdded = 0;
  for (const [i, when] of plan.entries()) {
    const before = (await db.stats()).photos;
    const remaining = start + photos - before;
    if (remaining === 0) break; // an earlier run got to the end before its kill
    const child = finprintChild(fx, ['catalogue', 'import', fx.catalogue, importDir, '--quiet']);
    if (when === 'storing') {
      const target = files() + 1 + Math.floor(Math.random() * (photos - 1));
      while (child.exitCode === null && files() < target) await sleep(1);
    } else if (when === 'adding') {
      // once a random number of them are in, early on so that later kills still find work
      const target = before + 1 + Math.floor((Math.random() * (remaining - 1)) / 2);
      while (child.exitCode === null && (await db.stats()).photos < target) await sleep(1);
    } else await sleep(whole * (0.2 + 0.8 * Math.random()));
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited(child);
    const c = assertWhole(`after kill ${i + 1} (${when})`);
    const stored = c.problems.length;
    if (stored > 0) storedNotAdded++;
    t.diagnostic(`kill ${i + 1} (${when}): ${c.stats.photos - start} of ${photos} photos in, ${stored} files stored but not yet taken in`);
  }
  await db.close();
  assert.ok(storedNotAdded > 0, 'a kill landed between storing the files and adding their encounters');
  const again = finprint(fx, ['catalogue', 'import', fx.catalogue, importDir, '--json', '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  const summary = JSON.parse(again.stdout) as { added: number; duplicates: number; rejected: number };
  assert.equal(summary.rejected, 0);
  assert.equal(summary.added + summary.duplicates, photos);
  const c = check();
  assert.deepEqual(c.problems, [], 'no problems at all: the files killed runs stored are taken in');
  assert.equal(c.stats.photos, start + photos);
});

test('SIGKILL of the review server busy with uploads and decisions leaves nothing half-written', async (t) => {
  for (let round = 0; round < 2; round++) {
    const child = finprintChild(fx, ['serve', '--catalogue', fx.catalogue, '--port', '0']);
    const [, port] = await waitForLine(child, /finprint review server: http:\/\/127\.0\.0\.1:(\d+)\//);
    const api = `http://127.0.0.1:${port}/api`;
    let stop = false;
    let answered = 0;
    const uploads = (async () => {
      for (let k = 0; !stop; k++) {
        const form = new FormData();
        for (let j = 0; j < 3; j++) {
          const file = uploadFiles[(k * 3 + j + round * 5) % uploadFiles.length]!;
          form.append('file', new Blob([new Uint8Array(readFileSync(file))]), file.split('/').pop()!);
        }
        const r = await fetch(`${api}/photos`, { method: 'POST', body: form }).catch(() => null);
        if (!r) return;
        assert.equal(r.status, 201, await r.text());
        answered++;
      }
    })();
    const decisions = (async () => {
      for (let k = 0; !stop; k++) {
        const q = await fetch(`${api}/queue?sort=id&limit=50`).catch(() => null);
        if (!q) return;
        const items = ((await q.json()) as { items: Encounter[] }).items;
        const e = items[k % Math.max(1, items.length)];
        if (!e) continue;
        const body = { action: k % 2 ? 'skip' : 'unidentifiable', encounterId: e.id, version: e.version };
        const r = await fetch(`${api}/decisions`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }).catch(() => null);
        if (!r) return;
        assert.ok(r.status === 201 || r.status === 409, `${r.status} ${await r.text()}`);
        answered++;
      }
    })();
    while (answered < 2 && child.exitCode === null) await sleep(20);
    await sleep(200 + 1500 * Math.random());
    child.kill('SIGKILL');
    await exited(child);
    stop = true;
    await Promise.all([uploads, decisions]);
    assert.ok(answered >= 2, 'the server answered before it was killed');
    const c = assertWhole(`after killing the server (round ${round + 1})`);
    t.diagnostic(`server round ${round + 1}: ${answered} answers before the kill; ${c.stats.decisions} decisions, ${c.stats.photos} photos`);
    await assertDecisionsWhole(`after killing the server (round ${round + 1})`);
  }
  const again = finprint(fx, ['catalogue', 'import', fx.catalogue, ...uploadFiles, '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(check().problems, []);
});
