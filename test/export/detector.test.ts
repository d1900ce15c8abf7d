// The detector (CenterNet over a zoo backbone: upsampling neck, spatial path, concatenation, head)
// exported with its normalisation in the graph: ONNX Runtime gives finprint's head map, so the
// decoded boxes agree too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePeak } from '../../src/detect/decode.js';
import { CenterNet } from '../../src/detect/model.js';
import { readModelSummary } from '../../src/export/onnx_proto.js';
import { OrtModel } from '../../src/export/ort.js';
import { exportDetector } from '../../src/export/trained.js';
import * as torch from '../../src/torch/index.js';
import { checkOrtParity, randomizeBatchNorms } from './helpers.js';

const NORM = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

for (const [backbone, outputStride] of [
  ['vgg16_tiny', 8],
  ['efficientnet_b0', 4],
] as const) {
  test(`CenterNet over ${backbone} (output stride ${outputStride}): ONNX Runtime's head map and boxes are finprint's`, async () => {
    torch.manualSeed(5);
    const model = new CenterNet({ backbone, imageSize: 64, outputStride, channels: 16 });
    randomizeBatchNorms(model);
    model.eval();
    const exported = exportDetector(model, { normalization: NORM });
    const { diffs } = await checkOrtParity(exported, model, { inputShape: [2, 3, 64, 64], outputs: ['heads'], normalization: NORM }, 1e-4);
    console.log(`detector ${backbone}: heads max rel diff ${diffs.heads!.toExponential(2)}; ${Object.entries(exported.opTypes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    assert.ok(exported.opTypes.Resize! >= 1 && exported.opTypes.Concat! >= 1);

    const s = readModelSummary(exported.bytes);
    assert.deepEqual(s.outputs[0]!.shape, ['batch', 5, model.gridSize, model.gridSize]);
    assert.equal(s.metadata['finprint.grid_size'], String(model.gridSize));
    assert.equal(s.metadata['finprint.head_channels'], 'heatmap,left,top,right,bottom');

    const ort = await OrtModel.load(exported.bytes);
    const heads = (await ort.run(exported.reference.input, exported.reference.shape)).get('heads')!.data;
    await ort.release();
    const mine = exported.reference.outputs.get('heads')!.data;
    const cells = 5 * model.gridSize * model.gridSize;
    for (let i = 0; i < 2; i++) {
      const a = decodePeak(heads.subarray(i * cells, (i + 1) * cells), model.gridSize);
      const b = decodePeak(mine.subarray(i * cells, (i + 1) * cells), model.gridSize);
      for (const k of ['x0', 'y0', 'x1', 'y1', 'score'] as const) assert.ok(Math.abs(a[k] - b[k]) < 1e-5, `photo ${i} ${k}: ${a[k]} vs ${b[k]}`);
    }
  });
}
