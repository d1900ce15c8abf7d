// evaluate --protocol open|closed|disjoint through the CLI on a tiny trained run: the open-set
// metrics in the JSON (each in [0, 1], or null where it has nothing to measure), the photos each
// protocol selects (counted here independently from run.json and train.csv), and the report.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsv } from '../../src/data/csv.js';
import { synthesize } from '../../src/data/synth/index.js';
import type { EvaluationSummary } from '../../src/eval/summary.js';
import type { OpenSetMetrics } from '../../src/eval/open_set.js';
import { tempDir } from '../data/helpers.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
let work = '';
let run = '';
/** Validation photos per individual, split by whether the training split (the gallery) has it. */
let knownVal = 0;
let heldOut = new Map<string, number>();
/** Test photos (test_solution.csv) per individual the gallery lacks: held out of training, or new to it. */
const heldOutTest = new Map<string, number>();
/** The same, without the animals only true_individual_id names (Kaggle's new_individual ones). */
const heldOutNamed = new Map<string, number>();
let data = '';

function finprint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function evaluate(...args: string[]): EvaluationSummary {
  const r = finprint('evaluate', '--run', run, '--quiet', '--json', ...args);
  assert.equal(r.status, 0, `evaluate ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as EvaluationSummary;
}

const METRICS = ['top1_known', 'top5_known', 'map', 'baks', 'baus', 'auc'] as const;

/** Every metric a number in [0, 1], except those listed as null. */
function assertOpenSet(m: OpenSetMetrics | null, nulls: readonly (typeof METRICS)[number][] = []): void {
  assert.ok(m, 'open-set metrics present');
  for (const k of METRICS) {
    if (nulls.includes(k)) assert.equal(m[k], null, `${k} should be null`);
    else assert.ok(typeof m[k] === 'number' && m[k]! >= 0 && m[k]! <= 1, `${k} = ${m[k]}`);
  }
  assert.equal(m.known_queries + m.unknown_queries, m.queries);
}

before(async () => {
  work = await tempDir('finprint-protocol-');
  data = join(work, 'data');
  run = join(work, 'run');
  await synthesize({ out: data, species: 2, individuals: 10, meanImages: 7, size: 64, seed: 4, quiet: true });
  // A large held-out share, so the validation split has several named individuals the gallery lacks.
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({ valFraction: 0.3, newFraction: 0.5 }));
  const t = finprint('train', '--data', data, '--config', config, '--task', 'individual', '--backbone', 'vgg16_tiny', '--image-size', '48', '--epochs', '1', '--batch-size', '16', '--workers', '2', '--seed', '1', '--quiet', '--out', run);
  assert.equal(t.status, 0, t.stderr);
  const valImages = new Set((JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { valImages: string[] }).valImages.map((p) => basename(p)));
  const train = (await readCsv(join(data, 'train.csv'))).rows.map((r) => ({ image: r[0]!, id: r[2]! }));
  const gallery = new Set(train.filter((r) => !valImages.has(r.image)).map((r) => r.id));
  for (const r of train.filter((r) => valImages.has(r.image))) {
    if (gallery.has(r.id)) knownVal++;
    else heldOut.set(r.id, (heldOut.get(r.id) ?? 0) + 1);
  }
  for (const [, , id, who] of (await readCsv(join(data, 'test_solution.csv'))).rows) {
    if (gallery.has(who!)) continue;
    heldOutTest.set(who!, (heldOutTest.get(who!) ?? 0) + 1);
    if (id !== 'new_individual') heldOutNamed.set(id!, (heldOutNamed.get(id!) ?? 0) + 1);
  }
  assert.ok(knownVal > 0 && [...heldOut.values()].some((n) => n >= 2), `the split needs known and held-out individuals (${knownVal} known photos, held out ${[...heldOut]})`);
});

describe('evaluate --protocol', () => {
  it('open (the default) scores every validation photo and reports the open-set metrics, blended too', () => {
    const s = evaluate();
    assert.equal(s.protocol, 'open');
    assert.equal(s.protocol_seed, null);
    const heldPhotos = [...heldOut.values()].reduce((a, b) => a + b, 0);
    assert.deepEqual([s.images, s.known_images, s.new_images], [knownVal + heldPhotos, knownVal, heldPhotos]);
    assertOpenSet(s.open_set.gallery);
    assert.deepEqual([s.open_set.gallery.known_queries, s.open_set.gallery.unknown_queries], [knownVal, heldPhotos]);
    assert.equal(s.open_set.blended, null, 'no blended scores without --blend');
    assert.equal(s.open_set.gallery.threshold, s.threshold, "gallery-only scores are the run's own");
    const blended = evaluate('--blend', '0.5');
    assertOpenSet(blended.open_set.gallery);
    assertOpenSet(blended.open_set.blended, ['map']);
    assert.equal(blended.open_set.blended!.threshold, blended.threshold);
    assert.deepEqual(blended.open_set.gallery, s.open_set.gallery, 'the gallery-only figures do not depend on the blend');
    const html = readFileSync(join(run, 'evaluation.html'), 'utf8');
    assert.match(html, /Open-set metrics[^]*BAKS[^]*BAUS[^]*AUC new vs known[^]*gallery similarity only[^]*blended \(weight 0.5\)/);
    console.log(`# open: MAP@5 ${s.map5.toFixed(3)}; gallery ${JSON.stringify(s.open_set.gallery)}; blended ${JSON.stringify(blended.open_set.blended)}`);
  });

  it('closed scores only photos of individuals the gallery has', () => {
    const s = evaluate('--protocol', 'closed');
    assert.equal(s.protocol, 'closed');
    assert.deepEqual([s.images, s.known_images, s.new_images], [knownVal, knownVal, 0]);
    // No unknown queries: BAUS and the new-vs-known AUC have nothing to measure.
    assertOpenSet(s.open_set.gallery, ['baus', 'auc']);
    assert.equal(s.open_set.gallery.unknown_queries, 0);
    console.log(`# closed: MAP@5 ${s.map5.toFixed(3)}; gallery ${JSON.stringify(s.open_set.gallery)}`);
  });

  it('disjoint scores only held-out individuals, against one reference photo of each, seeded', () => {
    const s = evaluate('--protocol', 'disjoint', '--seed', '2');
    assert.deepEqual([s.protocol, s.protocol_seed], ['disjoint', 2]);
    const multi = [...heldOut.values()].filter((n) => n >= 2);
    const singles = [...heldOut.values()].filter((n) => n === 1).length;
    assert.equal(s.gallery.photos, multi.length, 'one reference photo per held-out individual with two or more');
    assert.deepEqual([s.gallery.reference, s.gallery.with_validation, s.gallery.cached], [true, false, false]);
    assert.deepEqual([s.images, s.known_images, s.new_images], [multi.reduce((a, n) => a + n - 1, 0) + singles, multi.reduce((a, n) => a + n - 1, 0), singles]);
    assertOpenSet(s.open_set.gallery, singles ? [] : ['baus', 'auc']);
    assert.equal(s.open_set.gallery.known_queries, s.known_images);
    assert.deepEqual(evaluate('--protocol', 'disjoint', '--seed', '2'), s, 'the same seed, the same figures');
    assert.match(readFileSync(join(run, 'evaluation.html'), 'utf8'), /disjoint protocol: only photos of individuals the training split lacks[^]*\(seed 2\)/);
    console.log(`# disjoint: MAP@5 ${s.map5.toFixed(3)} over ${s.images} queries and ${s.gallery.photos} reference photos; gallery ${JSON.stringify(s.open_set.gallery)}`);
  });

  it('a gallery with mirrors ranks each photo by its better view; a softmax run answers disjoint queries from its gallery', () => {
    const mirrored = evaluate('--protocol', 'closed', '--gallery-mirrors');
    assert.equal(mirrored.gallery.rows, 2 * mirrored.gallery.photos);
    assertOpenSet(mirrored.open_set.gallery, ['baus', 'auc']);
    // A softmax over individuals has no class for a held-out animal: its gallery (pooled features) answers, with a threshold for those scores.
    const softmax = join(work, 'softmax');
    const t = finprint('train', '--data', data, '--config', join(work, 'config.json'), '--task', 'individual-softmax', '--backbone', 'vgg16_tiny', '--image-size', '48', '--epochs', '1', '--batch-size', '16', '--workers', '2', '--seed', '1', '--quiet', '--out', softmax);
    assert.equal(t.status, 0, t.stderr);
    const r = finprint('evaluate', '--run', softmax, '--protocol', 'disjoint', '--quiet', '--json');
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as EvaluationSummary;
    assert.equal(s.images, [...heldOut.values()].reduce((a, n) => a + (n >= 2 ? n - 1 : 1), 0));
    assert.equal(s.threshold, s.open_set.gallery.threshold, 'answers and gallery-only metrics share the gallery threshold');
    assertOpenSet(s.open_set.gallery, [...heldOut.values()].some((n) => n === 1) ? [] : ['baus', 'auc']);
  });

  it('disjoint on the test split uses every individual the gallery lacks, the new animals by their true_individual_id', () => {
    assert.ok(heldOutTest.size > heldOutNamed.size && heldOutNamed.size > 0, 'the synthetic test split shows held-out and new individuals');
    const s = evaluate('--split', 'test', '--protocol', 'disjoint');
    const counts = [...heldOutTest.values()];
    assert.equal(s.images, counts.reduce((a, n) => a + (n >= 2 ? n - 1 : 1), 0));
    assert.equal(s.gallery.photos, counts.filter((n) => n >= 2).length);
    assert.equal(s.new_images, counts.filter((n) => n === 1).length);
    for (const k of METRICS) assert.ok(s.open_set.gallery[k] === null || (s.open_set.gallery[k]! >= 0 && s.open_set.gallery[k]! <= 1), `${k} = ${s.open_set.gallery[k]}`);
  });

  it('says clearly what is wrong: an unknown protocol or seed, or no photo the protocol can use', () => {
    const bad = finprint('evaluate', '--run', run, '--protocol', 'half-open', '--quiet');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /Expected one of open, closed, disjoint for --protocol but received "half-open"/);
    const seed = finprint('evaluate', '--run', run, '--protocol', 'disjoint', '--seed', '-1', '--quiet');
    assert.notEqual(seed.status, 0);
    assert.match(seed.stderr, /Expected an integer of at least 0 but received "-1"/);
    // A data folder whose test answers name none of the individuals the gallery lacks (Kaggle's form: no true_individual_id).
    const other = join(work, 'masked');
    cpSync(data, other, { recursive: true });
    const solution = readFileSync(join(data, 'test_solution.csv'), 'utf8').split('\n').map((line) => line.replace(/,[^,]*$/, ''));
    writeFileSync(join(other, 'test_solution.csv'), solution.map((line) => (heldOutNamed.has(line.split(',')[2] ?? '') ? line.replace(/,[^,]*$/, ',new_individual') : line)).join('\n'));
    const none = finprint('evaluate', '--run', run, '--data', other, '--split', 'test', '--protocol', 'disjoint', '--quiet');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /--protocol disjoint: the test split \(test_solution.csv\) has no photo of a named individual the gallery lacks[^]*try --split val/);
  });
});
