// What identification needs of a trained model, wherever it came from (a run folder, later a
// catalogue or an exported model): the task with its model and labels, and how to feed it photos.
// The forward pass is the task's own model in libtorch unless an `engine` (e.g. ONNX Runtime over
// the exported model) is given: everything after it (softmax, flip averaging, top classes) is the same.
import type { ImagePipeline } from '../data/pipeline.js';
import type { Task } from '../train/tasks.js';

/** The inference engines: libtorch (the task's own model) and ONNX Runtime (src/export/engine.ts). */
export const ENGINES = ['torch', 'onnx'] as const;
export type EngineName = (typeof ENGINES)[number];

/** A batch's raw outputs, row-major float32. */
export interface EngineOutputs {
  /** [n, dim] unit rows. */
  embedding: Float32Array;
  /** [n, classes] logits: species, or individuals for the seed's softmax over individuals. */
  logits: Float32Array;
}

/** How a batch of photos becomes embeddings and logits, outside finprint's own forward pass. */
export interface InferenceEngine {
  /** For messages and cache keys (e.g. 'onnx'). */
  readonly name: string;
  /** The pipeline that feeds it (e.g. pixels left in [0, 1] when the normalisation is in the graph). */
  readonly pipeline: ImagePipeline;
  /** One batch, [n, 3, H, W] float32 as `pipeline` makes it. */
  run(data: Float32Array, shape: readonly number[]): Promise<EngineOutputs>;
  release(): Promise<void>;
}

export interface TrainedModel {
  readonly task: Task;
  /** The evaluation pipeline it was validated with (no augmentation). */
  readonly pipeline: ImagePipeline;
  /** It trained on mirrored photos, so a photo's mirror image is worth searching too. */
  readonly flips: boolean;
  /** Where it came from, for messages (e.g. the run folder). */
  readonly source: string;
  /** Runs the forward pass instead of `task.model` (which still gives the labels, dims and ArcFace centres). */
  readonly engine?: InferenceEngine;
}
