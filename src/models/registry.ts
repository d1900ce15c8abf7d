// Model names -> builders and pretrained configs, as timm's create_model and list_models.
import { checkInteger, invalidParameterError } from '../util/check.js';
import type { Backbone, PretrainedCfg } from './backbone.js';

export interface ModelOptions {
  /** Classifier outputs; 0 builds the model without a classifier (features and pre-logits only). */
  numClasses?: number;
  /** Input size for models whose attention tables depend on it (LeViT, CoAtNet); default the pretrained one. */
  imgSize?: number;
}

export interface ModelEntry {
  name: string;
  /** The model family, i.e. the file under src/models that builds it. */
  family: string;
  pretrainedCfg: PretrainedCfg;
  /** Reduced-width variants that exist to check the code path against fixtures. */
  testVariant?: boolean;
  /** Input sizes the architecture can take (its strides and attention tables decide). */
  inputSizes?: { min?: number; multipleOf?: number };
  create(options: ModelOptions): Backbone;
}

const entries = new Map<string, ModelEntry>();

export function registerModel(entry: ModelEntry): void {
  if (entries.has(entry.name)) throw new Error(`registerModel: ${entry.name} is already registered`);
  entries.set(entry.name, entry);
}

export function modelEntry(name: string): ModelEntry {
  const e = entries.get(name);
  if (!e) throw invalidParameterError('model', `one of ${listModels({ includeTestVariants: true }).join(', ')}`, name);
  return e;
}

export function listModels(options: { includeTestVariants?: boolean } = {}): string[] {
  return [...entries.values()].filter((e) => options.includeTestVariants || !e.testVariant).map((e) => e.name);
}

/** Throws a clear error when a model cannot take square inputs of this size. */
export function checkInputSize(name: string, size: number): void {
  const { min = 32, multipleOf = 1 } = modelEntry(name).inputSizes ?? {};
  if (!Number.isInteger(size) || size < min || size % multipleOf !== 0) {
    throw invalidParameterError(`${name} input size`, `an integer >= ${min}${multipleOf > 1 ? ` that is a multiple of ${multipleOf}` : ''}`, size);
  }
}

/** Builds a model by name with freshly initialised weights (load weights with loadWeights). */
export function createModel(name: string, options: ModelOptions = {}): Backbone {
  const e = modelEntry(name);
  const numClasses = options.numClasses ?? e.pretrainedCfg.numClasses;
  checkInteger('createModel.numClasses', numClasses, 0);
  if (options.imgSize !== undefined) checkInputSize(name, options.imgSize);
  return e.create({ numClasses, ...(options.imgSize !== undefined ? { imgSize: options.imgSize } : {}) });
}
