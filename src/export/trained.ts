// What finprint's trained models export as. A task's model (backbone + head) gives `embedding`
// (unit rows, what gallery search compares), `species_logits`, and for the ArcFace heads
// `class_cosines` (cosine to each known individual's closest centre); the seed's softmax over
// individuals gives `individual_logits` instead of species logits. The detector gives its head map.
// Both take `pixels`: RGB in [0, 1], channels first, resized by the caller; the run's mean/std
// normalisation is inside the graph.
import { ImagePipeline } from '../data/pipeline.js';
import type { CenterNet } from '../detect/model.js';
import { HEAD_CHANNELS } from '../detect/model.js';
import { JointHead } from '../models/arcface.js';
import { DenseHead, globalAvgPool } from '../models/heads.js';
import { F, type Tensor } from '../torch/index.js';
import type { Task } from '../train/tasks.js';
import { exportOnnx, type Normalization, type OnnxExport } from './export.js';

export interface TrainedExportOptions {
  /** Side of the square input the model was trained at. */
  imageSize: number;
  normalization: Normalization;
  /** Extra metadata_props (the run's backbone, threshold, ...). */
  metadata?: Record<string, string>;
  /** The example traced, pixels in [0, 1] (default: seeded random pixels). */
  example?: Float32Array;
  /** Traced batch size (default 2). */
  batch?: number;
}

/** The graph outputs of a task, in order, and how to compute them from pixels already normalised. */
export function taskOutputs(task: Task): { names: string[]; forward: (x: Tensor) => Record<string, Tensor> } {
  const model = task.model;
  const head = model.head;
  if (head instanceof JointHead) {
    return {
      names: ['embedding', 'species_logits', 'class_cosines'],
      forward: (x) => {
        const out = head.forward(model.backbone.forwardFeatures(x));
        return { embedding: out.embedding, species_logits: out.species, class_cosines: head.individual.cosine(out.embedding) };
      },
    };
  }
  if (head instanceof DenseHead) {
    // As identify/embed.ts: a softmax run's embedding is its normalised, average-pooled features.
    const logits = task.name === 'individual-softmax' ? 'individual_logits' : 'species_logits';
    return {
      names: ['embedding', logits],
      forward: (x) => {
        const features = model.backbone.forwardFeatures(x);
        return { embedding: F.normalize(globalAvgPool(features)), [logits]: head.forward(features) };
      },
    };
  }
  throw new Error(`ONNX export: task '${task.name}' has a head (${head.constructor.name}) without a known set of outputs`);
}

/** A trained task's model as ONNX: pixels -> embedding, species_logits (or individual_logits), class_cosines. */
export function exportTask(task: Task, options: TrainedExportOptions): OnnxExport {
  const { names, forward } = taskOutputs(task);
  task.model.eval();
  const labels = task.labels;
  return exportOnnx(task.model, {
    inputShape: [options.batch ?? 2, 3, options.imageSize, options.imageSize],
    inputName: 'pixels',
    outputs: names,
    forward,
    normalization: options.normalization,
    graphName: `finprint_${task.name}`,
    ...(options.example ? { example: options.example } : {}),
    metadata: {
      'finprint.task': task.name,
      'finprint.image_size': String(options.imageSize),
      'finprint.species': JSON.stringify(labels.species),
      ...(names.includes('class_cosines') || task.name === 'individual-softmax' ? { 'finprint.individuals': JSON.stringify(labels.individuals) } : {}),
      ...options.metadata,
    },
  });
}

/** The detector as ONNX: pixels -> `heads` [batch, 5, G, G] (heatmap logits, then distances to the box's left, top, right, bottom). */
export function exportDetector(model: CenterNet, options: Omit<TrainedExportOptions, 'imageSize'>): OnnxExport {
  model.eval();
  const size = model.config.imageSize;
  return exportOnnx(model, {
    inputShape: [options.batch ?? 2, 3, size, size],
    inputName: 'pixels',
    outputs: ['heads'],
    normalization: options.normalization,
    graphName: 'finprint_detector',
    ...(options.example ? { example: options.example } : {}),
    metadata: {
      'finprint.task': 'detector',
      'finprint.image_size': String(size),
      'finprint.grid_size': String(model.gridSize),
      'finprint.head_channels': HEAD_CHANNELS.join(','),
      ...options.metadata,
    },
  });
}

/**
 * The pipeline that feeds an exported model: the same decoding, resizing, padding colour and cache
 * as `pipeline`, but pixels left in [0, 1] (the graph normalises them).
 */
export function pixelPipeline(pipeline: ImagePipeline): ImagePipeline {
  const r = pipeline.resize;
  return new ImagePipeline({
    size: [r.height, r.width],
    mode: r.mode,
    cropPct: r.cropPct,
    margin: r.margin,
    interpolation: r.interpolation,
    background: r.background,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    ...(pipeline.cache ? { cacheDir: pipeline.cache.dir } : {}),
  });
}
