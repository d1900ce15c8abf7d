// End to end through the CLI: a tiny identification run trained on a synthetic set, then
// identify, evaluate, predict and score against it.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsv } from '../../src/data/csv.js';
import { synthesize } from '../../src/data/synth/index.js';
import { parseSubmission } from '../../src/identify/submission.js';
import { tempDir } from '../data/helpers.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
let work = '';
let data = '';
let run = '';

function finprint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): string {
  const r = finprint(...args);
  assert.equal(r.status, 0, `finprint ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

const json = <T>(...args: string[]): T => JSON.parse(ok(...args)) as T;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(async () => {
  work = await tempDir('finprint-identify-');
  data = join(work, 'data');
  run = join(work, 'run');
  await synthesize({ out: data, species: 3, individuals: 12, meanImages: 8, size: 96, seed: 5, quiet: true });
  ok('train', '--data', data, '--task', 'individual', '--backbone', 'vgg16_tiny', '--image-size', '64', '--epochs', '4', '--batch-size', '16', '--lr', '0.003', '--workers', '2', '--quiet', '--out', run);
});

interface Summary {
  map5: number;
  top1: number;
  top5: number;
  species_accuracy: number;
  threshold: number;
  known_recall: number;
  new_recall: number;
  per_species_map5: Record<string, number>;
  images: number;
  gallery: { cached: boolean; photos: number; with_validation: boolean };
}

describe('identify, evaluate, predict, score', () => {
  it('identify ranks a gallery photo\'s own individual first, at similarity ~1', async () => {
    const valImages = new Set((JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { valImages: string[] }).valImages.map((p) => basename(p)));
    const train = await readCsv(join(data, 'train.csv'));
    const row = train.rows.find((r) => !valImages.has(r[0]!))!;
    const out = json<{ threshold: number; photos: { species: { species: string; probability: number }[]; individuals: { id: string; similarity: number | null; gallery_photo: string | null }[] }[] }>(
      'identify', '--run', run, '--quiet', '--json', '--report', join(work, 'matches.html'), join(data, 'train_images', row[0]!),
    );
    const [photo] = out.photos;
    assert.equal(photo!.individuals[0]!.id, row[2]);
    assert.ok(photo!.individuals[0]!.similarity! > 0.999);
    assert.equal(basename(photo!.individuals[0]!.gallery_photo!), row[0]);
    assert.equal(photo!.individuals.length, 5);
    assert.ok(photo!.species[0]!.probability >= photo!.species[1]!.probability);
    assert.ok(existsSync(join(run, 'gallery.safetensors')) && existsSync(join(run, 'threshold.json')), 'gallery and threshold stored in the run folder');
    const page = readFileSync(join(work, 'matches.html'), 'utf8');
    assert.equal(page.match(/<img src="data:image\/jpeg;base64,/g)?.length, 1 + photo!.individuals.filter((c) => c.gallery_photo !== null).length, 'the photo and its answers\' gallery photos');
  });

  it('evaluate --json gives every metric, each within [0, 1], and writes evaluation.html', () => {
    const s = json<Summary>('evaluate', '--run', run, '--quiet', '--json');
    for (const k of ['map5', 'top1', 'top5', 'species_accuracy', 'known_recall', 'new_recall'] as const) {
      assert.ok(typeof s[k] === 'number' && s[k] >= 0 && s[k] <= 1, `${k} = ${s[k]}`);
    }
    assert.ok(s.threshold >= -1 && s.threshold <= 1);
    assert.ok(Object.values(s.per_species_map5).every((v) => v >= 0 && v <= 1));
    assert.ok(s.images > 0);
    assert.equal(s.gallery.cached, true, 'the gallery embedded by identify is reused');
    const html = readFileSync(join(run, 'evaluation.html'), 'utf8');
    assert.match(html, /MAP@5 by species/);
    assert.match(html, /Species confusion matrix/);
    assert.match(html, /Calibrated probability: reliability[^]*predicted P\(same individual\)/, 'the reliability diagram of the calibrated probability');
    console.log(`# e2e validation MAP@5 ${s.map5.toFixed(4)} (top-1 ${s.top1.toFixed(3)}, species accuracy ${s.species_accuracy.toFixed(3)})`);
  });

  it('predict writes a valid submission covering every test photo, and score agrees with evaluate --split test', async () => {
    const out = join(work, 'submission.csv');
    ok('predict', '--run', run, '--quiet', '--out', out);
    const tests = (await readCsv(join(data, 'test_solution.csv'))).rows.map((r) => r[0]!);
    const sub = parseSubmission(readFileSync(out, 'utf8'), out, tests);
    assert.equal(sub.size, tests.length);
    assert.ok([...sub.values()].every((p) => p.length === 5));
    const scored = json<{ map5: number; images: number }>('score', join(data, 'test_solution.csv'), out, '--json');
    assert.equal(scored.images, tests.length);
    const evaluated = json<Summary>('evaluate', '--run', run, '--split', 'test', '--quiet', '--json');
    assert.equal(scored.map5, evaluated.map5);
    console.log(`# e2e test MAP@5 ${scored.map5.toFixed(4)}`);
  });

  it('--with-validation adds the validation photos to the searched gallery, so their individuals can be found', () => {
    const valImages = (JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { valImages: string[] }).valImages.map((p) => basename(p));
    const plain = json<Summary>('evaluate', '--run', run, '--split', 'test', '--blend', '0.5', '--quiet', '--json');
    rmSync(join(run, 'threshold.json'));
    const withVal = json<Summary>('evaluate', '--run', run, '--split', 'test', '--blend', '0.5', '--with-validation', '--quiet', '--json');
    assert.equal(withVal.gallery.photos, plain.gallery.photos + valImages.length);
    assert.deepEqual([plain.gallery.with_validation, withVal.gallery.with_validation], [false, true]);
    assert.match(readFileSync(join(run, 'evaluation.html'), 'utf8'), /the training split and the validation photos/);
    assert.equal(withVal.threshold, plain.threshold, 'calibrated without the validation photos either way');
    const photo = join(data, 'train_images', valImages[0]!);
    type Out = { photos: { individuals: { id: string; similarity: number | null; gallery_photo: string | null }[] }[] };
    const found = json<Out>('identify', '--run', run, '--with-validation', '--quiet', '--json', photo).photos[0]!.individuals;
    const best = found.find((c) => c.gallery_photo !== null)!;
    assert.equal(basename(best.gallery_photo!), valImages[0], 'the photo finds itself');
    assert.ok(best.similarity! > 0.999);
    const without = json<Out>('identify', '--run', run, '--quiet', '--json', photo).photos[0]!.individuals;
    assert.ok(without.every((c) => c.gallery_photo === null || !valImages.includes(basename(c.gallery_photo))), 'no validation photo without the flag');
    // Blended scores, imprinted centres included, do not depend on the other photos matched alongside.
    const blended = (...photos: string[]): Out['photos'] => json<Out>('identify', '--run', run, '--with-validation', '--blend', '0.5', '--quiet', '--json', ...photos).photos;
    const alone = blended(photo)[0]!.individuals;
    const together = blended(photo, join(data, 'train_images', valImages[1]!))[0]!.individuals;
    assert.deepEqual(together.map((c) => [c.id, c.gallery_photo]), alone.map((c) => [c.id, c.gallery_photo]));
    // Up to float rounding: a batch of two goes through the model differently from a batch of one.
    together.forEach((c, i) => assert.ok(Math.abs((c.similarity ?? 0) - (alone[i]!.similarity ?? 0)) < 1e-5, `${c.id}: ${c.similarity} vs ${alone[i]!.similarity}`));
    const mirrored = json<{ photos: { individuals: { gallery_photo: string | null; mirrored: boolean; similarity: number | null }[] }[] }>(
      'identify', '--run', run, '--with-validation', '--gallery-mirrors', '--quiet', '--json', photo,
    ).photos[0]!.individuals.find((c) => c.gallery_photo !== null)!;
    assert.equal(basename(mirrored.gallery_photo!), valImages[0], 'with mirrors too');
  });

  it('identify --blend also ranks by the gallery alone, as identify without --blend does', () => {
    const photos = readdirSync(join(data, 'test_images')).sort().slice(0, 3).map((f) => join(data, 'test_images', f));
    type Out = { threshold: number; gallery_only_threshold?: number; photos: { individuals: { id: string; similarity: number | null }[]; gallery_only?: { id: string; similarity: number | null }[] }[] };
    const blended = json<Out>('identify', '--run', run, '--blend', '0.5', '--quiet', '--json', ...photos);
    const plain = json<Out>('identify', '--run', run, '--quiet', '--json', ...photos);
    assert.equal(blended.gallery_only_threshold, plain.threshold, 'the gallery-only threshold is the one a run without --blend calibrates');
    assert.equal(plain.photos[0]!.gallery_only, undefined, 'nothing to add without --blend');
    blended.photos.forEach((p, i) => {
      assert.deepEqual(p.gallery_only!.map((c) => c.id), plain.photos[i]!.individuals.map((c) => c.id));
      p.gallery_only!.forEach((c, k) => assert.ok(Math.abs((c.similarity ?? 0) - (plain.photos[i]!.individuals[k]!.similarity ?? 0)) < 1e-6));
    });
    assert.notDeepEqual(blended.photos.map((p) => p.individuals.map((c) => c.similarity)), blended.photos.map((p) => p.gallery_only!.map((c) => c.similarity)), 'blended scores differ');
    assert.match(ok('identify', '--run', run, '--blend', '0.5', '--quiet', photos[0]!), /\n  gallery only \(threshold \d\.\d{3}\): 1\. \S+/);
  });

  it('fails clearly: a missing photo, a test split without answers, a bad submission', () => {
    const missing = finprint('identify', '--run', run, '--quiet', join(work, 'nope.jpg'));
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /photo file not found: .*nope\.jpg/);
    const kaggleLike = join(work, 'kaggle-like');
    cpSync(data, kaggleLike, { recursive: true, filter: (src) => basename(src) !== 'test_solution.csv' });
    const noAnswers = finprint('evaluate', '--run', run, '--data', kaggleLike, '--split', 'test', '--quiet');
    assert.notEqual(noAnswers.status, 0);
    assert.match(noAnswers.stderr, /--split test needs the answers in .*test_solution\.csv/);
    const bad = finprint('score', join(data, 'test_solution.csv'), join(data, 'train.csv'));
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /train\.csv: a problem:\n {2}line 1: header is "image,species,individual_id": expected exactly image,predictions/);
  });

  // It rebuilds the run's gallery from damaged data; the tests after it make their own.
  it('reports a photo it cannot read and goes on: left out of the gallery, answered new_individual in the submission', async () => {
    const damaged = join(work, 'damaged');
    cpSync(data, damaged, { recursive: true });
    const valImages = new Set((JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { valImages: string[] }).valImages.map((p) => basename(p)));
    const trainRows = (await readCsv(join(data, 'train.csv'))).rows;
    const [galleryPhoto, nextGalleryPhoto] = trainRows.filter((r) => !valImages.has(r[0]!)).map((r) => r[0]!);
    const valPhoto = [...valImages][0]!;
    const testPhoto = (await readCsv(join(data, 'test_solution.csv'))).rows[0]![0]!;
    for (const f of [join('train_images', galleryPhoto!), join('train_images', valPhoto), join('test_images', testPhoto)]) writeFileSync(join(damaged, f), 'not a photo');
    const out = join(work, 'damaged.csv');
    const r = finprint('predict', '--run', run, '--data', damaged, '--rebuild-gallery', '--quiet', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`gallery: cannot load .*${galleryPhoto}.*\\(left out of the gallery\\)`));
    assert.match(r.stderr, new RegExp(`cannot load .*${testPhoto}.*\\(left unmatched\\)`));
    const tests = (await readCsv(join(data, 'test_solution.csv'))).rows.map((row) => row[0]!);
    const sub = parseSubmission(readFileSync(out, 'utf8'), out, tests);
    assert.equal(sub.size, tests.length, 'every test photo answered');
    assert.deepEqual(sub.get(testPhoto), ['new_individual']);
    const s = json<Summary>('evaluate', '--run', run, '--data', damaged, '--split', 'test', '--quiet', '--json');
    assert.equal(s.gallery.photos, trainRows.length - valImages.size - 1);
    rmSync(join(run, 'threshold.json'));
    const withVal = finprint('evaluate', '--run', run, '--data', damaged, '--split', 'test', '--with-validation', '--quiet', '--json');
    assert.equal(withVal.status, 0, withVal.stderr);
    assert.equal((JSON.parse(withVal.stdout) as Summary).gallery.photos, trainRows.length - 2, 'neither unreadable training photo joins the gallery');
    assert.match(withVal.stderr, /gallery: cannot load .*\(left out of the gallery\)/, 'a cached gallery still says what it left out');
    // The rows after the dropped one still point at their own photos.
    type Out = { photos: { individuals: { gallery_photo: string | null; similarity: number | null }[] }[] };
    const best = json<Out>('identify', '--run', run, '--data', damaged, '--quiet', '--json', join(damaged, 'train_images', nextGalleryPhoto!)).photos[0]!.individuals.find((c) => c.gallery_photo !== null)!;
    assert.equal(basename(best.gallery_photo!), nextGalleryPhoto);
    assert.ok(best.similarity! > 0.999);
    const none = finprint('identify', '--run', run, '--data', damaged, '--quiet', join(damaged, 'test_images', testPhoto));
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /none of the 1 photo\(s\) can be read/);
  });
  // The safety issue's defects: a stale gallery cache, a read-only run folder, a zero-byte test photo.
  it('rebuilds a cached gallery made from another data folder or from photos since changed, saying why, and answers as a rebuilt one', async () => {
    const valImages = new Set((JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { valImages: string[] }).valImages.map((p) => basename(p)));
    const picks: string[][] = [];
    for (const r of (await readCsv(join(data, 'train.csv'))).rows) {
      if (!valImages.has(r[0]!) && !picks.some((p) => p[2] === r[2])) picks.push(r);
    }
    const [a, b, c, d] = picks.map((r) => r[0]!); // gallery photos of four different individuals
    ok('predict', '--run', run, '--data', data, '--quiet', '--out', join(work, 'before.csv')); // the cache is made from data/
    const other = join(work, 'other');
    cpSync(data, other, { recursive: true });
    const swap = (x: string, y: string): void => {
      const [px, py] = [join(other, 'train_images', x), join(other, 'train_images', y)];
      const [bx, by] = [readFileSync(px), readFileSync(py)];
      writeFileSync(px, by);
      writeFileSync(py, bx);
    };
    type Out = { photos: { individuals: { gallery_photo: string | null; similarity: number | null }[] }[] };
    const bestGalleryPhoto = (photo: string): { stderr: string; best: Out['photos'][number]['individuals'][number] } => {
      const r = finprint('identify', '--run', run, '--data', other, '--quiet', '--json', join(other, 'train_images', photo));
      assert.equal(r.status, 0, r.stderr);
      return { stderr: r.stderr, best: (JSON.parse(r.stdout) as Out).photos[0]!.individuals.find((x) => x.gallery_photo !== null)! };
    };
    // Same photo names, other contents: a stale cache would find the swapped partner's old row.
    swap(a!, b!);
    const moved = bestGalleryPhoto(a!);
    assert.match(moved.stderr, new RegExp(`gallery: the data folder is ${escape(other)}, the cache was made from ${escape(data)}.*, embedding again`));
    assert.equal(basename(moved.best.gallery_photo!), a, 'the photo finds its own row');
    assert.ok(moved.best.similarity! > 0.999);
    // Photos changed in place, names kept.
    swap(c!, d!);
    const inPlace = bestGalleryPhoto(c!);
    assert.match(inPlace.stderr, /gallery: photos changed since the cache was made \(2 photos\), embedding again/);
    assert.equal(basename(inPlace.best.gallery_photo!), c);
    assert.ok(inPlace.best.similarity! > 0.999);
    // Now the cache matches: reused without a word, with the answers of a rebuilt gallery.
    const reused = finprint('predict', '--run', run, '--data', other, '--quiet', '--out', join(work, 'other.csv'));
    assert.equal(reused.status, 0, reused.stderr);
    assert.doesNotMatch(reused.stderr, /embedding again/);
    ok('predict', '--run', run, '--data', other, '--rebuild-gallery', '--quiet', '--out', join(work, 'other-rebuilt.csv'));
    assert.equal(readFileSync(join(work, 'other.csv'), 'utf8'), readFileSync(join(work, 'other-rebuilt.csv'), 'utf8'));
  });

  it('keeps the gallery and threshold of a run folder it cannot write under FINPRINT_CACHE, and reads them back from there', () => {
    const ro = join(work, 'run-readonly');
    cpSync(run, ro, { recursive: true, filter: (src) => !['gallery.safetensors', 'threshold.json'].includes(basename(src)) });
    chmodSync(ro, 0o555);
    let writable = false;
    try {
      writeFileSync(join(ro, '.probe'), '');
      rmSync(join(ro, '.probe'));
      writable = true;
    } catch {
      // read-only as meant
    }
    // Root writes through permissions: block the two files instead, with folders where they would be written.
    if (writable) for (const f of ['gallery.safetensors', 'threshold.json']) mkdirSync(join(ro, f));
    try {
      const first = finprint('predict', '--run', ro, '--data', data, '--quiet', '--out', join(work, 'readonly.csv'));
      assert.equal(first.status, 0, first.stderr);
      const fallbacks = readdirSync(join(work, 'cache', 'runs')).filter((n) => n.startsWith('run-readonly-'));
      assert.equal(fallbacks.length, 1);
      const fallback = join(work, 'cache', 'runs', fallbacks[0]!);
      for (const f of ['gallery.safetensors', 'threshold.json']) {
        assert.ok(existsSync(join(fallback, f)), `${f} in ${fallback}`);
        const label = f === 'threshold.json' ? 'threshold' : 'gallery';
        assert.match(first.stderr, new RegExp(`${label}: cannot write ${escape(join(ro, f))} \\(E[A-Z]+\\); cached in ${escape(join(fallback, f))} instead`));
      }
      const stamps = (): number[] => ['gallery.safetensors', 'threshold.json'].map((f) => statSync(join(fallback, f)).mtimeMs);
      const before = stamps();
      const second = finprint('predict', '--run', ro, '--data', data, '--quiet', '--out', join(work, 'readonly-again.csv'));
      assert.equal(second.status, 0, second.stderr);
      assert.doesNotMatch(second.stderr, /cannot write|embedding again/);
      assert.deepEqual(stamps(), before, 'read back, neither embedded nor calibrated again');
      ok('predict', '--run', run, '--data', data, '--quiet', '--out', join(work, 'writable.csv'));
      for (const f of ['readonly.csv', 'readonly-again.csv']) assert.equal(readFileSync(join(work, f), 'utf8'), readFileSync(join(work, 'writable.csv'), 'utf8'), f);
    } finally {
      chmodSync(ro, 0o755);
    }
  });

  it('answers a zero-byte test photo new_individual alone and says so; the submission scores and evaluate --split test counts it', async () => {
    const zero = join(work, 'zero-byte');
    cpSync(data, zero, { recursive: true });
    const tests = (await readCsv(join(data, 'test_solution.csv'))).rows.map((row) => row[0]!);
    const empty = tests[1]!;
    writeFileSync(join(zero, 'test_images', empty), '');
    const out = join(work, 'zero-byte.csv');
    const r = finprint('predict', '--run', run, '--data', zero, '--quiet', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`test: cannot load ${escape(join(zero, 'test_images', empty))}: zero bytes \\(left unmatched\\)`));
    const sub = parseSubmission(readFileSync(out, 'utf8'), out, tests);
    assert.equal(sub.size, tests.length, 'every test photo answered');
    assert.deepEqual(sub.get(empty), ['new_individual']);
    const scored = json<{ map5: number; images: number }>('score', join(zero, 'test_solution.csv'), out, '--json');
    assert.equal(scored.images, tests.length);
    const evaluated = json<Summary>('evaluate', '--run', run, '--data', zero, '--split', 'test', '--quiet', '--json');
    assert.equal(evaluated.images, tests.length);
    assert.equal(evaluated.map5, scored.map5);
  });
});
