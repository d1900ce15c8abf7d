import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readBoxes } from '../../src/data/boxes.js';
import { decodeResized } from '../../src/data/image.js';
import { synthesize } from '../../src/data/synth/index.js';
import { readRunData, samplesOf } from '../../src/runs/run_data.js';
import { resolveConfig } from '../../src/train/config.js';
import { openRun } from '../../src/runs/open_run.js';
import { trainRun } from '../../src/runs/train_run.js';
import { tempDir } from '../data/helpers.js';

test('a run on crops counts the photos used whole, reports them, and predicts with the crops it trained on', async () => {
  const dir = await tempDir('finprint-crops-');
  process.env.FINPRINT_CACHE = join(dir, 'cache');
  const data = join(dir, 'data');
  await synthesize({ out: data, species: 3, individuals: 12, meanImages: 3, size: 64, seed: 4, quiet: true });
  // Every fifth training photo loses its box: those fall back to the whole photo.
  const [header, ...rows] = (await readFile(join(data, 'boxes.csv'), 'utf8')).trim().split('\n');
  const trainNames = new Set((await readFile(join(data, 'train.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',')[0]!));
  const dropped = new Set([...trainNames].sort().filter((_, i) => i % 5 === 0));
  const crops = join(dir, 'crops.csv');
  await writeFile(crops, [header, ...rows.filter((r) => !dropped.has(r.split(',')[0]!))].join('\n') + '\n');

  const logs: string[] = [];
  const cfg = resolveConfig({ data, backbone: 'vgg16_tiny', imageSize: 32, epochs: 1, batchSize: 8, crops, out: join(dir, 'run'), workers: 2 });
  const r = await trainRun(cfg, { quiet: true, log: (m) => logs.push(m) });
  assert.ok(r.crops, 'crop counts recorded');
  assert.equal(r.crops.train.whole + r.crops.val.whole, dropped.size);
  assert.equal(r.crops.train.cropped + r.crops.val.cropped, trainNames.size - dropped.size);
  assert.ok(logs.some((l) => l.includes(`${dropped.size} used whole, having no usable box in ${crops}`)), logs.join('\n'));
  const runJson = JSON.parse(await readFile(join(r.runDir, 'run.json'), 'utf8')) as { crops: string; cropCounts: unknown; mode: string };
  assert.deepEqual([runJson.crops, runJson.mode, runJson.cropCounts], [crops, 'box', r.crops]);
  assert.match(await readFile(join(r.runDir, 'report.html'), 'utf8'), /photos used whole, no usable box/);

  // Prediction opens the run and reads the same box file: each photo comes out as training decoded it.
  const run = await openRun(r.runDir);
  const photos = (await readRunData(run, data)).validation;
  const boxes = await readBoxes(crops);
  const samples = samplesOf({ boxes: await readBoxes(run.info.crops!) }, photos);
  assert.ok(samples.some((s) => s.box) && samples.some((s) => !s.box), 'validation has cropped and whole photos');
  for (const [i, s] of samples.entries()) {
    const training = await decodeResized(s.path, run.pipeline.resize, boxes.get(photos[i]!.image));
    assert.deepEqual((await run.pipeline.image(s)).data, training.data, s.path);
  }
  // Every photo was served from the resize cache that training's validation filled: same spec, same box.
  assert.equal(run.pipeline.cache!.stats.hits, samples.length);
  assert.equal(run.pipeline.cache!.stats.misses, 0);
});
