// `finprint bench models`: inference throughput (eval mode, no grad) of every backbone at its
// default input size, finprint vs the same architecture in PyTorch, alternating rounds in one run;
// plus one model (efficientnet_b0 by default) at growing input sizes, the seed's "next step".
// With engine 'onnx' finprint's side is the model exported to ONNX and run by ONNX Runtime.
import { availableParallelism } from 'node:os';
import { exportOnnx } from '../export/export.js';
import { OrtModel } from '../export/ort.js';
import { checkInputSize, createModel, listModels, modelEntry } from '../models/index.js';
import * as torch from '../torch/index.js';
import { checkInteger, checkNumber } from '../util/check.js';
import { alternateRounds, findTorchPython, PyTorchSide, type SideBySide } from './pytorch_side.js';

/** What runs finprint's side: its own libtorch engine, or the model exported to ONNX in ONNX Runtime. */
export type BenchEngine = 'libtorch' | 'onnx';

export interface ModelsBenchOptions {
  /** Default 'libtorch'. */
  engine?: BenchEngine;
  /** Models compared at their default input size (default: every registered model). */
  models?: string[];
  /** Input sizes at which `sizeModel` is also measured (the resolution table); [] for none. */
  sizes?: number[];
  sizeModel?: string;
  batch?: number;
  rounds?: number;
  threads?: number;
  /** A round repeats batches until it lasts about this long, so fast models are not timed on one batch. */
  roundSeconds?: number;
  onStart?: (model: string, size: number) => void;
  onRound?: (model: string, size: number, round: number, finprintImgS: number, pytorchImgS: number) => void;
}

export interface ModelRow {
  model: string;
  size: number;
  /** Batches per round on both sides. */
  steps: number;
  finprint_img_s: number;
  pytorch_img_s: number;
  ratio: number;
  rounds: SideBySide['rounds'];
}

export interface ModelsBenchResult {
  /** What ran finprint's side. */
  engine: BenchEngine;
  batch: number;
  /** One row per model at its default input size. */
  results: ModelRow[];
  /** sizeModel at each of `sizes` (a row may also be in results). */
  resolution: ModelRow[];
  finprint: SideBySide['finprint'];
  pytorch: SideBySide['pytorch'];
  machine: SideBySide['machine'];
}

const defaultSize = (model: string): number => modelEntry(model).pretrainedCfg.inputSize[1];

interface Settings {
  engine: BenchEngine;
  batch: number;
  rounds: number;
  threads: number;
  roundSeconds: number;
  onRound?: ModelsBenchOptions['onRound'];
}

/** One forward pass of the batch on finprint's side, on the chosen engine; release() frees what it holds. */
async function finprintPass(name: string, size: number, o: Settings): Promise<{ pass: () => void | Promise<void>; release: () => Promise<void> }> {
  const model = createModel(name, { imgSize: size });
  model.eval();
  const x = torch.randn([o.batch, 3, size, size]);
  if (o.engine === 'libtorch') {
    return {
      pass: () => torch.noGrad(() => model.forward(x).dispose()),
      release: async () => {
        model.dispose();
        x.dispose();
      },
    };
  }
  // Traced at batch 2 (the graph's batch is dynamic), run at the benchmark's batch.
  const exported = exportOnnx(model, { inputShape: [2, 3, size, size], outputs: ['logits'] });
  model.dispose();
  const ort = await OrtModel.load(exported.bytes, { threads: o.threads });
  const data = x.toFloat32Array();
  x.dispose();
  const shape = [o.batch, 3, size, size];
  return {
    pass: async () => void (await ort.run(data, shape)),
    release: () => ort.release(),
  };
}

/** One model at one input size: finprint warms up and picks the batches per round, then both sides alternate. */
async function measure(name: string, size: number, o: Settings): Promise<{ row: ModelRow; sides: SideBySide }> {
  const { pass, release } = await finprintPass(name, size, o);
  try {
    await pass(); // allocations, oneDNN's primitive caches, ONNX Runtime's first-run planning
    const start = performance.now();
    await pass();
    const steps = Math.max(1, Math.min(100, Math.round(o.roundSeconds / ((performance.now() - start) / 1000))));
    const py = new PyTorchSide('models_pytorch.py', ['--model', name, '--size', `${size}`, '--batch', `${o.batch}`, '--steps', `${steps}`, '--threads', `${o.threads}`, '--rounds', `${o.rounds}`]);
    try {
      const sides = await alternateRounds(
        py,
        o.rounds,
        async () => {
          for (let i = 0; i < steps; i++) await pass();
          return o.batch * steps;
        },
        (r, f, p) => o.onRound?.(name, size, r, f, p),
      );
      const { finprint_img_s, pytorch_img_s, ratio, rounds } = sides;
      return { row: { model: name, size, steps, finprint_img_s, pytorch_img_s, ratio, rounds }, sides };
    } finally {
      py.close();
    }
  } finally {
    await release();
  }
}

export async function benchModels(options: ModelsBenchOptions = {}): Promise<ModelsBenchResult> {
  const models = options.models ?? listModels();
  const sizeModel = options.sizeModel ?? 'efficientnet_b0';
  const sizes = options.sizes ?? [224, 384, 512];
  if (models.length === 0 && sizes.length === 0) throw new RangeError('bench models: nothing to measure (no models and no sizes)');
  // Unknown names and sizes a model cannot take fail now, before anything is measured.
  for (const m of models) modelEntry(m);
  for (const s of sizes) checkInputSize(sizeModel, s);
  const engine = options.engine ?? 'libtorch';
  if (engine !== 'libtorch' && engine !== 'onnx') throw new RangeError(`bench models: engine must be libtorch or onnx, got ${String(engine)}`);
  const o: Settings = {
    engine,
    onRound: options.onRound,
    batch: checkInteger('batch', options.batch ?? 16, 1, 1024),
    rounds: checkInteger('rounds', options.rounds ?? 3, 1, 100),
    threads: checkInteger('threads', options.threads ?? availableParallelism(), 1, 1024),
    roundSeconds: checkNumber('roundSeconds', options.roundSeconds ?? 2, 0, 600),
  };
  findTorchPython(); // fail before building any model
  torch.setNumThreads(o.threads);
  // Each (model, size) is measured once, even when it belongs to both tables.
  const measured = new Map<string, ModelRow>();
  let sides: SideBySide | undefined;
  const row = async (model: string, size: number): Promise<ModelRow> => {
    const key = `${model}@${size}`;
    if (!measured.has(key)) {
      options.onStart?.(model, size);
      const m = await measure(model, size, o);
      measured.set(key, m.row);
      sides = m.sides;
    }
    return measured.get(key)!;
  };
  const results: ModelRow[] = [];
  for (const m of models) results.push(await row(m, defaultSize(m)));
  const resolution: ModelRow[] = [];
  for (const s of sizes) resolution.push(await row(sizeModel, s));
  return { engine, batch: o.batch, results, resolution, finprint: sides!.finprint, pytorch: sides!.pytorch, machine: sides!.machine };
}
