// What identification needs of a trained model, wherever it came from (a run folder, later a
// catalogue or an exported model): the task with its model and labels, and how to feed it photos.
import type { ImagePipeline } from '../data/pipeline.js';
import type { Task } from '../train/tasks.js';

export interface TrainedModel {
  readonly task: Task;
  /** The evaluation pipeline it was validated with (no augmentation). */
  readonly pipeline: ImagePipeline;
  /** It trained on mirrored photos, so a photo's mirror image is worth searching too. */
  readonly flips: boolean;
  /** Where it came from, for messages (e.g. the run folder). */
  readonly source: string;
}
