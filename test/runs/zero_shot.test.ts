import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../../src/data/synth/index.js';
import { tempDir } from '../data/helpers.js';
import { writeTinyMiewId } from './miewid_weights.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
let dir: string;
let data: string;
let weights: string;

function finprint(args: string[], cache = join(dir, 'cache')): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: cache } });
}

before(async () => {
  dir = await tempDir('finprint-zero-shot-');
  data = join(dir, 'data');
  await synthesize({ out: data, species: 2, individuals: 8, meanImages: 3, size: 64, seed: 5, quiet: true });
  weights = join(dir, 'miewid_tiny.safetensors');
  await writeTinyMiewId(weights);
});

interface Answer {
  run: string;
  threshold: number;
  photos: { photo: string; species: unknown[]; matched_species?: string; individuals: { id: string; similarity: number | null; gallery_photo: string | null }[] }[];
}

test('identify --model: a zero-shot run folder in the cache, made once, and a gallery photo finds its own individual', () => {
  const trainCsv = readFileSync(join(data, 'train.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const args = ['identify', '--model', 'miewid_tiny', '--weights', weights, '--gallery', data, '--image-size', '64', '--quiet', '--json'];
  const first = finprint([...args, join(data, 'train_images', trainCsv[0]![0]!)]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /zero-shot: miewid_tiny over .*: \d+ gallery and \d+ validation photos/);
  const a = JSON.parse(first.stdout) as Answer;
  assert.ok(a.run.startsWith(join(dir, 'cache', 'zero-shot', 'miewid_tiny-')), a.run);
  const info = JSON.parse(readFileSync(join(a.run, 'run.json'), 'utf8')) as { task: string; backbone: string; imageSize: number; mode: string; valImages: string[]; format: number };
  // The synthetic folder has boxes.csv: its photos are cropped by them, as a run trained on crops.
  assert.deepEqual([info.format, info.task, info.backbone, info.imageSize, info.mode], [1, 'embedding', 'miewid_tiny', 64, 'box']);
  assert.ok(info.valImages.length > 0, 'a validation split to calibrate the threshold on');
  assert.equal(typeof a.threshold, 'number');
  assert.deepEqual(a.photos[0]!.species, [], 'no species head, no species probabilities');
  assert.equal(a.photos[0]!.individuals.length, 5);
  const galleryCache = join(a.run, 'gallery.safetensors');
  const made = statSync(galleryCache).mtimeMs;

  // A gallery photo: its embedding is the gallery's own, so its individual comes first.
  const val = new Set(info.valImages.map((p) => p.split('/').at(-1)));
  const [image, species, id] = trainCsv.find((r) => !val.has(r[0]))!;
  const photo = join(data, 'train_images', image!);
  const second = finprint([...args, photo]);
  assert.equal(second.status, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /zero-shot:|gallery:/, 'records and gallery reused from the cache');
  assert.equal(statSync(galleryCache).mtimeMs, made, 'the gallery was not embedded again');
  const b = JSON.parse(second.stdout) as Answer;
  assert.equal(b.run, a.run);
  const top = b.photos[0]!.individuals.find((c) => c.id !== 'new_individual')!;
  assert.equal(top.id, id);
  assert.equal(top.gallery_photo, photo);
  assert.ok(top.similarity! > 1 - 1e-6, `similarity ${top.similarity}: the same photo`);
  assert.equal(b.photos[0]!.matched_species, species, "the species is the best match's");

  // predict shares the options, and the folder: one submission row per test photo.
  const out = join(dir, 'submission.csv');
  const p = finprint(['predict', '--model', 'miewid_tiny', '--weights', weights, '--data', data, '--image-size', '64', '--quiet', '--out', out]);
  assert.equal(p.status, 0, p.stderr);
  assert.doesNotMatch(p.stderr, /zero-shot:|gallery:/);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, readFileSync(join(data, 'test_solution.csv'), 'utf8').trim().split('\n').length);

  // evaluate too: the test split scored from the same folder, the open-set metrics beside MAP@5.
  type Summary = { run: string; task: string; images: number; map5: number; open_set: { gallery: { map5: number; queries: number } } };
  const evaluate = (protocol: string): Summary => {
    const e = finprint(['evaluate', '--model', 'miewid_tiny', '--weights', weights, '--data', data, '--image-size', '64', '--split', 'test', '--protocol', protocol, '--quiet', '--json']);
    assert.equal(e.status, 0, e.stderr);
    return JSON.parse(e.stdout) as Summary;
  };
  const open = evaluate('open');
  assert.equal(open.run, a.run);
  assert.equal(open.task, 'embedding');
  assert.equal(open.images, readFileSync(join(data, 'test_solution.csv'), 'utf8').trim().split('\n').length - 1);
  assert.equal(open.open_set.gallery.queries, open.images);
  // Closed: every photo's individual is in the gallery, so the model's own answers (gallery-only
  // scores) and the open-set row score the same photos the same way.
  const closed = evaluate('closed');
  assert.ok(closed.images > 0 && closed.images < open.images);
  assert.ok(Math.abs(closed.open_set.gallery.map5 - closed.map5) < 1e-9, `${closed.open_set.gallery.map5} vs ${closed.map5}`);
});

test('identify takes exactly one of --run and --model, and --model without weights names the pull command', () => {
  const photo = join(data, 'train_images', readFileSync(join(data, 'train.csv'), 'utf8').split('\n')[1]!.split(',')[0]!);
  const both = finprint(['identify', '--run', dir, '--model', 'miewid_tiny', '--gallery', data, photo]);
  assert.equal(both.status, 1);
  assert.match(both.stderr, /Expected exactly one of --run, --model for the model to match with but received --run and --model/);
  const neither = finprint(['identify', '--gallery', data, photo]);
  assert.match(neither.stderr, /exactly one of --run, --model .* received none of them/);
  const missing = finprint(['identify', '--model', 'miewid', '--gallery', data, photo], join(dir, 'empty-cache'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /--model miewid: the miewid weights are not in the cache .*conservationxlabs.miewid-msv3.*run `finprint weights pull miewid` first/);
});
