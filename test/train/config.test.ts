import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfigFile, resolveConfig } from '../../src/train/config.js';

const base = { data: 'data', backbone: 'vgg16_tiny', out: 'run' };

test('defaults < config file < flags, nested options merged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finprint-config-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'epochs: 7\nhflip: 0\narcface: {m: 0.2}\n');
  const c = resolveConfig(base, readConfigFile(file), { epochs: 9 });
  assert.equal(c.epochs, 9);
  assert.equal(c.hflip, 0);
  assert.deepEqual(c.arcface, { s: 30, m: 0.2, subCenters: 1, dynamicMargins: false });
  assert.equal(resolveConfig(base).hflip, 0.5);
});

test('out-of-range options name themselves', () => {
  assert.throws(() => resolveConfig(base, { hflip: 1.5 }), /hflip/);
  assert.throws(() => resolveConfig(base, { newFraction: 0.95 }), /newFraction/);
  assert.throws(() => resolveConfig({ ...base, data: '' }), /--data DIR is required/);
});

test('the shipped identification recipe (recipes/joint-crops.yaml) resolves to the settings README measured', () => {
  const file = fileURLToPath(new URL('../../../recipes/joint-crops.yaml', import.meta.url));
  const c = resolveConfig(readConfigFile(file), { ...base, crops: 'data/boxes.csv' });
  assert.deepEqual([c.task, c.imageSize, c.unfreezeTop, c.epochs, c.lr, c.headLrMult, c.crops], ['joint', 96, 'all', 100, 0.002, 1, 'data/boxes.csv']);
  // The levers that did not win stay off.
  assert.deepEqual([c.photosPerIndividual, c.triplet.weight], [1, 0]);
});

test('P x K sampling and the triplet loss are checked options', () => {
  assert.throws(() => resolveConfig(base, { photosPerIndividual: 0 }), /photosPerIndividual/);
  assert.throws(() => resolveConfig(base, { photosPerIndividual: 17 }), /photosPerIndividual/, 'more than a batch of 16');
  assert.throws(() => resolveConfig(base, { triplet: { weight: -1, margin: 0.3 } }), /triplet.weight/);
  assert.deepEqual(resolveConfig(base, { triplet: { weight: 0.5 } as never }).triplet, { weight: 0.5, margin: 0.3 });
});
