// `finprint bench engine`: one training step (forward, backward, AdamW) of a ResNet-18 at
// 224x224, batch 16, in finprint and in PyTorch, alternating rounds in one run.
import { availableParallelism } from 'node:os';
import * as torch from '../torch/index.js';
import { AdamW } from '../optim/index.js';
import { checkInteger } from '../util/check.js';
import { ResNet18 } from './resnet18.js';
import { alternateRounds, PyTorchSide, type OnRound, type SideBySide } from './pytorch_side.js';

export interface EngineBenchOptions {
  batch?: number;
  size?: number;
  steps?: number;
  rounds?: number;
  threads?: number;
  onRound?: OnRound;
}

export interface EngineBenchResult extends SideBySide {
  model: string;
  batch: number;
  size: number;
  steps: number;
}

export async function benchEngine(options: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const batch = checkInteger('batch', options.batch ?? 16, 1, 1024);
  const size = checkInteger('size', options.size ?? 224, 32, 1024);
  const steps = checkInteger('steps', options.steps ?? 3, 1, 1000);
  const rounds = checkInteger('rounds', options.rounds ?? 3, 1, 100);
  const threads = checkInteger('threads', options.threads ?? availableParallelism(), 1, 1024);
  torch.setNumThreads(threads);
  const py = new PyTorchSide('engine_pytorch.py', ['--batch', `${batch}`, '--size', `${size}`, '--steps', `${steps}`, '--threads', `${threads}`, '--rounds', `${rounds}`]);
  torch.manualSeed(0);
  const model = new ResNet18(1000);
  const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
  const x = torch.randn([batch, 3, size, size]).keep();
  const y = torch.randint(0, 1000, [batch]).keep();
  try {
    model.train();
    const step = (): void => {
      opt.zeroGrad();
      torch.tidy(() => torch.F.crossEntropy(model.forward(x), y).backward());
      opt.step();
    };
    for (let i = 0; i < 2; i++) step();
    const result = await alternateRounds(
      py,
      rounds,
      () => {
        for (let i = 0; i < steps; i++) step();
        return batch * steps;
      },
      options.onRound,
    );
    return { model: 'resnet18 (train step, AdamW)', batch, size, steps, ...result };
  } finally {
    py.close();
    for (const t of [model, opt, x, y]) t.dispose();
  }
}
