// Exports a module, runs it in ONNX Runtime and compares with finprint: on the traced example, and
// at other batch sizes (1 and 3) to show the batch dim really is dynamic.
import assert from 'node:assert/strict';
import { exportOnnx, type ExportOptions, type OnnxExport } from '../../src/export/export.js';
import { maxRelDiff, OrtModel } from '../../src/export/ort.js';
import type { ForwardOutputs } from '../../src/export/trace.js';
import * as nn from '../../src/nn/index.js';
import * as torch from '../../src/torch/index.js';

/** A module whose forward is a function, holding the given children (so their parameters are named). */
export class Fn extends nn.Module<[torch.Tensor], ForwardOutputs> {
  constructor(
    private readonly fn: (x: torch.Tensor) => ForwardOutputs,
    children: Record<string, nn.Module> = {},
  ) {
    super();
    for (const [name, m] of Object.entries(children)) this.registerModule(name, m);
  }

  override forward(x: torch.Tensor): ForwardOutputs {
    return this.fn(x);
  }
}

/** Seeded values in [lo, hi). */
export function values(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

/** finprint's outputs for an input as the graph takes it (normalised first when the graph normalises). */
function finprintOutputs(module: nn.AnyModule, options: ExportOptions, input: Float32Array, shape: number[]): Map<string, Float32Array> {
  return torch.noGrad(() =>
    torch.tidy(() => {
      let x = torch.tensor(input, shape);
      const n = options.normalization;
      if (n) x = x.sub(torch.tensor(Float32Array.from(n.mean), [1, shape[1]!, 1, 1])).div(torch.tensor(Float32Array.from(n.std), [1, shape[1]!, 1, 1]));
      const forward = options.forward ?? ((t: torch.Tensor) => (module as unknown as { forward(t: torch.Tensor): ForwardOutputs }).forward(t));
      const out = forward(x);
      const named: [string, torch.Tensor][] = out instanceof torch.Tensor ? [[options.outputs?.[0] ?? 'output', out]] : Object.entries(out);
      return new Map(named.map(([k, t]) => [k, t.toFloat32Array()]));
    }),
  );
}

export interface Parity {
  exported: OnnxExport;
  /** Worst max |diff| / max |ref| per output over the traced example and batches 1 and 3. */
  diffs: Record<string, number>;
}

/**
 * Exports, then checks ONNX Runtime against finprint on the traced example and at batch 1 and 3
 * (fresh inputs) within `tol` (max |diff| / max |ref|).
 */
export async function assertOrtParity(module: nn.AnyModule, options: ExportOptions, tol = 1e-5, batches: number[] = [1, 3]): Promise<Parity> {
  return checkOrtParity(exportOnnx(module, options), module, options, tol, batches);
}

/** checkOrtParity for a model already exported (e.g. by exportTask) with these options' forward, outputs and normalisation. */
export async function checkOrtParity(exported: OnnxExport, module: nn.AnyModule, options: ExportOptions, tol = 1e-5, batches: number[] = [1, 3]): Promise<Parity> {
  const ort = await OrtModel.load(exported.bytes);
  const diffs: Record<string, number> = {};
  const note = (name: string, d: number, where: string): void => {
    assert.ok(d <= tol, `${name} at ${where}: ONNX Runtime vs finprint max rel diff ${d} > ${tol}`);
    diffs[name] = Math.max(diffs[name] ?? 0, d);
  };
  try {
    const ref = exported.reference;
    const got = await ort.run(ref.input, ref.shape);
    for (const [name, r] of ref.outputs) {
      assert.deepEqual(got.get(name)?.shape, r.shape, `${name} shape`);
      note(name, maxRelDiff(got.get(name)!.data, r.data), `batch ${ref.shape[0]}`);
    }
    for (const b of batches) {
      const shape = [b, ...ref.shape.slice(1)];
      const input = values(shape.reduce((a, c) => a * c, 1), 100 + b, options.normalization ? 0 : -2, options.normalization ? 1 : 2);
      const mine = finprintOutputs(module, options, input, shape);
      const theirs = await ort.run(input, shape);
      for (const [name, data] of mine) {
        assert.equal(theirs.get(name)!.shape[0], b, `${name} batch dim at batch ${b}`);
        note(name, maxRelDiff(theirs.get(name)!.data, data), `batch ${b}`);
      }
    }
  } finally {
    await ort.release();
  }
  return { exported, diffs };
}

/** Gives a BatchNorm non-trivial statistics and affine parameters, so eval-mode parity means something. */
export function randomizeBatchNorms(module: nn.AnyModule, seed = 3): void {
  let k = seed;
  torch.noGrad(() => {
    for (const [, m] of module.namedModules()) {
      if (!(m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d)) continue;
      const c = m.numFeatures;
      m.runningMean!.copy_(torch.tensor(values(c, k++, -0.5, 0.5)));
      m.runningVar!.copy_(torch.tensor(values(c, k++, 0.5, 2)));
      m.weight?.copy_(torch.tensor(values(c, k++, 0.5, 1.5)));
      m.bias?.copy_(torch.tensor(values(c, k++, -0.3, 0.3)));
    }
  });
}
