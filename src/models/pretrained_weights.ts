// Pretrained weights given by name or by file, for a model to start from or to be used as it is:
// - the name of a model with published weights ('miewid', 'efficientnet_b0') stands for its
//   checkpoint as `finprint weights pull NAME` cached it (io/hub.ts); nothing is downloaded here;
// - a checkpoint of a model that wraps its backbone under 'backbone.' beside a head of its own
//   (MiewID: backbone.* efficientnetv2_rw_m, pooling.p, bn.*; a finprint run's weights) gives a
//   plain backbone its backbone.* tensors, the prefix removed, and leaves the head out.
import { existsSync } from 'node:fs';
import { cachedWeightsPath } from '../io/hub.js';
import { readSafetensorsHeader } from '../io/safetensors.js';
import type { AnyModule } from '../nn/index.js';
import { hubRepo } from './weights.js';

/** The cached checkpoint of a model with published weights, or an error naming the command that pulls it. */
export function pulledWeights(name: string): string {
  const file = cachedWeightsPath(hubRepo(name));
  if (!existsSync(file)) throw new Error(`the ${name} weights are not in the cache (${file}): run \`finprint weights pull ${name}\` first, or give a .safetensors file of them`);
  return file;
}

export interface CheckpointPart {
  /** The prefix to load from (removed), when only the wrapped backbone fits. */
  prefix?: 'backbone';
  /** The checkpoint's other top-level names, left out (e.g. pooling, bn). */
  leftOut: string[];
}

/** Which part of the checkpoint fits `model`: its backbone.* when it wraps one and the model does not, else all of it. */
export async function checkpointPart(file: string, model: AnyModule): Promise<CheckpointPart> {
  const wrapped = (keys: Iterable<string>): boolean => [...keys].some((k) => k.startsWith('backbone.'));
  const keys = [...(await readSafetensorsHeader(file)).tensors.keys()];
  if (!wrapped(keys) || wrapped(model.stateDict().keys())) return { leftOut: [] };
  return { prefix: 'backbone', leftOut: [...new Set(keys.filter((k) => !k.startsWith('backbone.')).map((k) => k.split('.')[0]!))] };
}
