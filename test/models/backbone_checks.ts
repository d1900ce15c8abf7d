// Checks every backbone family's tests run: parity with a timm fixture, the full-size state dict
// and pretrained_cfg against the manifest, and one train-mode step with autograd.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { modelEntry, type Backbone } from '../../src/models/index.js';
import * as torch from '../../src/torch/index.js';
import { loadFixture, loadManifest, maxRelDiff, sharedFixtureDir, stateDictSpec, type KeysManifest, type TimmFixture } from './timm_fixture.js';

/**
 * A fixture from ../shared/fixtures/timm, or undefined after marking the test skipped with the
 * reason, so a checkout without the shared folder says why the parity check did not run.
 */
export async function sharedFixture(t: TestContext, name: string): Promise<TimmFixture | undefined> {
  const path = `${sharedFixtureDir}${name}.safetensors`;
  if (!existsSync(path)) {
    t.skip(`shared fixture ${path} is absent: parity against timm NOT checked`);
    return undefined;
  }
  return loadFixture(name, { dir: sharedFixtureDir });
}

/** Loads the fixture's weights strictly and compares features, pre-logits and logits (eval mode). */
export function assertParity(name: string, model: Backbone, fixture: TimmFixture): Record<string, number> {
  model.loadStateDict(model.filterCheckpoint(fixture.stateDict));
  model.eval();
  return torch.noGrad(() =>
    torch.tidy(() => {
      const features = model.forwardFeatures(fixture.input);
      const diffs = {
        features: maxRelDiff(features, fixture.features),
        preLogits: maxRelDiff(model.forwardHead(features, { preLogits: true }), fixture.preLogits),
        logits: maxRelDiff(model.forwardHead(features), fixture.logits),
        forward: maxRelDiff(model.forward(fixture.input), fixture.logits),
      };
      console.log(`${name} max rel diff: ${JSON.stringify(diffs)}`);
      for (const [what, d] of Object.entries(diffs)) assert.ok(d <= 1e-4, `${name} ${what}: max rel diff ${d} > 1e-4`);
      return diffs;
    }),
  );
}

/** A freshly built full-size model's state dict (names in order, shapes, dtypes) and parameter count equal the manifest's. */
export function assertStateDictMatchesManifest(manifest: KeysManifest, model: Backbone): void {
  const sd = model.stateDict();
  assert.deepEqual(stateDictSpec(sd), manifest.state_dict);
  assert.deepEqual([...sd.keys()], Object.keys(manifest.state_dict), 'same key order as timm');
  assert.equal(
    model.parameters().reduce((n, p) => n + p.numel, 0),
    manifest.num_params,
  );
}

/** As assertStateDictMatchesManifest, and the registered pretrained_cfg equals the manifest's timm one. */
export function assertMatchesManifest(name: string, model: Backbone): void {
  const manifest = loadManifest(name);
  assertStateDictMatchesManifest(manifest, model);
  const cfg = modelEntry(name).pretrainedCfg;
  const ref = manifest.pretrained_cfg;
  assert.deepEqual(
    {
      hfHubId: cfg.hfHubId,
      inputSize: cfg.inputSize,
      interpolation: cfg.interpolation,
      cropPct: cfg.cropPct,
      mean: cfg.mean,
      std: cfg.std,
      fixedInputSize: cfg.fixedInputSize,
      classifier: cfg.classifier,
      numClasses: cfg.numClasses,
    },
    {
      hfHubId: ref.hf_hub_id,
      inputSize: ref.input_size,
      interpolation: ref.interpolation,
      cropPct: ref.crop_pct,
      mean: ref.mean,
      std: ref.std,
      fixedInputSize: ref.fixed_input_size,
      classifier: [ref.classifier].flat(),
      numClasses: ref.num_classes,
    },
  );
}

/**
 * One train-mode forward + backward on a random batch: every parameter of the first block gets a
 * finite, non-zero gradient, and BatchNorm running statistics move. The default loss, the mean
 * square of the outputs, suits logits; an output that ends in a batch-statistics BatchNorm needs
 * another (its mean square is nearly constant, so its gradients nearly vanish).
 */
export function assertTrainStep(model: Backbone, inputShape: number[], numClasses: number, loss: (out: torch.Tensor) => torch.Tensor = (out) => out.pow(2).mean()): void {
  model.train();
  const first = model.blocks()[0]!;
  torch.tidy(() => {
    const bnMeans = model.namedBuffers().filter(([k]) => k.endsWith('running_mean'));
    const before = bnMeans.map(([, t]) => t.clone());
    const logits = model.forward(torch.randn(inputShape));
    assert.deepEqual(logits.shape, [inputShape[0], numClasses]);
    loss(logits).backward();
    for (const [key, p] of first.module.namedParameters()) {
      const g = p.grad;
      assert.ok(g, `${first.name}.${key} got no gradient`);
      assert.ok(g.isfinite().all().item() === 1 && g.abs().max().item() > 0, `${first.name}.${key}: gradient is zero or not finite`);
    }
    const moved = bnMeans.filter(([, t], i) => t.sub(before[i]!).abs().max().item() > 0);
    assert.equal(moved.length, bnMeans.length, 'every BatchNorm updates its running mean in train mode');
  });
  model.zeroGrad();
}

/**
 * One train-mode forward + backward of the fixture input with cross entropy: each named
 * parameter gets a non-zero gradient, every gradient is finite, and the BatchNorm `bn` (a module
 * path) updates its running mean and counts one batch.
 */
export function assertFixtureTrainStep(model: Backbone, fixture: TimmFixture, gradientKeys: readonly string[], bn: string): void {
  model.train();
  const buffers = new Map(model.namedBuffers());
  const before = buffers.get(`${bn}.running_mean`)!.clone();
  const labels = torch.tensor([3, 7], [2], { dtype: 'int64' });
  torch.tidy(() => torch.F.crossEntropy(model.forward(fixture.input), labels)).backward();
  const params = new Map(model.namedParameters());
  for (const key of gradientKeys) {
    const g = params.get(key)!.grad;
    assert.ok(g, `${key} has a gradient`);
    assert.ok(g.abs().max().item() > 0, `${key} gradient is non-zero`);
  }
  assert.ok(model.parameters().every((p) => p.grad?.isfinite().all().item()), 'every parameter gets a finite gradient');
  assert.ok(buffers.get(`${bn}.running_mean`)!.ne(before).any().item(), `${bn} running mean moved`);
  assert.equal(buffers.get(`${bn}.num_batches_tracked`)!.item(), 1);
  for (const t of [before, labels]) t.dispose();
}
