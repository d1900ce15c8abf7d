// One small module per op mapping: ONNX Runtime must give finprint's outputs on the traced batch
// and at batch 1 and 3 (the batch dim is dynamic), and errors must name the op and the module.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportOnnx } from '../../src/export/export.js';
import { readModelSummary } from '../../src/export/onnx_proto.js';
import { activate_, LayerNorm2d } from '../../src/models/layers.js';
import * as nn from '../../src/nn/index.js';
import * as torch from '../../src/torch/index.js';
import { assertOrtParity, Fn, randomizeBatchNorms, values } from './helpers.js';

const F = torch.F;
const nchw = (c = 3, h = 8, w = 8): number[] => [2, c, h, w];

function fixedModule(m: nn.AnyModule): nn.AnyModule {
  randomizeBatchNorms(m);
  return m.eval();
}

test('Conv2d: bias, stride, symmetric and asymmetric padding, groups and dilation', async () => {
  const plain = new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 });
  const depthwise = new nn.Conv2d(8, 8, 3, { groups: 8, dilation: 2, padding: 2, bias: false });
  const same = new nn.Conv2d(8, 4, 2, { padding: 'same' }); // asymmetric: constant_pad_nd, then conv
  const m = new nn.Sequential(plain, depthwise, same).eval();
  const { exported } = await assertOrtParity(m, { inputShape: nchw(3, 9, 9) });
  assert.equal(exported.opTypes.Conv, 3);
  assert.equal(exported.opTypes.Pad, 1);
});

test('Linear on [N, C] (Gemm) and on tokens [N, T, C] (MatMul with the weight stored transposed), with and without bias', async () => {
  const fc = new nn.Linear(12, 5);
  const tok = new nn.Linear(3, 6, { bias: false });
  const tokBias = new nn.Linear(6, 3);
  const m = new Fn((x) => ({ flat: fc.forward(x.flatten(1)), tokens: tokBias.forward(tok.forward(x.flatten(2).transpose(1, 2))) }), { fc, tok, tokBias }).eval();
  const { exported } = await assertOrtParity(m, { inputShape: [2, 3, 2, 2] });
  assert.equal(exported.opTypes.Gemm, 1);
  assert.equal(exported.opTypes.MatMul, 2);
});

test('BatchNorm2d and BatchNorm1d in eval mode -> BatchNormalization, parameters named by their state-dict keys', async () => {
  const conv = new nn.Conv2d(3, 6, 1);
  const bn2 = new nn.BatchNorm2d(6);
  const bn1 = new nn.BatchNorm1d(6, { eps: 1e-3 });
  const m = fixedModule(new Fn((x) => bn1.forward(bn2.forward(conv.forward(x)).mean([2, 3])), { conv, bn2, bn1 }));
  const { exported } = await assertOrtParity(m, { inputShape: nchw() });
  assert.equal(exported.opTypes.BatchNormalization, 2);
  const text = Buffer.from(exported.bytes).toString('latin1');
  for (const key of ['bn2.running_mean', 'bn2.running_var', 'bn1.weight', 'conv.bias']) assert.ok(text.includes(key), `initializer ${key}`);
});

test('activations: relu, relu6, silu, gelu (erf and tanh), hardswish, hardsigmoid, sigmoid, tanh, in-place relu_/silu_', async () => {
  const acts: Record<string, (x: torch.Tensor) => torch.Tensor> = {
    relu: F.relu,
    relu6: F.relu6,
    silu: F.silu,
    gelu: (x) => F.gelu(x),
    geluTanh: (x) => F.gelu(x, 'tanh'),
    hardswish: F.hardswish,
    hardsigmoid: F.hardsigmoid,
    sigmoid: F.sigmoid,
    tanh: F.tanh,
    reluInPlace: (x) => activate_(x.mul(1), 'relu'),
    siluInPlace: (x) => activate_(x.add(0.5), 'silu'),
  };
  const m = new Fn((x) => Object.fromEntries(Object.entries(acts).map(([k, f]) => [k, f(x.mul(3))]))).eval();
  const { exported } = await assertOrtParity(m, { inputShape: nchw(2, 4, 4) });
  for (const op of ['Relu', 'Clip', 'Sigmoid', 'Erf', 'Tanh', 'HardSwish', 'HardSigmoid']) assert.ok(exported.opTypes[op], `${op} used`);
});

test('softmax and log_softmax over a dim', async () => {
  const m = new Fn((x) => ({ p: F.softmax(x, 1), lp: F.logSoftmax(x.flatten(1), -1) })).eval();
  await assertOrtParity(m, { inputShape: nchw(4, 3, 3) });
});

test('reshapes with a dynamic batch: view(b, -1), batch merged with tokens and split back, flatten, permute, transpose, (un)squeeze', async () => {
  const bn = new nn.BatchNorm1d(4);
  const m = fixedModule(
    new Fn(
      (x) => {
        const b = x.size(0);
        const tokens = x.flatten(2).transpose(1, 2); // [B, HW, C]
        const merged = bn.forward(tokens.flatten(0, 1)).reshape(...tokens.shape); // LeViT's BN over [B*T, C]
        const heads = tokens.view(b, 16, 2, 2).permute(0, 2, 1, 3); // [B, 2, 16, 2]
        return { viewed: x.view(b, -1), merged, heads: heads.contiguous(), squeezed: x.mean([2, 3], true).squeeze(3).unsqueeze(1) };
      },
      { bn },
    ),
  );
  const { exported } = await assertOrtParity(m, { inputShape: nchw(4, 4, 4) });
  assert.ok(exported.opTypes.Reshape! >= 3);
  assert.ok(exported.opTypes.Transpose! >= 2);
});

test('pooling: max (padding, ceil mode), average (padding, count_include_pad off, ceil mode), adaptive, global mean', async () => {
  const m = new Fn((x) => ({
    max: F.maxPool2d(x, 3, { stride: 2, padding: 1 }),
    maxCeil: F.maxPool2d(x, 3, { stride: 2, ceilMode: true }),
    avg: F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }),
    avgCeil: F.avgPool2d(x, 2, { ceilMode: true }),
    adaptive1: F.adaptiveAvgPool2d(x, 1),
    adaptive2: F.adaptiveAvgPool2d(x.narrow(2, 0, 8).narrow(3, 0, 8), 2),
    mean: x.mean([2, 3]),
    meanKeep: x.mean([-1], true),
  })).eval();
  await assertOrtParity(m, { inputShape: nchw(3, 9, 9) });
});

test('GeM pooling (clamp, pow by a [1] parameter, mean, pow by its reciprocal) and F.normalize', async () => {
  const neck = new (await import('../../src/models/heads.js')).EmbeddingNeck(5, { embeddingDim: 7 });
  randomizeBatchNorms(neck);
  const m = new Fn((x) => ({ embedding: neck.forward(F.relu(x)), unit: F.normalize(x.flatten(1)) }), { neck }).eval();
  const { exported } = await assertOrtParity(m, { inputShape: nchw(5, 4, 4) });
  assert.ok(exported.opTypes.Pow === 2 && exported.opTypes.ReduceL2 === 2);
});

test('elementwise: add/sub with alpha, scalars, rsub, mul/div by broadcast constants made in forward, pow, maximum, where', async () => {
  const m = new Fn((x) => {
    const scale = torch.tensor([0.5, 2, -1], [1, 3, 1, 1]); // made inside forward: becomes a constant
    const y = x.add(x.mul(scale), 2).sub(1.5).div(scale.add(3)).rsub(1);
    return {
      y,
      pow: x.abs().add(0.1).pow(1.7),
      max: x.maximum(y).minimum(x.neg()),
      where: x.where(x.gt(0), y.exp()),
      misc: x.abs().add(1).log().add(x.abs().add(1).sqrt()).add(x.abs().add(1).rsqrt()).add(x.abs().add(1).reciprocal()),
    };
  }).eval();
  await assertOrtParity(m, { inputShape: nchw(3, 4, 4) });
});

test('cat, chunk, split, stack, unbind, slice, narrow, select, pad, expand', async () => {
  const m = new Fn((x) => {
    const [a, b] = x.chunk(2, 1) as [torch.Tensor, torch.Tensor];
    const [p, q, r] = x.split([1, 1, 2], 1) as [torch.Tensor, torch.Tensor, torch.Tensor];
    const rows = x.unbind(2);
    return {
      cat: torch.cat([b, a, p], 1),
      stack: torch.stack([q, r.narrow(1, 1, 1)], 1),
      rows: rows[3]!.add(rows[0]!),
      sliced: x.slice(2, 1, undefined, 2).slice(3, 0, 3),
      selected: x.select(1, 2),
      padded: F.pad(x, [1, 2, 0, 1], 'constant', 0.5),
      expanded: x.mean(1, true).expand(-1, 3, -1, -1).add(x.narrow(1, 0, 3)),
    };
  }).eval();
  await assertOrtParity(m, { inputShape: nchw(4, 6, 6) });
});

test('reductions: sum, amax, 1- and 2-norms; layer_norm and LayerNorm2d (permute, normalise, permute back)', async () => {
  const ln = new nn.LayerNorm(6);
  const ln2d = new LayerNorm2d(3);
  torch.noGrad(() => {
    ln.weight!.copy_(torch.tensor(values(6, 1, 0.5, 1.5)));
    ln2d.bias!.copy_(torch.tensor(values(3, 2, -0.5, 0.5)));
  });
  const m = new Fn(
    (x) => ({
      sum: x.sum([1, 3]),
      amax: x.amax([2], true),
      l1: x.norm(1, 1),
      l2: x.norm(2, [2, 3], true),
      ln: ln.forward(x.reshape(x.size(0), 12, 6)),
      ln2d: ln2d.forward(x.narrow(1, 0, 3)),
    }),
    { ln, ln2d },
  ).eval();
  await assertOrtParity(m, { inputShape: nchw(6, 2, 6) });
});

test('interpolate: nearest by a scale factor, bilinear to a size', async () => {
  const m = new Fn((x) => ({
    nearest: F.interpolate(x, { scaleFactor: 2, mode: 'nearest' }),
    bilinear: F.interpolate(x, { size: [7, 10], mode: 'bilinear' }),
    corners: F.interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }),
    bicubic: F.interpolate(x, { size: [9, 4], mode: 'bicubic' }),
  })).eval();
  await assertOrtParity(m, { inputShape: nchw(2, 5, 5) });
});

test('dropout in eval mode is the identity; matmul between activations', async () => {
  const drop = new nn.Dropout(0.5);
  const m = new Fn((x) => drop.forward(x).matmul(x.transpose(-2, -1)), { drop }).eval();
  await assertOrtParity(m, { inputShape: nchw(2, 3, 4) });
});

test('ops called by name: addmm, bmm, leaky_relu, a dtype cast and back, argmax (int64 output)', async () => {
  const w = torch.tensor(values(12, 9), [4, 3]);
  const b = torch.tensor(values(3, 10), [3]);
  const m = new Fn((x) => {
    const flat = x.flatten(1); // [B, 4]
    const tokens = x.flatten(2); // [B, 4, 1]
    return {
      addmm: torch.op('aten::addmm', b, flat, w, 0.5, 2),
      bmm: tokens.bmm(tokens.transpose(1, 2)),
      leaky: torch.op('aten::leaky_relu', flat, 0.2),
      cast: flat.to('float64').to('float32'),
      argmax: flat.argmax(1).to('float32'),
    };
  }).eval();
  await assertOrtParity(m, { inputShape: nchw(4, 1, 1) });
});

test('normalisation in the graph: pixels in [0, 1] are normalised by mean/std before the module', async () => {
  const conv = new nn.Conv2d(3, 4, 3);
  const m = new Fn((x) => conv.forward(x), { conv }).eval();
  const normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
  const { exported } = await assertOrtParity(m, { inputShape: [3, 8, 8], normalization, outputs: ['features'] });
  const s = readModelSummary(exported.bytes);
  assert.equal(s.metadata['finprint.normalization'], 'in-graph');
  assert.equal(s.metadata['finprint.mean'], '0.485,0.456,0.406');
  assert.equal(s.opTypes.Sub, 1);
});

test('the file: IR 8, opset 17, input pixels [batch, C, H, W], named outputs with a batch dim, metadata_props', () => {
  const fc = new nn.Linear(3, 2);
  const m = new Fn((x) => ({ embedding: F.normalize(x.mean([2, 3])), logits: fc.forward(x.mean([2, 3])) }), { fc }).eval();
  const exported = exportOnnx(m, { inputShape: [3, 4, 4], outputs: ['logits', 'embedding'], metadata: { note: 'hello' } });
  const s = readModelSummary(exported.bytes);
  assert.equal(s.irVersion, 8);
  assert.equal(s.opset, 17);
  assert.equal(s.producer, 'finprint');
  assert.deepEqual(s.inputs, [{ name: 'pixels', elemType: 1, shape: ['batch', 3, 4, 4] }]);
  assert.deepEqual(s.outputs.map((o) => [o.name, o.shape]), [['logits', ['batch', 2]], ['embedding', ['batch', 3]]]);
  assert.equal(s.metadata.note, 'hello');
  assert.equal(s.metadata['finprint.normalization'], 'none');
  assert.equal(s.initializers > 0, true);
});

test('an output that is the input itself, or given twice, still comes out under each name', async () => {
  const m = new Fn((x) => ({ same: x, relu: F.relu(x) })).eval();
  await assertOrtParity(m, { inputShape: nchw(1, 2, 2) });
});

test('an op without a mapping fails naming the op and the module; train mode and batch-dependent code are refused', () => {
  class Cumulative extends nn.Module {
    override forward(x: torch.Tensor): torch.Tensor {
      return x.cumsum(1);
    }
  }
  const inner = new Cumulative();
  const m = new Fn((x) => inner.forward(F.relu(x)), { inner }).eval();
  assert.throws(() => exportOnnx(m, { inputShape: nchw() }), /no mapping for aten::cumsum, called in module 'inner' \(Cumulative\)/);

  const bn = new nn.BatchNorm2d(3);
  assert.throws(() => exportOnnx(bn, { inputShape: nchw() }), /train mode; call eval\(\)/);
  const stillTraining = new Fn((x) => F.dropout(x, 0.5, true)).eval();
  assert.throws(() => exportOnnx(stillTraining, { inputShape: nchw() }), /aten::dropout .*training mode/);

  const byBatch = new Fn((x) => (x.size(0) > 2 ? F.relu(x) : F.sigmoid(x))).eval();
  assert.throws(() => exportOnnx(byBatch, { inputShape: nchw() }), /differs with the batch size/);
  const pickSample = new Fn((x) => x.select(0, 0)).eval();
  assert.throws(() => exportOnnx(pickSample, { inputShape: nchw() }), /selecting one sample of the batch/);
  assert.throws(() => exportOnnx(new Fn((x) => x).eval(), { inputShape: nchw(), opset: 13 }), /opset/);
});

test('dynamicBatch false fixes the traced batch size in the file', () => {
  const m = new Fn((x) => F.relu(x)).eval();
  const s = readModelSummary(exportOnnx(m, { inputShape: [1, 3, 4, 4], dynamicBatch: false }).bytes);
  assert.deepEqual(s.inputs[0]!.shape, [1, 3, 4, 4]);
});
