// `finprint bench engine`: one training step (forward, backward, AdamW) of a ResNet-18 at
// 224x224, batch 16, in finprint and in PyTorch, alternating rounds in one run.
import { availableParallelism } from 'node:os';
import * as torch from '../torch/index.js';
import { AdamW } from '../optim/index.js';
import { engineEnvironment } from '../torch/environment.js';
import { ResNet18 } from './resnet18.js';
import { median, PyTorchSide } from './pytorch_side.js';

export interface EngineBenchOptions {
  batch?: number;
  size?: number;
  steps?: number;
  rounds?: number;
  threads?: number;
  onRound?: (round: number, finprintImgS: number, pytorchImgS: number) => void;
}

export interface EngineBenchResult {
  model: string;
  batch: number;
  size: number;
  threads: number;
  finprint_img_s: number;
  pytorch_img_s: number;
  ratio: number;
  rounds: { finprint: number[]; pytorch: number[] };
  blas: string;
  libtorch: string;
}

export async function benchEngine(options: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const batch = options.batch ?? 16;
  const size = options.size ?? 224;
  const steps = options.steps ?? 3;
  const rounds = options.rounds ?? 3;
  const threads = options.threads ?? availableParallelism();
  torch.setNumThreads(threads);
  const py = new PyTorchSide('engine_pytorch.py', ['--batch', `${batch}`, '--size', `${size}`, '--steps', `${steps}`, '--threads', `${threads}`, '--rounds', `${rounds}`]);
  try {
    torch.manualSeed(0);
    const model = new ResNet18(1000);
    model.train();
    const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
    const x = torch.randn([batch, 3, size, size]).keep();
    const y = torch.randint(0, 1000, [batch]).keep();
    const step = (): void => {
      opt.zeroGrad();
      torch.tidy(() => torch.F.crossEntropy(model.forward(x), y).backward());
      opt.step();
    };
    for (let i = 0; i < 2; i++) step();
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < steps; i++) step();
      ours.push((batch * steps) / (Number(process.hrtime.bigint() - start) / 1e9));
      theirs.push((await py.round<{ img_s: number }>()).img_s);
      options.onRound?.(r, ours[r]!, theirs[r]!);
    }
    model.dispose();
    const env = engineEnvironment();
    const f = median(ours);
    const p = median(theirs);
    return { model: 'resnet18 (train step, AdamW)', batch, size, threads, finprint_img_s: f, pytorch_img_s: p, ratio: f / p, rounds: { finprint: ours, pytorch: theirs }, blas: env.blas, libtorch: env.libtorch };
  } finally {
    py.close();
  }
}
