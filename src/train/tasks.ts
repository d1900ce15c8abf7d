// What is learned, and how it is scored during training:
// - species: the seed's softmax top (DenseHead) over the backbone, cross entropy, accuracy;
// - individual / joint: the embedding neck with an (sub-center) ArcFace head for individuals and
//   a species head on the same embedding; joint weighs the species loss fully, individual lightly.
import type { Batch } from '../data/pipeline.js';
import type { Backbone } from '../models/backbone.js';
import { BackboneEmbedding, DenseHead, type DenseHeadOptions } from '../models/heads.js';
import { JointHead, dynamicMargins, type ArcFaceOptions } from '../models/arcface.js';
import * as torch from '../torch/index.js';
import { calibrateThreshold, type Candidate } from '../eval/threshold.js';
import type { Logs } from './callbacks/index.js';
import type { StepResult } from './trainer.js';
import { TransferModel, type TrainableBlocks } from './transfer.js';
import type { TaskName } from './task_names.js';

export { TASKS, type TaskName } from './task_names.js';

/** Class names by index; the label integers in batches index these lists. */
export interface Labels {
  species: string[];
  /** Individuals of the training split (the ArcFace classes); empty for the species task. */
  individuals: string[];
  /** Training photos per individual, for dynamic margins. */
  individualCounts: number[];
  /** Species index of each individual. */
  individualSpecies: number[];
}

export interface TaskOptions {
  labelSmoothing?: number;
  trainableBlocks?: TrainableBlocks;
  dense?: DenseHeadOptions;
  embeddingDim?: number;
  arcface?: ArcFaceOptions & { dynamicMargins?: boolean };
  /** Identification tasks: a batch-hard triplet loss on the embedding beside ArcFace. */
  triplet?: { weight: number; margin: number };
}

/** Extra validation outputs kept for the report (not scalar logs). */
export interface Evaluation {
  logs: Logs;
  /** Species confusion matrix [truth][predicted] counts. */
  confusion: number[][];
  /** new_individual threshold chosen on this split (identification tasks). */
  threshold?: number;
  thresholdCurve?: { threshold: number; map5: number; newShare: number }[];
}

export interface Task {
  readonly name: TaskName;
  readonly model: TransferModel;
  readonly labels: Labels;
  /** The metric callbacks watch by default. */
  readonly monitor: string;
  trainStep(batch: Batch): StepResult;
  evaluate(batches: AsyncIterable<Batch>, truths?: (path: string) => string | undefined): Promise<Evaluation>;
}

export const imagesOf = (b: Batch): torch.Tensor => torch.tensor(b.data, b.shape);

function labelTensor(b: Batch, name: string): torch.Tensor {
  const l = b.labels[name];
  if (!l) throw new Error(`batch has no '${name}' labels`);
  return torch.tensor(l, [l.length]).to('int64');
}

function argmaxList(logits: torch.Tensor): number[] {
  return logits.argmax(1).toArray();
}

function confusionMatrix(n: number): number[][] {
  return Array.from({ length: n }, () => new Array<number>(n).fill(0));
}

export function createTask(name: TaskName, backbone: Backbone, labels: Labels, options: TaskOptions = {}): Task {
  switch (name) {
    case 'species':
      return new SpeciesTask(backbone, labels, options);
    case 'individual-softmax':
      return new SoftmaxIdentityTask(backbone, labels, options);
    case 'embedding':
      return new EmbeddingTask(backbone, labels);
    default:
      return new IdentityTask(name, backbone, labels, options);
  }
}

/**
 * Turns per-photo class scores into MAP@5 with a tuned new_individual threshold, and species
 * predictions into a confusion matrix: shared by both identification tasks' validation.
 */
class IdentityScorer {
  readonly candidates: Candidate[][] = [];
  readonly truths: string[] = [];
  readonly confusion: number[][];
  private lossSum = 0;
  private lossN = 0;

  constructor(private readonly labels: Labels) {
    this.confusion = confusionMatrix(labels.species.length);
  }

  /** scores: [B, individuals] (cosines or probabilities); speciesPred: predicted species per photo. */
  add(batch: Batch, scores: torch.Tensor, speciesPred: number[], truths?: (path: string) => string | undefined): void {
    const k = Math.min(10, this.labels.individuals.length);
    const { values, indices } = scores.topk(k, 1);
    const v = values.toArray();
    const ix = indices.toArray();
    const ids = batch.labels.individual!;
    const species = batch.labels.species!;
    for (let r = 0; r < batch.paths.length; r++) {
      this.candidates.push(Array.from({ length: k }, (_, j) => ({ id: this.labels.individuals[ix[r * k + j]!]!, score: v[r * k + j]!, galleryIndex: -1 })));
      this.truths.push(truths?.(batch.paths[r]!) ?? this.labels.individuals[ids[r]!]!);
      this.confusion[species[r]!]![speciesPred[r]!]! += 1;
    }
  }

  /** Cross entropy of the photos whose individual is known (held-out ones have no class). */
  addLoss(batch: Batch, logits: torch.Tensor): void {
    const ids = batch.labels.individual!;
    const known = Array.from(ids).map((v, i) => (v >= 0 ? i : -1)).filter((i) => i >= 0);
    if (!known.length) return;
    const idx = torch.tensor(known, [known.length], { dtype: 'int64' });
    this.lossSum += torch.F.crossEntropy(logits.indexSelect(0, idx), labelTensor(batch, 'individual').indexSelect(0, idx), { reduction: 'sum' }).item();
    this.lossN += known.length;
  }

  result(): Evaluation {
    const n = this.truths.length;
    const correct = this.confusion.reduce((s, row, i) => s + row[i]!, 0);
    const cal = calibrateThreshold(this.candidates, this.truths);
    return {
      logs: { val_loss: this.lossSum / Math.max(1, this.lossN), val_map5: cal.map5, val_species_accuracy: correct / Math.max(1, n) },
      confusion: this.confusion,
      threshold: cal.threshold,
      thresholdCurve: cal.curve,
    };
  }
}

/** Runs the model in eval mode over the batches, feeding an IdentityScorer through `step`. */
async function scoreIdentity(model: TransferModel, labels: Labels, batches: AsyncIterable<Batch>, step: (batch: Batch, scorer: IdentityScorer) => void): Promise<Evaluation> {
  model.eval();
  const scorer = new IdentityScorer(labels);
  for await (const batch of batches) torch.noGrad(() => torch.tidy(() => step(batch, scorer)));
  return scorer.result();
}

/** The seed's softmax top over one label (species, or individual ids), trained with cross entropy. */
abstract class SoftmaxTask implements Task {
  abstract readonly name: TaskName;
  abstract readonly monitor: string;
  readonly model: TransferModel<DenseHead>;

  constructor(backbone: Backbone, readonly labels: Labels, private readonly options: TaskOptions, private readonly label: 'species' | 'individual') {
    const classes = label === 'species' ? labels.species : labels.individuals;
    if (classes.length === 0) throw new Error(`a softmax over ${label} labels needs ${label} classes in the training split`);
    this.model = new TransferModel(backbone, new DenseHead(backbone.featureChannels, classes.length, options.dense), { trainableBlocks: options.trainableBlocks ?? 'all' });
  }

  trainStep(batch: Batch): StepResult {
    const logits = this.model.forward(imagesOf(batch));
    const target = labelTensor(batch, this.label);
    const loss = torch.F.crossEntropy(logits, target, { labelSmoothing: this.options.labelSmoothing ?? 0 });
    return { loss, metrics: { accuracy: logits.argmax(1).eq(target).float().mean().item() } };
  }

  abstract evaluate(batches: AsyncIterable<Batch>, truths?: (path: string) => string | undefined): Promise<Evaluation>;
}

class SpeciesTask extends SoftmaxTask {
  readonly name = 'species' as const;
  readonly monitor = 'val_accuracy';

  constructor(backbone: Backbone, labels: Labels, options: TaskOptions) {
    super(backbone, labels, options, 'species');
  }

  async evaluate(batches: AsyncIterable<Batch>): Promise<Evaluation> {
    this.model.eval();
    const confusion = confusionMatrix(this.labels.species.length);
    let lossSum = 0;
    let n = 0;
    for await (const batch of batches) {
      torch.noGrad(() =>
        torch.tidy(() => {
          const logits = this.model.forward(imagesOf(batch));
          const target = labelTensor(batch, 'species');
          lossSum += torch.F.crossEntropy(logits, target, { reduction: 'sum' }).item();
          const truth = target.toArray();
          argmaxList(logits).forEach((p, i) => confusion[truth[i]!]![p]! += 1);
          n += truth.length;
        }),
      );
    }
    const correct = confusion.reduce((s, row, i) => s + row[i]!, 0);
    return { logs: { val_loss: lossSum / Math.max(1, n), val_accuracy: correct / Math.max(1, n) }, confusion };
  }
}

class IdentityTask implements Task {
  readonly model: TransferModel<JointHead>;
  readonly monitor = 'val_map5';

  constructor(readonly name: 'individual' | 'joint', backbone: Backbone, readonly labels: Labels, options: TaskOptions) {
    if (labels.individuals.length === 0) throw new Error(`task '${name}' needs individuals in the training split`);
    const { dynamicMargins: dynamic, ...arcface } = options.arcface ?? {};
    const head = new JointHead(backbone.featureChannels, labels.individuals.length, labels.species.length, {
      neck: { embeddingDim: options.embeddingDim ?? 512 },
      arcface: dynamic ? { ...arcface, m: undefined, margins: dynamicMargins(labels.individualCounts) } : arcface,
      // The individual task keeps a light species loss: it steadies the embedding early on.
      speciesWeight: name === 'joint' ? 1 : 0.1,
      ...(options.triplet ? { tripletWeight: options.triplet.weight, tripletMargin: options.triplet.margin } : {}),
    });
    this.model = new TransferModel(backbone, head, { trainableBlocks: options.trainableBlocks ?? 'all' });
  }

  trainStep(batch: Batch): StepResult {
    const individual = labelTensor(batch, 'individual');
    const species = labelTensor(batch, 'species');
    const out = this.model.forward(imagesOf(batch), individual);
    const { loss, individual: idLoss, species: spLoss, triplet } = this.model.head.loss(out, { individual, species });
    const speciesAccuracy = out.species.argmax(1).eq(species).float().mean().item();
    return { loss, metrics: { id_loss: idLoss.item(), species_loss: spLoss.item(), species_accuracy: speciesAccuracy, ...(triplet ? { triplet_loss: triplet.item() } : {}) } };
  }

  /**
   * Validation during training: each photo is matched against the ArcFace class centres (one per
   * known individual), new_individual is placed by a threshold tuned on this split, and MAP@5 is
   * reported. Full gallery search over training photos is `finprint evaluate`.
   */
  evaluate(batches: AsyncIterable<Batch>, truths?: (path: string) => string | undefined): Promise<Evaluation> {
    return scoreIdentity(this.model, this.labels, batches, (batch, scorer) => {
      const out = this.model.forward(imagesOf(batch));
      scorer.addLoss(batch, out.individual);
      scorer.add(batch, this.model.head.individual.cosine(out.embedding), argmaxList(out.species), truths);
    });
  }
}

/**
 * The seed's approach to individuals: the softmax top over individual ids. The top-5 classes by
 * probability are the predictions, and new_individual goes where the probability falls below a
 * tuned threshold. The species follows from the predicted individual.
 */
class SoftmaxIdentityTask extends SoftmaxTask {
  readonly name = 'individual-softmax' as const;
  readonly monitor = 'val_map5';

  constructor(backbone: Backbone, labels: Labels, options: TaskOptions) {
    super(backbone, labels, options, 'individual');
  }

  evaluate(batches: AsyncIterable<Batch>, truths?: (path: string) => string | undefined): Promise<Evaluation> {
    return scoreIdentity(this.model, this.labels, batches, (batch, scorer) => {
      const logits = this.model.forward(imagesOf(batch));
      scorer.addLoss(batch, logits);
      scorer.add(batch, torch.F.softmax(logits, 1), argmaxList(logits).map((i) => this.labels.individualSpecies[i]!), truths);
    });
  }
}

/**
 * A pretrained embedding model used as it is (zero-shot, e.g. MiewID): the embedding is its own
 * head's output, normalised. It has no species or individual classes (labels only describe the
 * data it matches against), so it is neither trained nor scored here: the gallery search does that.
 */
class EmbeddingTask implements Task {
  readonly name = 'embedding' as const;
  readonly monitor = 'val_map5';
  readonly model: TransferModel<BackboneEmbedding>;

  constructor(backbone: Backbone, readonly labels: Labels) {
    this.model = new TransferModel(backbone, new BackboneEmbedding(backbone), { trainableBlocks: 0 });
  }

  trainStep(): StepResult {
    throw new Error("task 'embedding' is a pretrained model used as it is: train another task with its weights (train --weights)");
  }

  evaluate(): Promise<Evaluation> {
    return Promise.reject(new Error("task 'embedding' has no classes to score: evaluate it by gallery search (finprint evaluate)"));
  }
}
