// --engine onnx: ONNX Runtime over the run exported once (cached as engine.onnx) answers as libtorch
// does: identify's top five in the same order with the same scores, the same submission, and
// catalogue embeddings interchangeable with libtorch's (one model version for both).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CatalogueSetup } from '../../src/catalogue/catalogue.js';
import { synthesize } from '../../src/data/synth/index.js';
import { modelVersion, runEmbedder } from '../../src/runs/catalogue_model.js';
import { tempDir } from '../data/helpers.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
const TOL = 1e-4;
let work = '';
let data = '';
const runDir = (task: string): string => join(work, `run_${task}`);

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  work = await tempDir('finprint-engine-');
  data = join(work, 'data');
  await synthesize({ out: data, species: 3, individuals: 16, meanImages: 5, size: 64, seed: 2, quiet: true });
  for (const task of ['joint', 'individual-softmax']) {
    const t = run(['train', '--data', data, '--backbone', 'vgg16_tiny', '--task', task, '--image-size', '48', '--epochs', '1', '--batch-size', '16', '--workers', '2', '--seed', '1', '--unfreeze-top', 'all', '--quiet', '--out', runDir(task)]);
    assert.equal(t.status, 0, t.stderr);
  }
});

const testPhotos = (): string[] => readdirSync(join(data, 'test_images')).sort().map((f) => join(data, 'test_images', f));

interface Identified {
  threshold: number;
  photos: { photo: string; species: { species: string; probability: number }[]; individuals: { id: string; similarity: number | null }[] }[];
}

function identify(dir: string, engine: string, stderr?: RegExp): Identified {
  const r = run(['identify', '--run', dir, '--engine', engine, '--json', '--quiet', ...testPhotos()]);
  assert.equal(r.status, 0, r.stderr);
  if (stderr) assert.match(r.stderr, stderr);
  return JSON.parse(r.stdout) as Identified;
}

function assertSameAnswers(torch: Identified, onnx: Identified): void {
  assert.ok(Math.abs(torch.threshold - onnx.threshold) <= TOL, `threshold ${torch.threshold} vs ${onnx.threshold}`);
  assert.equal(onnx.photos.length, torch.photos.length);
  assert.ok(torch.photos.length > 5);
  torch.photos.forEach((t, i) => {
    const o = onnx.photos[i]!;
    assert.equal(o.photo, t.photo);
    assert.deepEqual(o.individuals.map((c) => c.id), t.individuals.map((c) => c.id), `top five of ${t.photo}`);
    t.individuals.forEach((c, k) => {
      const s = o.individuals[k]!.similarity;
      assert.ok(c.similarity === null ? s === null : Math.abs(s! - c.similarity) <= TOL, `${t.photo} #${k + 1}: ${c.similarity} vs ${s}`);
    });
    assert.deepEqual(o.species.map((s) => s.species), t.species.map((s) => s.species));
    t.species.forEach((s, k) => assert.ok(Math.abs(o.species[k]!.probability - s.probability) <= TOL));
  });
}

test('identify and predict answer the same with --engine torch and --engine onnx (joint run, flips averaged)', () => {
  const dir = runDir('joint');
  const t0 = performance.now();
  const torch = identify(dir, 'torch');
  const t1 = performance.now();
  // The gallery is embedded again by ONNX Runtime: the engine is part of its cache key.
  const onnx = identify(dir, 'onnx', /gallery: the cache was made with --engine torch, embedding again/);
  const t2 = performance.now();
  assert.ok(existsSync(join(dir, 'engine.onnx')), 'the export is cached in the run folder');
  const onnxAgain = identify(dir, 'onnx');
  const t3 = performance.now();
  assertSameAnswers(torch, onnx);
  assertSameAnswers(torch, onnxAgain);
  process.stderr.write(`engine test: identify torch ${(t1 - t0).toFixed(0)} ms, onnx (export + gallery) ${(t2 - t1).toFixed(0)} ms, onnx again (cached export and gallery) ${(t3 - t2).toFixed(0)} ms\n`);

  const outs = ['torch', 'onnx'].map((engine) => {
    const out = join(work, `submission-${engine}.csv`);
    const r = run(['predict', '--run', dir, '--engine', engine, '--out', out, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(out, 'utf8');
  });
  assert.equal(outs[1], outs[0], 'the same submission');

  const bad = run(['identify', '--run', dir, '--engine', 'tensorrt', '--quiet', testPhotos()[0]!]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /one of torch, onnx for --engine/);
});

test('a softmax over individuals gives the same class top five on both engines', () => {
  const dir = runDir('individual-softmax');
  assertSameAnswers(identify(dir, 'torch'), identify(dir, 'onnx'));
});

test("the catalogue's embedder gives the same embeddings (within 1e-4) on both engines", async () => {
  const dir = runDir('joint');
  const setup = { model: await modelVersion(dir), run: dir, detector: null, calibration: null, threshold: 0.5 } as CatalogueSetup;
  const photos = testPhotos().map((path) => ({ path, box: null }));
  const torch = await runEmbedder(setup);
  const onnx = await runEmbedder(setup, { engine: 'onnx' });
  assert.equal(onnx.version, torch.version, 'one model version');
  const a = await torch.embed(photos);
  const b = await onnx.embed(photos);
  assert.equal(b.vectors.length, a.vectors.length);
  a.vectors.forEach((v, i) => {
    const w = b.vectors[i]!;
    assert.ok(v && w && v.length === w.length);
    const d = Math.max(...Array.from(v, (x, j) => Math.abs(x - w[j]!)));
    assert.ok(d <= TOL, `photo ${i}: max |diff| ${d}`);
  });
});
