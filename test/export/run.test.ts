// Saved runs exported with `finprint export onnx`: a vgg16_tiny joint run and a detector trained
// by the CLI, and one short run per other family. ONNX Runtime, fed the photos as pixels in [0, 1],
// must give what finprint gives the same photos through the run's own pipeline.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Detector } from '../../src/detect/detector.js';
import { synthesize } from '../../src/data/synth/index.js';
import { readModelSummary } from '../../src/export/onnx_proto.js';
import { maxRelDiff, OrtModel } from '../../src/export/ort.js';
import { pixelPipeline, taskOutputs } from '../../src/export/trained.js';
import { openRun } from '../../src/runs/open_run.js';
import * as torch from '../../src/torch/index.js';
import { tempDir } from '../data/helpers.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
const TOL = 1e-4;
let work = '';
let data = '';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One short run per family (the first is the CLI's main case), trained in the before hook. */
const RUNS = [
  { backbone: 'vgg16_tiny', task: 'joint', size: 48 },
  { backbone: 'levit_192_tiny', task: 'joint', size: 64 },
  { backbone: 'coatnet_0_rw_tiny', task: 'species', size: 64 },
  { backbone: 'efficientnet_b0', task: 'individual', size: 64 },
  { backbone: 'inception_v3', task: 'individual-softmax', size: 80 },
] as const;
const runDir = (backbone: string): string => join(work, `run_${backbone}`);

before(async () => {
  work = await tempDir('finprint-export-');
  data = join(work, 'data');
  await synthesize({ out: data, species: 3, individuals: 16, meanImages: 5, size: 64, seed: 2, quiet: true });
  for (const r of RUNS) {
    const t = run(['train', '--data', data, '--backbone', r.backbone, '--task', r.task, '--image-size', String(r.size), '--epochs', '1', '--batch-size', '16', '--workers', '2', '--seed', '1', '--unfreeze-top', 'all', '--quiet', '--out', runDir(r.backbone)]);
    assert.equal(t.status, 0, t.stderr);
  }
  const d = run(['detector', 'train', '--data', data, '--boxes', join(data, 'boxes.csv'), '--out', join(work, 'detector'), '--image-size', '64', '--epochs', '1', '--seed', '1', '--quiet']);
  assert.equal(d.status, 0, d.stderr);
});

const testPhotos = (n: number): string[] => readdirSync(join(data, 'test_images')).sort().slice(0, n).map((f) => join(data, 'test_images', f));

test('export onnx writes the run and the detector, checked with ONNX Runtime; an existing --out needs --force; run files are refused', () => {
  const vgg = runDir('vgg16_tiny');
  const out = join(work, 'joint.onnx');
  const detOut = join(work, 'detector.onnx');
  const r = run(['export', 'onnx', '--run', vgg, '--out', out, '--detector', join(work, 'detector'), '--detector-out', detOut]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /joint\.onnx: joint run, vgg16_tiny 48px -> embedding, species_logits, class_cosines \(ONNX Runtime matches finprint: max rel diff/);
  assert.match(r.stdout, /detector\.onnx: detector vgg16_tiny 64px -> heads \(ONNX Runtime matches finprint/);
  const size = statSync(out).size;

  const again = run(['export', 'onnx', '--run', vgg, '--out', out]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /--out .*joint\.onnx already exists; pass --force/);
  const forced = run(['export', 'onnx', '--run', vgg, '--out', out, '--force', '--json']);
  assert.equal(forced.status, 0, forced.stderr);
  const summary = JSON.parse(forced.stdout) as { outputs: string[]; bytes: number; check: Record<string, number> };
  assert.deepEqual(summary.outputs, ['embedding', 'species_logits', 'class_cosines']);
  assert.equal(summary.bytes, size);
  for (const d of Object.values(summary.check)) assert.ok(d <= TOL);

  const weights = join(vgg, 'best.safetensors');
  const before = readFileSync(weights);
  const clobber = run(['export', 'onnx', '--run', vgg, '--out', weights, '--force']);
  assert.equal(clobber.status, 1);
  assert.match(clobber.stderr, /is one of this command's inputs/);
  assert.deepEqual(readFileSync(weights), before);
  const half = run(['export', 'onnx', '--run', vgg, '--out', join(work, 'x.onnx'), '--detector', join(work, 'detector')]);
  assert.equal(half.status, 1);
  assert.match(half.stderr, /--detector and --detector-out go together/);
  assert.ok(!existsSync(join(work, 'x.onnx')));
  assert.deepEqual(readdirSync(work).filter((n) => n.endsWith('.tmp')), []);
});

for (const r of RUNS) {
  test(`${r.backbone} ${r.task} run: ONNX Runtime on test photos (pixels in [0, 1]) gives finprint's embedding and scores`, async () => {
    const out = join(work, `${r.backbone}.onnx`);
    const e = run(['export', 'onnx', '--run', runDir(r.backbone), '--out', out, '--force']);
    assert.equal(e.status, 0, e.stderr);
    const opened = await openRun(runDir(r.backbone));
    const photos = testPhotos(5).map((path) => ({ path }));
    const mineBatch = await opened.pipeline.batch(photos);
    const pixels = await pixelPipeline(opened.pipeline).batch(photos);
    const { names, forward } = taskOutputs(opened.task);
    const mine = torch.noGrad(() => torch.tidy(() => new Map(Object.entries(forward(torch.tensor(mineBatch.data, mineBatch.shape))).map(([k, t]) => [k, t.toFloat32Array()]))));
    const ort = await OrtModel.load(out);
    const theirs = await ort.run(pixels.data, pixels.shape);
    await ort.release();
    const diffs = Object.fromEntries(names.map((n) => [n, maxRelDiff(theirs.get(n)!.data, mine.get(n)!)]));
    console.log(`${r.backbone} ${r.task} run, 5 test photos: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    for (const [k, d] of Object.entries(diffs)) assert.ok(d <= TOL, `${k}: ${d}`);

    const meta = readModelSummary(readFileSync(out)).metadata;
    assert.equal(meta['finprint.task'], r.task);
    assert.equal(meta['finprint.backbone'], r.backbone);
    assert.equal(meta['finprint.image_size'], String(r.size));
    assert.deepEqual(JSON.parse(meta['finprint.species']!), opened.info.labels.species);
    assert.deepEqual(meta['finprint.mean']!.split(',').map(Number), opened.info.mean);
    if (names.includes('class_cosines')) assert.deepEqual(JSON.parse(meta['finprint.individuals']!), opened.info.labels.individuals);
  });
}

test("the exported detector gives the detector's head map on test photos", async () => {
  const det = await Detector.open(join(work, 'detector'));
  const out = join(work, 'detector.onnx');
  if (!existsSync(out)) assert.equal(run(['export', 'onnx', '--run', runDir('vgg16_tiny'), '--out', join(work, 'j2.onnx'), '--detector', join(work, 'detector'), '--detector-out', out]).status, 0);
  const { detectorPipeline } = await import('../../src/detect/detector.js');
  const pipeline = detectorPipeline(det.info);
  const photos = testPhotos(4).map((path) => ({ path }));
  const batch = await pipeline.batch(photos);
  const pixels = await pixelPipeline(pipeline).batch(photos);
  const mine = torch.noGrad(() => torch.tidy(() => det.model.forward(torch.tensor(batch.data, batch.shape)).toFloat32Array()));
  const ort = await OrtModel.load(out);
  const theirs = (await ort.run(pixels.data, pixels.shape)).get('heads')!.data;
  await ort.release();
  const d = maxRelDiff(theirs, mine);
  console.log(`detector, 4 test photos: heads ${d.toExponential(2)}`);
  assert.ok(d <= TOL, `heads: ${d}`);
});
