import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../../src/data/synth/index.js';
import { cachedWeightsPath } from '../../src/io/hub.js';
import { loadSafetensors } from '../../src/io/safetensors.js';
import { hubRepo } from '../../src/models/weights.js';
import { tempDir } from '../data/helpers.js';
import { writeTinyMiewId } from './miewid_weights.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));

test('train --weights miewid: the pulled MiewID checkpoint gives the backbone its backbone.* tensors', async () => {
  const dir = await tempDir('finprint-train-miewid-');
  const cache = join(dir, 'cache');
  const data = join(dir, 'data');
  await synthesize({ out: data, species: 2, individuals: 8, meanImages: 3, size: 64, seed: 5, quiet: true });
  // Where `finprint weights pull miewid` caches it; the tiny variant stands in for the real one.
  const file = cachedWeightsPath(hubRepo('miewid'), join(cache, 'weights'));
  const keys = await writeTinyMiewId(file);
  const out = join(dir, 'run');
  // The backbone frozen whole (BatchNorm statistics included): its weights in the run are the ones loaded.
  const args = ['train', '--data', data, '--task', 'species', '--backbone', 'efficientnetv2_rw_m_tiny', '--weights', 'miewid', '--image-size', '64', '--epochs', '1', '--unfreeze-top', '0', '--batch-size', '8', '--workers', '2', '--quiet', '--out', out];
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: cache } });
  assert.equal(r.status, 0, r.stderr);
  const backboneKeys = keys.filter((k) => k.startsWith('backbone.'));
  assert.match(r.stderr, new RegExp(`weights: loaded ${backboneKeys.length} tensors from ${file} \\(its backbone\\.\\* tensors, prefix removed; left out its head: bn, pooling\\)`));
  const [theirs, ours] = await Promise.all([loadSafetensors(file), loadSafetensors(join(out, 'best.safetensors'))]);
  // The run stores its backbone under backbone.*: the same names, and the same numbers.
  for (const k of backboneKeys) assert.deepEqual(ours.get(k)?.toArray(), theirs.get(k)!.toArray(), `${k} loaded`);

  const missing = spawnSync(process.execPath, [cli, ...args, '--out', join(dir, 'run2')], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(dir, 'empty') } });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /--weights miewid: the miewid weights are not in the cache .*: run `finprint weights pull miewid` first/);
});
