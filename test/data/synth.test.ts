import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { readCsv } from '../../src/data/csv.js';
import { readCompetition } from '../../src/data/happywhale.js';
import { SPECIES } from '../../src/data/species.js';
import { planCensus } from '../../src/data/synth/census.js';
import { synthesize, type SynthSummary } from '../../src/data/synth/index.js';
import { tempDir, TINY } from './helpers.js';

/** sha1 over every file's relative path and bytes, in sorted order. */
async function hashTree(dir: string): Promise<string> {
  const h = createHash('sha1');
  const walk = async (rel: string): Promise<void> => {
    for (const e of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(rel, e.name);
      if (e.isDirectory()) await walk(p);
      else h.update(p).update(await readFile(join(dir, p)));
    }
  };
  await walk('.');
  return h.digest('hex');
}

const records = async (file: string): Promise<Record<string, string>[]> => {
  const t = await readCsv(file);
  return t.rows.map((r) => Object.fromEntries(t.header.map((h, i) => [h, r[i]!])));
};

describe('synthesize', () => {
  let dir: string;
  let summary: SynthSummary;
  // 7 species so killer_whale (often spelled kiler_whale) is among them.
  const options = { ...TINY, species: 7, individuals: 24, meanImages: 3, newFraction: 0.3 };
  before(async () => {
    dir = await tempDir();
    summary = await synthesize({ ...options, out: dir });
  });

  it('gives byte-identical output for the same options, whatever the concurrency', async () => {
    const again = await tempDir();
    await synthesize({ ...options, out: again, concurrency: 1 });
    assert.equal(await hashTree(again), await hashTree(dir));
    const other = await tempDir();
    await synthesize({ ...options, out: other, seed: options.seed + 1 });
    assert.notEqual(await hashTree(other), await hashTree(dir));
  });

  it('writes the competition layout with consistent CSVs', async () => {
    assert.deepEqual((await readdir(dir)).sort(), ['boxes.csv', 'sample_submission.csv', 'test_images', 'test_solution.csv', 'train.csv', 'train_images']);
    const train = await records(join(dir, 'train.csv'));
    const solution = await records(join(dir, 'test_solution.csv'));
    const submission = await records(join(dir, 'sample_submission.csv'));
    assert.deepEqual(train.map((r) => r['image']).sort(), (await readdir(join(dir, 'train_images'))).sort());
    assert.deepEqual(solution.map((r) => r['image']).sort(), (await readdir(join(dir, 'test_images'))).sort());
    assert.deepEqual(submission.map((r) => r['image']), solution.map((r) => r['image']));
    assert.ok(submission.every((r) => r['predictions']!.split(' ').length === 5));
    assert.equal(train.length, summary.train);
    assert.equal(solution.length, summary.test);
    assert.equal(summary.train + summary.test, Math.round(options.individuals * options.meanImages));
    // Species come from the first N competition species; raw labels include misspellings.
    const c = await readCompetition(dir, { quiet: true, check: 'decode' });
    assert.deepEqual(c.issues, []);
    assert.ok(c.train.every((r) => SPECIES.slice(0, 7).includes(r.species)));
    assert.ok(c.species.rowsChanged > 0, 'some raw labels need fixing');
    assert.ok(solution.every((r) => SPECIES.slice(0, 7).includes(r['species']!)));
  });

  it('holds back whole individuals as new_individual, about the asked share of test photos', async () => {
    const train = await records(join(dir, 'train.csv'));
    const solution = await records(join(dir, 'test_solution.csv'));
    const known = new Set(train.map((r) => r['individual_id']));
    const fresh = solution.filter((r) => r['individual_id'] === 'new_individual');
    assert.equal(fresh.length, summary.testNew);
    assert.ok(fresh.length > 0);
    assert.ok(solution.filter((r) => r['individual_id'] !== 'new_individual').every((r) => known.has(r['individual_id'])));
    assert.ok(Math.abs(fresh.length / solution.length - options.newFraction) <= 0.15, `${fresh.length}/${solution.length}`);
    // true_individual_id names everyone: the known ones as individual_id does, the new ones by ids train never uses.
    assert.ok(solution.filter((r) => r['individual_id'] !== 'new_individual').every((r) => r['true_individual_id'] === r['individual_id']));
    assert.ok(fresh.every((r) => /^[0-9a-f]+$/.test(r['true_individual_id']!) && !known.has(r['true_individual_id']!)));
    assert.ok(new Set(fresh.map((r) => r['true_individual_id'])).size < fresh.length, 'new animals with several photos each');
  });

  it('boxes every photo, inside the image', async () => {
    const boxes = await records(join(dir, 'boxes.csv'));
    assert.equal(boxes.length, summary.train + summary.test);
    const testImages = new Set(await readdir(join(dir, 'test_images')));
    for (const b of boxes) {
      const file = join(dir, testImages.has(b['image']!) ? 'test_images' : 'train_images', b['image']!);
      const { width = 0, height = 0 } = await sharp(file).metadata();
      const [x0, y0, x1, y1] = ['x0', 'y0', 'x1', 'y1'].map((k) => Number(b[k]));
      assert.ok(x0! >= 0 && y0! >= 0 && x1! <= width && y1! <= height && x0! < x1! && y0! < y1!, `${b['image']} ${x0},${y0},${x1},${y1} in ${width}x${height}`);
      assert.ok((x1! - x0!) * (y1! - y0!) >= 0.03 * width * height, `${b['image']}: animal too small`);
    }
  });

  it('varies photo sizes around the nominal size', async () => {
    const sizes = await Promise.all((await readdir(join(dir, 'train_images'))).map(async (f) => sharp(join(dir, 'train_images', f)).metadata()));
    const longs = sizes.map((m) => Math.max(m.width!, m.height!));
    assert.ok(Math.min(...longs) >= 0.8 * TINY.size - 1 && Math.max(...longs) <= 1.25 * TINY.size + 1);
    assert.ok(new Set(sizes.map((m) => `${m.width}x${m.height}`)).size > 5);
  });

  it('finprint synth into a dataset refuses, naming the --force flag, and leaves every byte as it was', async () => {
    const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
    const was = await hashTree(dir);
    await assert.rejects(promisify(execFile)(process.execPath, [cli, 'synth', '--out', dir, '--species', '2', '--individuals', '4', '--quiet']), (e: { code: number; stdout: string; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stdout, '');
      assert.match(e.stderr, /already holds .*train\.csv.* \(pass --force to replace them/);
      assert.doesNotMatch(e.stderr, /pass overwrite/);
      return true;
    });
    assert.equal(await hashTree(dir), was);
  });

  it('refuses to overwrite a dataset unless asked, and validates options by name', async () => {
    await assert.rejects(synthesize({ ...options, out: dir }), /already holds .*train\.csv/);
    await assert.rejects(synthesize({ out: dir, species: 0 }), /Expected integer between 1 and 26 for species but received 0/);
    await assert.rejects(synthesize({ out: dir, species: 5, individuals: 3 }), /for individuals/);
    await assert.rejects(synthesize({ out: dir, newFraction: 2 }), /for newFraction/);
  });
});

describe('planCensus', () => {
  const plan = planCensus({ species: SPECIES.slice(0, 8), individuals: 600, meanImages: 5, testFraction: 0.2, newFraction: 0.25, seed: 3 });

  it('gives a long tail of photos per individual with the exact mean', () => {
    const counts = plan.individuals.map((i) => i.photos);
    assert.equal(counts.reduce((a, b) => a + b, 0), 3000);
    const share = (pred: (n: number) => boolean): number => counts.filter(pred).length / counts.length;
    assert.ok(share((n) => n <= 2) > 0.3, 'many individuals with 1-2 photos');
    assert.ok(Math.max(...counts) >= 20, 'a few with dozens');
    assert.ok(new Set(plan.individuals.map((i) => i.species)).size === 8);
  });

  it('puts the asked shares in test and new_individual', () => {
    const test = plan.photos.filter((p) => p.split === 'test');
    assert.equal(test.length, 600);
    const newShare = test.filter((p) => p.individual.isNew).length / test.length;
    assert.ok(Math.abs(newShare - 0.25) < 0.01, `${newShare}`);
    assert.ok(plan.photos.every((p) => !p.individual.isNew || p.split === 'test'));
    assert.equal(new Set(plan.photos.map((p) => p.image)).size, plan.photos.length);
  });
});
