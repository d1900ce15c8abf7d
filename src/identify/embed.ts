// Photos -> unit-length embeddings (what gallery search compares) and species probabilities, from
// an opened run. An identification run's embedding is its ArcFace neck's output; a softmax run
// (species, or the seed's individual ids) has none, so its globally average-pooled backbone
// features stand in (the seed's kNN baseline). A pretrained embedding model used zero-shot (the
// embedding task, e.g. MiewID) gives its own embedding and no species probabilities.
// Flip test-time augmentation: a photo and its mirror go through the model in one batch and their
// embeddings are averaged, which steadies the vector against which way the animal faces.
import { BatchLoader } from '../data/loader.js';
import type { Sample } from '../data/pipeline.js';
import { JointHead } from '../models/arcface.js';
import { BackboneEmbedding, globalAvgPool } from '../models/heads.js';
import * as torch from '../torch/index.js';
import { imagesOf } from '../train/tasks.js';
import { checkInteger } from '../util/check.js';
import { Progress } from '../util/progress.js';
import type { EngineOutputs, TrainedModel } from './model.js';

export interface EmbedOptions {
  /** Average each photo with its horizontal mirror (default: when the run trained with hflip). */
  flip?: boolean;
  /** Also return the plain and the mirrored embeddings apart (a gallery with mirrors). */
  views?: boolean;
  batchSize?: number;
  /** Photos decoding at once. */
  concurrency?: number;
  quiet?: boolean;
  /** Progress bar label. */
  label?: string;
  /** List photos that cannot be read in `unreadable` instead of failing (their rows are not to be used). */
  skipUnreadable?: boolean;
}

export interface Embedded {
  count: number;
  dim: number;
  /** [count, dim] unit rows: the flip average, or the plain view without flip. */
  embedding: Float32Array;
  /** [count, dim] each, unit rows, when `views` was asked for. */
  views?: { plain: Float32Array; mirrored: Float32Array };
  /** [count, species] probabilities, in the run's species order (labels.species); empty without a species head (hasSpeciesHead). */
  species: Float32Array;
  /**
   * For the seed's softmax over individuals: each photo's CLASS_TOP most probable individuals
   * ([count, CLASS_TOP] class indices and probabilities, best first); the seed predicted these.
   */
  classTop?: { index: Int32Array; prob: Float32Array };
  /** Photos that could not be read (with skipUnreadable), by row, in order. */
  unreadable: { index: number; path: string; reason: string }[];
}

/** Individuals kept per photo from a softmax over individuals: the top five plus room for new_individual. */
export const CLASS_TOP = 10;

/** Width of the run's embedding: the neck's, or the pooled backbone features' for a species run. */
export function embeddingDim(trained: TrainedModel): number {
  const model = trained.task.model;
  return model.head instanceof JointHead ? model.head.neck.embeddingDim : model.backbone.featureChannels;
}

/** Whether the model gives species probabilities: all but a pretrained embedding model used as it is. */
export function hasSpeciesHead(trained: TrainedModel): boolean {
  return !(trained.task.model.head instanceof BackboneEmbedding);
}

/** Unit embeddings and logits (species, or individuals for a softmax over individuals; none without a species head) of a batch of images, in one forward pass. */
function forwardRaw(trained: TrainedModel, x: torch.Tensor): { embedding: torch.Tensor; logits?: torch.Tensor } {
  const model = trained.task.model;
  const features = model.backbone.forwardFeatures(x);
  if (model.head instanceof JointHead) {
    const out = model.head.forward(features);
    return { embedding: out.embedding, logits: out.species };
  }
  if (model.head instanceof BackboneEmbedding) return { embedding: model.head.forward(features) };
  return { embedding: torch.F.normalize(globalAvgPool(features)), logits: model.head.forward(features) as torch.Tensor };
}

/**
 * Species probabilities from the logits. A run with a softmax over individuals (the seed's) gets
 * its species by adding up the probabilities of each species' individuals: `individualToSpecies`
 * is that one-hot [individuals, species] matrix.
 */
function probabilities(logits: torch.Tensor, individualToSpecies?: torch.Tensor): { species: torch.Tensor; individuals?: torch.Tensor } {
  const probs = torch.F.softmax(logits, 1);
  return individualToSpecies ? { species: probs.matmul(individualToSpecies), individuals: probs } : { species: probs };
}

function oneHotSpecies(trained: TrainedModel): torch.Tensor | undefined {
  if (trained.task.name !== 'individual-softmax') return undefined;
  const { individuals, individualSpecies, species } = trained.task.labels;
  if (individualSpecies?.length !== individuals.length) throw new Error(`${trained.source} has no species for its individuals (labels.individualSpecies): train the run again with this version`);
  const m = new Float32Array(individuals.length * species.length);
  individualSpecies.forEach((s, i) => (m[i * species.length + s] = 1));
  return torch.tensor(m, [individuals.length, species.length]);
}

/** Embeds photos in order (the loader keeps it), batched and prefetched. */
export async function embedPhotos(trained: TrainedModel, samples: readonly Sample[], options: EmbedOptions = {}): Promise<Embedded> {
  // Flip averaging only for runs that trained on mirrored photos: for others a mirror is unlike anything seen.
  const flip = options.flip ?? trained.flips;
  const mirror = flip || (options.views ?? false);
  const batchSize = checkInteger('batchSize', options.batchSize ?? 32, 1);
  const engine = trained.engine;
  const loader = new BatchLoader(engine?.pipeline ?? trained.pipeline, samples, { batchSize, ...(options.concurrency ? { concurrency: options.concurrency } : {}), skipUnreadable: options.skipUnreadable ?? false });
  const unreadable: Embedded['unreadable'] = [];
  const progress = new Progress({ total: samples.length, label: options.label ?? 'embed', quiet: options.quiet });
  trained.task.model.eval();
  const n = samples.length;
  const dim = embeddingDim(trained);
  const nSpecies = hasSpeciesHead(trained) ? trained.task.labels.species.length : 0;
  const embedding = new Float32Array(n * dim);
  const species = new Float32Array(n * nSpecies);
  const views = options.views ? { plain: new Float32Array(n * dim), mirrored: new Float32Array(n * dim) } : undefined;
  const individualToSpecies = oneHotSpecies(trained);
  const k = Math.min(CLASS_TOP, trained.task.labels.individuals.length);
  const classTop = individualToSpecies ? { index: new Int32Array(n * k), prob: new Float32Array(n * k) } : undefined;
  let row = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const b = batch.paths.length;
      for (const u of batch.unreadable ?? []) unreadable.push({ index: row + u.index, path: batch.paths[u.index]!, reason: u.reason });
      // Both views in one pass: in eval mode every row is independent of the others.
      const input = (x: torch.Tensor): torch.Tensor => (mirror ? torch.cat([x, x.flip(3)]) : x);
      let raw: EngineOutputs | undefined;
      if (engine) {
        const shape = [mirror ? 2 * b : b, ...batch.shape.slice(1)];
        const pixels = mirror ? torch.tidy(() => input(imagesOf(batch)).toFloat32Array()) : batch.data;
        raw = await engine.run(pixels, shape);
      }
      torch.noGrad(() =>
        torch.tidy(() => {
          const rows = mirror ? 2 * b : b;
          const fwd = raw
            ? { embedding: torch.tensor(raw.embedding, [rows, raw.embedding.length / rows]), logits: torch.tensor(raw.logits, [rows, raw.logits.length / rows]) }
            : forwardRaw(trained, input(imagesOf(batch)));
          const out = { embedding: fwd.embedding, ...(fwd.logits ? probabilities(fwd.logits, individualToSpecies) : {}) };
          const plain = out.embedding.narrow(0, 0, b);
          const mirrored = mirror ? out.embedding.narrow(0, b, b) : plain;
          embedding.set((flip ? torch.F.normalize(plain.add(mirrored)) : plain).toFloat32Array(), row * dim);
          if (out.species) {
            const probs = flip ? out.species.narrow(0, 0, b).add(out.species.narrow(0, b, b)).mul(0.5) : out.species.narrow(0, 0, b);
            species.set(probs.toFloat32Array(), row * nSpecies);
          }
          if (classTop && out.individuals) {
            const ind = flip ? out.individuals.narrow(0, 0, b).add(out.individuals.narrow(0, b, b)).mul(0.5) : out.individuals.narrow(0, 0, b);
            const { values, indices } = ind.topk(k, 1);
            classTop.prob.set(values.toFloat32Array(), row * k);
            classTop.index.set(Int32Array.from(indices.toArray()), row * k);
          }
          views?.plain.set(plain.toFloat32Array(), row * dim);
          views?.mirrored.set(mirrored.toFloat32Array(), row * dim);
        }),
      );
      row += b;
      progress.tick(b);
    }
  } finally {
    individualToSpecies?.dispose();
  }
  progress.done();
  return { count: n, dim, embedding, species, ...(views ? { views } : {}), ...(classTop ? { classTop } : {}), unreadable };
}
