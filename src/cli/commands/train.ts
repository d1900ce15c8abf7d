import type { Command } from 'commander';
import type { TrainConfig } from '../../train/config.js';
import { TASKS } from '../../train/task_names.js';
import { intArg, nonNegativeIntArg, numberArg, WORKERS_HELP } from './parse.js';

interface TrainFlags {
  data?: string;
  task?: string;
  backbone?: string;
  weights?: string;
  imageSize?: number;
  batchSize?: number;
  epochs?: number;
  fineTuneEpochs?: number;
  unfreezeTop?: string;
  fineTuneUnfreeze?: string;
  lr?: number;
  headLrMult?: number;
  optimizer?: string;
  schedule?: string;
  labelSmoothing?: number;
  hflip?: number;
  crops?: string;
  out?: string;
  resume?: boolean;
  config?: string;
  seed?: number;
  earlyStopping?: number;
  reduceLr?: number;
  checkpointEvery?: number;
  limit?: number;
  workers?: number;
  photosPerIndividual?: number;
  tripletWeight?: number;
  tripletMargin?: number;
  json?: boolean;
  quiet?: boolean;
}

function flagsToConfig(f: TrainFlags): Partial<TrainConfig> {
  const patience = f.earlyStopping;
  const reduce = f.reduceLr;
  const every = f.checkpointEvery;
  const out: Partial<TrainConfig> = {
    data: f.data,
    task: f.task as TrainConfig['task'] | undefined,
    backbone: f.backbone,
    weights: f.weights,
    imageSize: f.imageSize,
    batchSize: f.batchSize,
    epochs: f.epochs,
    fineTuneEpochs: f.fineTuneEpochs,
    unfreezeTop: f.unfreezeTop as TrainConfig['unfreezeTop'] | undefined,
    fineTuneUnfreeze: f.fineTuneUnfreeze as TrainConfig['fineTuneUnfreeze'] | undefined,
    lr: f.lr,
    headLrMult: f.headLrMult,
    optimizer: f.optimizer as TrainConfig['optimizer'] | undefined,
    schedule: f.schedule as TrainConfig['schedule'] | undefined,
    labelSmoothing: f.labelSmoothing,
    hflip: f.hflip,
    crops: f.crops,
    out: f.out,
    seed: f.seed,
    limit: f.limit,
    workers: f.workers,
    photosPerIndividual: f.photosPerIndividual,
  };
  if (f.tripletWeight !== undefined || f.tripletMargin !== undefined) {
    out.triplet = { ...(f.tripletWeight !== undefined ? { weight: f.tripletWeight } : {}), ...(f.tripletMargin !== undefined ? { margin: f.tripletMargin } : {}) } as TrainConfig['triplet'];
  }
  const callbacks: Partial<TrainConfig['callbacks']> = {};
  if (patience !== undefined) callbacks.earlyStopping = { patience };
  if (reduce !== undefined) callbacks.reduceLrOnPlateau = { patience: reduce };
  if (every !== undefined) callbacks.modelCheckpoint = { saveFreqBatches: every };
  if (Object.keys(callbacks).length) out.callbacks = callbacks as TrainConfig['callbacks'];
  return out;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('Train a backbone with transfer learning (species softmax, or ArcFace identification) with Keras-style callbacks')
    .option('--data <dir>', 'competition-layout folder (train.csv, train_images/)')
    .option('--task <task>', TASKS.join(' | '))
    .option('--backbone <name>', 'model name (finprint models)')
    .option('--weights <file>', 'pretrained backbone weights: a .safetensors file (timm names) or a finprint run folder of the same backbone')
    .option('--image-size <n>', "input size (default: the backbone's)", intArg)
    .option('--batch-size <n>', 'photos per batch', intArg)
    .option('--epochs <n>', 'epochs with the top of the backbone unfrozen', intArg)
    .option('--fine-tune-epochs <n>', 'further epochs with more of the backbone unfrozen, at lr x 0.1', intArg)
    .option('--unfreeze-top <n>', "backbone blocks that train in the first phase (or 'all')")
    .option('--fine-tune-unfreeze <n>', "backbone blocks that train when fine-tuning (default 'all')")
    .option('--lr <x>', 'backbone learning rate', numberArg)
    .option('--head-lr-mult <x>', 'head learning rate = lr x this', numberArg)
    .option('--optimizer <name>', 'adamw | adam | sgd')
    .option('--schedule <name>', 'cosine | step | plateau | none')
    .option('--label-smoothing <x>', 'label smoothing of the species cross entropy', numberArg)
    .option('--hflip <p>', 'probability of mirroring a training photo (default 0.5); 0 where the side matters, which also turns off flip averaging at test time', numberArg)
    .option('--crops <boxes.csv>', 'train on box crops (image,x0,y0,x1,y1)')
    .option('--out <dir>', 'run folder')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--config <file>', 'YAML or JSON file with any of these options (flags win)')
    .option('--seed <n>', 'random seed (splits, shuffling, augmentation, initialisation)', intArg)
    .option('--early-stopping <patience>', 'add EarlyStopping with this patience', nonNegativeIntArg)
    .option('--reduce-lr <patience>', 'add ReduceLROnPlateau with this patience', nonNegativeIntArg)
    .option('--checkpoint-every <batches>', 'also checkpoint every N batches (crash safety)', nonNegativeIntArg)
    .option('--limit <n>', 'use at most n training photos', intArg)
    .option('--workers <n>', WORKERS_HELP, intArg)
    .option('--photos-per-individual <k>', 'identification: keep up to k photos of an individual together in a batch (P x K sampling)', intArg)
    .option('--triplet-weight <w>', 'identification: weight of a batch-hard triplet loss on the embedding beside ArcFace (0: none)', numberArg)
    .option('--triplet-margin <x>', 'its margin in cosine distance', numberArg)
    .option('--json', 'print the result as one JSON object')
    .option('--quiet', 'no progress bars')
    .addHelpText('after', '\nExample:\n  finprint train --data demo-data --task species --backbone efficientnet_b0 --image-size 128 --epochs 3 --out runs/species')
    .action(async (flags: TrainFlags) => {
      const { readConfigFile, resolveConfig } = await import('../../train/config.js');
      const { trainRun } = await import('../../runs/train_run.js');
      const file = flags.config ? readConfigFile(flags.config) : {};
      const cfg = resolveConfig(file, flagsToConfig(flags));
      const r = await trainRun(cfg, { resume: flags.resume ?? false, quiet: flags.quiet ?? false });
      const summary = { run: r.runDir, ...r.final.logs, best_epoch: r.bestEpoch, threshold: r.final.threshold ?? null, seconds: r.seconds, img_s: r.imagesPerSecond, stopped: r.stopReason ?? null };
      if (r.diverged) {
        process.stderr.write(`finprint: training diverged (${r.stopReason}); ${r.runDir}/best.safetensors holds the weights of epoch ${r.bestEpoch}, the best before it\n`);
        process.exitCode = 1;
      }
      if (flags.json) console.log(JSON.stringify(summary));
      else console.log(`run finished: ${Object.entries(summary).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(4) : v}`).join(', ')}\nreport: ${r.runDir}/report.html`);
    });
}
