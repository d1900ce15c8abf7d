import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { DenseHead, EmbeddingNeck, GeM, globalAvgPool } from '../../src/models/heads.js';
import { ArcFaceHead, JointHead, dynamicMargins } from '../../src/models/arcface.js';

const close = (actual: number[], expected: number[], tol = 1e-5, what = ''): void => {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`));
};
const deg = (d: number): number => (d * Math.PI) / 180;
const unit = (d: number, r = 1): number[] => [r * Math.cos(deg(d)), r * Math.sin(deg(d))];
const labels = (v: number[]): Tensor => torch.tensor(v, [v.length], { dtype: 'int64' });
const setWeight = (t: Tensor, rows: number[][]): void => torch.noGrad(() => void t.copy_(torch.tensor(rows.flat(), [rows.length, rows[0]!.length])));
const rowNorms = (t: Tensor): number[] => t.norm(2, 1).toArray();

describe('DenseHead (the seed top)', () => {
  test('logits from NCHW maps and from tokens; softmax rows sum to 1', () => {
    torch.manualSeed(0);
    const head = new DenseHead(8, 5, { hiddenFeatures: 16, dropout: 0.6 });
    assert.deepEqual(head.hidden.weight.shape, [16, 8]);
    assert.deepEqual(head.fc.weight.shape, [5, 16]);
    assert.deepEqual(head.forward(torch.randn([2, 8, 4, 4])).shape, [2, 5]);
    assert.deepEqual(head.forward(torch.randn([3, 7, 8])).shape, [3, 5]);
    head.eval();
    const p = head.predict(torch.randn([2, 8, 3, 3]));
    close(p.sum(1).toArray(), [1, 1], 1e-6, 'row sums');
  });

  test('defaults are the seed: 256 hidden, dropout 0.6', () => {
    const head = new DenseHead(8, 3);
    assert.equal(head.hidden.outFeatures, 256);
    assert.equal(head.drop.p, 0.6);
  });

  test('dropout is active in train mode and off in eval', () => {
    torch.manualSeed(1);
    const head = new DenseHead(8, 4, { dropout: 0.6 });
    const x = torch.rand([4, 8, 2, 2]);
    head.eval();
    assert.deepEqual(head.forward(x).toArray(), head.forward(x).toArray());
    head.train();
    assert.notDeepEqual(head.forward(x).toArray(), head.forward(x).toArray());
  });

  test('bad inputs and options name the problem', () => {
    assert.throws(() => new DenseHead(8, 0), /numClasses/);
    assert.throws(() => new DenseHead(8, 3, { dropout: 1.5 }), /dropout/);
    assert.throws(() => new DenseHead(8, 3).forward(torch.randn([2, 8])), /NCHW features .* or tokens/);
  });
});

describe('GeM and the embedding neck', () => {
  test('GeM with p=1 is average pooling (maps and tokens)', () => {
    const x = torch.rand([2, 3, 4, 5]).add(0.1);
    close(new GeM({ p: 1 }).forward(x).toArray(), globalAvgPool(x).toArray(), 1e-6, 'NCHW');
    const tokens = torch.rand([2, 6, 3]).add(0.1);
    close(new GeM({ p: 1 }).forward(tokens).toArray(), tokens.mean(1).toArray(), 1e-6, 'tokens');
  });

  test('GeM with p=3 is the cubic mean; p learns', () => {
    const gem = new GeM();
    assert.deepEqual(gem.p.toArray(), [3]);
    assert.equal(gem.eps, 1e-6);
    const x = torch.tensor([1, 2, 3, 4], [1, 1, 2, 2]).requiresGrad_();
    const y = gem.forward(x);
    close(y.toArray(), [((1 + 8 + 27 + 64) / 4) ** (1 / 3)], 1e-5, 'cubic mean');
    y.sum().backward();
    assert.ok(gem.p.grad, 'p gets a gradient');
    assert.throws(() => new GeM({ p: 0 }), /for p/);
  });

  test('embeddings are unit norm, in train and eval mode', () => {
    torch.manualSeed(2);
    const neck = new EmbeddingNeck(8, { embeddingDim: 6 });
    assert.deepEqual([...neck.stateDict().keys()], ['pool.p', 'fc.weight', 'fc.bias', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    const e = neck.forward(torch.rand([4, 8, 3, 3]));
    assert.deepEqual(e.shape, [4, 6]);
    close(rowNorms(e), [1, 1, 1, 1], 1e-5, 'train norms');
    neck.eval();
    close(rowNorms(neck.forward(torch.rand([3, 5, 8]))), [1, 1, 1], 1e-5, 'eval norms (tokens)');
  });
});

describe('ArcFace', () => {
  // Class weights at 60°, 90° and 150° (norms 3, 1, 0.5: they are normalised); embeddings at 0°, 0° and -30°.
  const build = (options: ConstructorParameters<typeof ArcFaceHead>[2] = {}): ArcFaceHead => {
    const head = new ArcFaceHead(2, 3, { s: 10, ...options });
    setWeight(head.weight, [unit(60, 3), unit(90), unit(150, 0.5)]);
    return head;
  };
  const emb = torch.tensor([...unit(0, 2), ...unit(0), ...unit(-30)], [3, 2]);
  const m = 0.5;

  test('target logit is s*cos(theta+m), the others s*cos(theta); the fallback past pi - m', () => {
    const out = build({ m }).forward(emb, labels([0, 2, 2])).toArray();
    close(out, [
      10 * Math.cos(deg(60) + m), 0, 10 * Math.cos(deg(150)),
      10 * Math.cos(deg(60)), 0, 10 * Math.cos(deg(150) + m), // 150° < 180° - m: still cos(theta + m)
      0, 10 * Math.cos(deg(120)), 10 * (Math.cos(deg(180)) - m * Math.sin(m)), // 180° > 180° - m: cos - m sin m
    ], 1e-4, 'logits');
  });

  test('inference (no labels) gives s*cos(theta), no margin', () => {
    const out = build({ m }).forward(emb).toArray();
    close(out, [0.5, 0, Math.cos(deg(150)), 0.5, 0, Math.cos(deg(150)), 0, -0.5, -1].map((c) => 10 * c), 1e-4, 'cosines');
  });

  test('easy margin leaves targets with cos <= 0 unchanged', () => {
    const out = build({ m, easyMargin: true }).forward(emb, labels([0, 2, 2])).toArray();
    close([out[0]!, out[5]!, out[8]!], [10 * Math.cos(deg(60) + m), 10 * Math.cos(deg(150)), -10], 1e-4, 'targets');
  });

  test('sub-centres: each class takes its closest centre, and the margin applies to it', () => {
    const head = new ArcFaceHead(2, 2, { s: 10, m, subCenters: 2 });
    assert.deepEqual(head.weight.shape, [4, 2]);
    // rows c*k + j: class 0 at 60° and 10°, class 1 at 90° and 170°
    setWeight(head.weight, [unit(60), unit(10), unit(90), unit(170)]);
    const e = torch.tensor(unit(0), [1, 2]);
    close(head.forward(e).toArray(), [10 * Math.cos(deg(10)), 0], 1e-4, 'inference');
    close(head.forward(e, labels([0])).toArray(), [10 * Math.cos(deg(10) + m), 0], 1e-4, 'training');
  });

  test('dynamic margins follow m_c = a n_c^-lambda + b and are used per class', () => {
    close(dynamicMargins([1, 16, 81]), [0.5, 0.45 / 2 + 0.05, 0.45 / 3 + 0.05], 1e-12, 'defaults');
    close(dynamicMargins([1, 4], { a: 0.3, b: 0.1, lambda: 0.5 }), [0.4, 0.25], 1e-12, 'custom');
    assert.throws(() => dynamicMargins([3, 0]), /counts\[1\]/);
    const margins = [0.5, 0.2, 0.1];
    const head = build({ margins });
    close(head.margins.toArray(), margins, 1e-7, 'buffer');
    assert.deepEqual([...head.stateDict().keys()], ['weight'], 'margins are configuration, not saved state');
    const out = head.forward(emb, labels([0, 2, 1])).toArray();
    close([out[0]!, out[5]!, out[7]!], [10 * Math.cos(deg(60) + 0.5), 10 * Math.cos(deg(150) + 0.1), 10 * Math.cos(deg(120) + 0.2)], 1e-4, 'targets');
  });

  test('gradients are finite, also for an embedding on a class centre', () => {
    const head = build({ m });
    const e = torch.tensor([...unit(60), ...unit(150)], [2, 2]).requiresGrad_();
    torch.F.crossEntropy(head.forward(e, labels([0, 2])), labels([0, 2])).backward();
    for (const g of [e.grad!, head.weight.grad!]) assert.ok(g.toArray().every(Number.isFinite));
  });

  test('bad options and labels name the problem', () => {
    assert.throws(() => new ArcFaceHead(2, 3, { m: 2 }), /for m/);
    assert.throws(() => new ArcFaceHead(2, 3, { margins: [0.1, 0.2] }), /margins/);
    assert.throws(() => new ArcFaceHead(2, 3, { m: 0.3, margins: [0.1, 0.2, 0.3] }), /m or margins/);
    assert.throws(() => new ArcFaceHead(2, 3, { subCenters: 0 }), /subCenters/);
    assert.throws(() => build().forward(emb, torch.tensor([0, 1, 2])), /labels must be int64 \[3\]/);
    assert.throws(() => build().forward(emb, labels([0, 1])), /labels must be int64 \[3\]/);
  });
});

describe('JointHead', () => {
  test('outputs and the joint loss = w_id * CE(arcface) + w_species * CE(species)', () => {
    torch.manualSeed(3);
    const head = new JointHead(8, 5, 3, { neck: { embeddingDim: 6 }, arcface: { s: 16, m: 0.3 }, individualWeight: 0.7, speciesWeight: 0.3 });
    const ids = labels([0, 4, 2, 2]);
    const species = labels([1, 0, 2, 1]);
    const out = head.forward(torch.rand([4, 8, 3, 3]), ids);
    assert.deepEqual(out.embedding.shape, [4, 6]);
    assert.deepEqual(out.individual.shape, [4, 5]);
    assert.deepEqual(out.species.shape, [4, 3]);
    const l = head.loss(out, { individual: ids, species });
    // cross entropy by hand, from the logits
    const ce = (logits: number[], cols: number, target: number[]): number =>
      target.reduce((sum, t, i) => {
        const row = logits.slice(i * cols, (i + 1) * cols);
        const max = Math.max(...row);
        return sum + Math.log(row.reduce((a, z) => a + Math.exp(z - max), 0)) + max - row[t]!;
      }, 0) / target.length;
    const idLoss = ce(out.individual.toArray(), 5, [0, 4, 2, 2]);
    const spLoss = ce(out.species.toArray(), 3, [1, 0, 2, 1]);
    close([l.individual.item(), l.species.item()], [idLoss, spLoss], 1e-4, 'parts');
    close([l.loss.item()], [0.7 * idLoss + 0.3 * spLoss], 1e-4, 'joint');
    l.loss.backward();
    for (const [name, p] of head.namedParameters()) assert.ok(p.grad, `${name} has a gradient`);
  });

  test('state-dict layout: neck, individual, species', () => {
    const keys = [...new JointHead(8, 5, 3).stateDict().keys()];
    assert.ok(keys.includes('neck.pool.p') && keys.includes('individual.weight') && keys.includes('species.weight'));
    assert.throws(() => new JointHead(8, 5, 0), /numSpecies/);
  });
});
