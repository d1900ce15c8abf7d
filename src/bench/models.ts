// `finprint bench models`: inference throughput (eval mode, no grad) of every backbone at its
// default input size, finprint vs the same architecture in PyTorch, alternating rounds in one run;
// plus one model (efficientnet_b0 by default) at growing input sizes, the seed's "next step".
import { availableParallelism } from 'node:os';
import { checkInputSize, createModel, listModels, modelEntry } from '../models/index.js';
import * as torch from '../torch/index.js';
import { checkInteger, checkNumber } from '../util/check.js';
import { alternateRounds, findTorchPython, PyTorchSide, type SideBySide } from './pytorch_side.js';

export interface ModelsBenchOptions {
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
  batch: number;
  /** One row per model at its default input size. */
  results: ModelRow[];
  /** sizeModel at each of `sizes` (a row may also be in results). */
  resolution: ModelRow[];
  finprint: SideBySide['finprint'];
  pytorch: SideBySide['pytorch'];
}

const defaultSize = (model: string): number => modelEntry(model).pretrainedCfg.inputSize[1];

interface Settings {
  batch: number;
  rounds: number;
  threads: number;
  roundSeconds: number;
  onRound?: ModelsBenchOptions['onRound'];
}

/** One model at one input size: finprint warms up and picks the batches per round, then both sides alternate. */
async function measure(name: string, size: number, o: Settings): Promise<{ row: ModelRow; sides: SideBySide }> {
  const model = createModel(name, { imgSize: size });
  const x = torch.randn([o.batch, 3, size, size]);
  try {
    model.eval();
    const pass = (): void => torch.noGrad(() => model.forward(x).dispose());
    pass(); // allocations and oneDNN's primitive caches
    const start = performance.now();
    pass();
    const steps = Math.max(1, Math.min(100, Math.round(o.roundSeconds / ((performance.now() - start) / 1000))));
    const py = new PyTorchSide('models_pytorch.py', ['--model', name, '--size', `${size}`, '--batch', `${o.batch}`, '--steps', `${steps}`, '--threads', `${o.threads}`, '--rounds', `${o.rounds}`]);
    try {
      const sides = await alternateRounds(
        py,
        o.rounds,
        () => {
          for (let i = 0; i < steps; i++) pass();
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
    model.dispose();
    x.dispose();
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
  const o: Settings = {
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
  return { batch: o.batch, results, resolution, finprint: sides!.finprint, pytorch: sides!.pytorch };
}
