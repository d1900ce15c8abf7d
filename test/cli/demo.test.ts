import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));

test('finprint demo --quick runs every step and leaves its reports and a scored submission', () => {
  const work = mkdtempSync(join(tmpdir(), 'finprint-demo-'));
  const out = join(work, 'demo');
  const r = spawnSync(process.execPath, [cli, 'demo', '--quick', '--out', out], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  assert.equal(r.status, 0, `${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  for (const f of ['eda.html', 'tournament/tournament.html', 'tournament/tournament.json', 'runs/species/report.html', 'runs/softmax/report.html', 'runs/softmax/evaluation.json', 'runs/arcface/report.html', 'runs/arcface/evaluation.html', 'submission.csv', 'matches.html']) {
    assert.ok(existsSync(join(out, f)), `${f} written`);
  }
  const submission = readFileSync(join(out, 'submission.csv'), 'utf8').trim().split('\n');
  const solution = readFileSync(join(out, 'data', 'test_solution.csv'), 'utf8').trim().split('\n');
  assert.equal(submission[0], 'image,predictions');
  assert.equal(submission.length, solution.length, 'one row per test photo');
  assert.match(r.stdout, /MAP@5 \d\.\d+ on \d+ photos/);
  assert.match(r.stdout, /softmax over individuals \(the seed\) +\d\.\d{4}\n +ArcFace embedding \+ gallery search +\d\.\d{4}/);
  // The open-set metrics of the gallery-only and blended scores, beside MAP@5.
  assert.match(r.stdout, /open-set metrics on the test photos[^]*MAP@5 +top-1 +top-5 +mAP +BAKS +BAUS +AUC\n +softmax run, gallery only( +(\d\.\d{3}|n\/a)){7}\n +ArcFace run, gallery only( +(\d\.\d{3}|n\/a)){7}\n +ArcFace run, blended \(0\.5\)( +(\d\.\d{3}|n\/a)){7}/);
  assert.match(r.stderr, /weights: loaded \d+ tensors from .*tournament/, 'the final round starts from the winner\'s tournament weights');
  // After the tournament, the identification recipe on the animals' boxes.
  assert.match(r.stdout, /\$ finprint train .*--task joint .*--config \S+joint-crops\.yaml --crops \S+boxes\.csv/);
  assert.equal(r.stderr.match(/crops: \d+ photos cut to their box; 0 used whole/g)?.length, 3, 'species, softmax and ArcFace runs train on crops');
  assert.match(r.stdout, /\$ finprint catalogue import .* --boxes \S+boxes\.csv/);
  // The identification step ranks by the blended scores and by the gallery alone.
  assert.match(r.stdout, /\n  1\. \S+ [^\n]*\n(  \d\. [^\n]*\n){4}  gallery only \(threshold \d\.\d{3}\): 1\. \S+/);
  assert.match(r.stdout, /catalogue: \d+ photos added, \d+ known individuals/);
  assert.match(r.stdout, new RegExp(`${solution.length - 1} new encounters to review, 0 already in the catalogue, 0 not imported`), 'every test photo an encounter to review');
  assert.match(r.stdout, /\$ finprint serve --catalogue .*catalogue/);
  assert.match(r.stdout, /demo finished in/);
});
