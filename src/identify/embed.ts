// Photos -> unit-length embeddings (what gallery search compares) and species probabilities, from
// an opened run. An identification run's embedding is its ArcFace neck's output; a species run has
// none, so its globally average-pooled backbone features stand in (the seed's kNN baseline).
// Flip test-time augmentation: a photo and its mirror go through the model in one batch and their
// embeddings are averaged, which steadies the vector against which way the animal faces.
import { BatchLoader } from '../data/loader.js';
import type { Sample } from '../data/pipeline.js';
import { JointHead } from '../models/arcface.js';
import { globalAvgPool } from '../models/heads.js';
import * as torch from '../torch/index.js';
import type { OpenRun } from '../train/load_run.js';
import { imagesOf } from '../train/tasks.js';
import { checkInteger } from '../util/check.js';
import { Progress } from '../util/progress.js';

export interface EmbedOptions {
  /** Average each photo with its horizontal mirror (default true). */
  flip?: boolean;
  /** Also return the plain and the mirrored embeddings apart (a gallery with mirrors). */
  views?: boolean;
  batchSize?: number;
  /** Photos decoding at once. */
  concurrency?: number;
  quiet?: boolean;
  /** Progress bar label. */
  label?: string;
}

export interface Embedded {
  count: number;
  dim: number;
  /** [count, dim] unit rows: the flip average, or the plain view without flip. */
  embedding: Float32Array;
  /** [count, dim] each, unit rows, when `views` was asked for. */
  views?: { plain: Float32Array; mirrored: Float32Array };
  /** [count, species] probabilities, in the run's species order (labels.species). */
  species: Float32Array;
}

/** Width of the run's embedding: the neck's, or the pooled backbone features' for a species run. */
export function embeddingDim(run: OpenRun): number {
  const model = run.task.model;
  return model.head instanceof JointHead ? model.head.neck.embeddingDim : model.backbone.featureChannels;
}

/** Unit embeddings and species logits of a batch of images, in one forward pass. */
function forwardViews(run: OpenRun, x: torch.Tensor): { embedding: torch.Tensor; logits: torch.Tensor } {
  const model = run.task.model;
  const features = model.backbone.forwardFeatures(x);
  if (model.head instanceof JointHead) {
    const out = model.head.forward(features);
    return { embedding: out.embedding, logits: out.species };
  }
  return { embedding: torch.F.normalize(globalAvgPool(features)), logits: model.head.forward(features) as torch.Tensor };
}

/** Embeds photos in order (the loader keeps it), batched and prefetched. */
export async function embedPhotos(run: OpenRun, samples: readonly Sample[], options: EmbedOptions = {}): Promise<Embedded> {
  const flip = options.flip ?? true;
  const mirror = flip || (options.views ?? false);
  const batchSize = checkInteger('batchSize', options.batchSize ?? 32, 1);
  const loader = new BatchLoader(run.pipeline, samples, { batchSize, concurrency: options.concurrency ?? 4 });
  const progress = new Progress({ total: samples.length, label: options.label ?? 'embed', quiet: options.quiet });
  run.task.model.eval();
  const n = samples.length;
  const dim = embeddingDim(run);
  const nSpecies = run.info.labels.species.length;
  const embedding = new Float32Array(n * dim);
  const species = new Float32Array(n * nSpecies);
  const views = options.views ? { plain: new Float32Array(n * dim), mirrored: new Float32Array(n * dim) } : undefined;
  let row = 0;
  for await (const batch of loader.epoch(0)) {
    const b = batch.paths.length;
    torch.noGrad(() =>
      torch.tidy(() => {
        const x = imagesOf(batch);
        // Both views in one pass: in eval mode every row is independent of the others.
        const out = forwardViews(run, mirror ? torch.cat([x, x.flip(3)]) : x);
        const probs = torch.F.softmax(out.logits, 1);
        const plain = out.embedding.narrow(0, 0, b);
        const mirrored = mirror ? out.embedding.narrow(0, b, b) : plain;
        embedding.set((flip ? torch.F.normalize(plain.add(mirrored)) : plain).toFloat32Array(), row * dim);
        species.set((flip ? probs.narrow(0, 0, b).add(probs.narrow(0, b, b)).mul(0.5) : probs.narrow(0, 0, b)).toFloat32Array(), row * nSpecies);
        views?.plain.set(plain.toFloat32Array(), row * dim);
        views?.mirrored.set(mirrored.toFloat32Array(), row * dim);
      }),
    );
    row += b;
    progress.tick(b);
  }
  progress.done();
  return { count: n, dim, embedding, species, ...(views ? { views } : {}) };
}
