import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bestEpoch } from '../../src/runs/train_run.js';
import { readRunInfo, readRunRecords, RUN_FILES, RUN_FORMAT, writeRunRecords, type RunConfig, type RunInfo } from '../../src/runs/run_folder.js';
import { DEFAULT_CONFIG } from '../../src/train/config.js';
import { tempDir } from '../data/helpers.js';

const info: Omit<RunInfo, 'format'> = {
  dataset: { trainCsvSha256: 'ab', rows: 3 },
  version: { finprint: '0.0.0' },
  labels: { species: ['a', 'b'], individuals: [], individualCounts: [], individualSpecies: [] },
  imageSize: 64,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  mode: 'squash',
  crops: null,
  cropCounts: null,
  task: 'species',
  backbone: 'vgg16_tiny',
  valImages: ['/x/1.jpg'],
};
const config = { ...DEFAULT_CONFIG, data: '/x', backbone: 'vgg16_tiny', out: '/runs/a', imageSize: 64 } as RunConfig;

test('run records are written with the format version and read back as written', async () => {
  const dir = await tempDir('finprint-runfolder-');
  await writeRunRecords(dir, config, info);
  const read = readRunRecords(dir);
  assert.equal(read.info.format, RUN_FORMAT);
  assert.deepEqual({ ...read.info, format: undefined }, { ...info, format: undefined });
  assert.deepEqual(read.config, config);
  assert.equal((JSON.parse(readFileSync(join(dir, RUN_FILES.info), 'utf8')) as RunInfo).format, RUN_FORMAT);
});

test('a run.json written before the format field reads as format 1', async () => {
  const dir = await tempDir('finprint-runfolder-');
  writeFileSync(join(dir, RUN_FILES.info), JSON.stringify(info));
  assert.equal(readRunInfo(dir).format, 1);
});

test('a run folder from a newer finprint is refused, saying so', async () => {
  const dir = await tempDir('finprint-runfolder-');
  writeFileSync(join(dir, RUN_FILES.info), JSON.stringify({ ...info, format: RUN_FORMAT + 1 }));
  assert.throws(() => readRunInfo(dir), new RegExp(`written by a newer finprint \\(run format ${RUN_FORMAT + 1}; this version reads up to ${RUN_FORMAT}\\)`));
});

test('an incomplete or damaged run folder is refused with what is missing', async () => {
  const dir = await tempDir('finprint-runfolder-');
  assert.throws(() => readRunInfo(join(dir, 'nope')), /run folder .*nope not found/);
  assert.throws(() => readRunInfo(dir), /not a finprint run folder, or an incomplete one: run\.json is missing/);
  const { backbone: _, ...noBackbone } = info;
  writeFileSync(join(dir, RUN_FILES.info), JSON.stringify(noBackbone));
  assert.throws(() => readRunInfo(dir), /run\.json lacks backbone: the run folder is incomplete/);
  writeFileSync(join(dir, RUN_FILES.info), '{"labels": ');
  assert.throws(() => readRunInfo(dir), /run\.json: not valid JSON .*damaged/);
  writeFileSync(join(dir, RUN_FILES.info), JSON.stringify({ ...info, format: 'new' }));
  assert.throws(() => readRunInfo(dir), /"format" must be a positive integer, got "new"/);
  writeFileSync(join(dir, RUN_FILES.info), JSON.stringify(info));
  assert.throws(() => readRunRecords(dir), /config\.json is missing/);
});

test("bestEpoch is the checkpoint's epoch: the first best value in the monitor's mode", async () => {
  const history = [{ val_loss: 0.9, val_accuracy: 0.5 }, { val_loss: 0.4, val_accuracy: 0.7 }, { val_loss: 0.6, val_accuracy: 0.7 }, { val_loss: 0.4, val_accuracy: 0.6 }];
  assert.equal(bestEpoch(history, 'val_loss'), 2, 'lower is better for a loss');
  assert.equal(bestEpoch(history, 'val_accuracy'), 2, 'higher is better for an accuracy; a tie keeps the first');
  assert.equal(bestEpoch(history, 'val_loss', 'max'), 1, 'an explicit mode wins');
  assert.equal(bestEpoch(history, 'val_map5'), 0, 'never logged: no best epoch');
});
