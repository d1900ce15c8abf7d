// ONNX Runtime as identification's inference engine: a trained model's exported graph run on
// batches of pixels in [0, 1] (the graph normalises them), giving the same `embedding` and logits
// finprint's own forward pass gives. Softmax, flip averaging and top classes stay in identify/embed.ts,
// so both engines treat the outputs identically.
import type { EngineOutputs, InferenceEngine, TrainedModel } from '../identify/model.js';
import { OrtModel, type OrtOptions } from './ort.js';
import { pixelPipeline, taskOutputs } from './trained.js';

/** An engine over `model` (an export of `trained`'s task, as a file path or bytes) in ONNX Runtime. */
export async function onnxEngine(trained: TrainedModel, model: string | Uint8Array, options: OrtOptions = {}): Promise<InferenceEngine> {
  const [embeddingName, logitsName] = taskOutputs(trained.task).names as [string, string];
  const ort = await OrtModel.load(model, options);
  const task = ort.metadata['finprint.task'];
  if (task !== trained.task.name || !ort.outputNames.includes(embeddingName) || !ort.outputNames.includes(logitsName)) {
    await ort.release();
    throw new Error(`${ort.source} is not an export of ${trained.source}'s ${trained.task.name} model (task ${String(task)}, outputs ${ort.outputNames.join(', ')})`);
  }
  return {
    name: 'onnx',
    pipeline: pixelPipeline(trained.pipeline),
    async run(data, shape): Promise<EngineOutputs> {
      const out = await ort.run(data, shape);
      return { embedding: out.get(embeddingName)!.data, logits: out.get(logitsName)!.data };
    },
    release: () => ort.release(),
  };
}
