import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
