// Reading the timm reference fixtures (test/fixtures/timm, made by tools/make_timm_fixtures.py):
// a model's state dict plus its eval-mode outputs, and the full-size key manifests.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSafetensors } from '../../src/io/safetensors.js';
import type { StateDict } from '../../src/nn/index.js';
import type { Tensor } from '../../src/torch/index.js';

const dir = fileURLToPath(new URL('../../../test/fixtures/timm/', import.meta.url)); // from dist/test/models
/** The large fixtures (full-size inception_v3 and efficientnet_b0, F16 weights) live only in ../shared next to the repo. */
export const sharedFixtureDir = fileURLToPath(new URL('../../../../shared/fixtures/timm/', import.meta.url));

export interface TimmFixture {
  stateDict: StateDict;
  input: Tensor;
  features: Tensor;
  preLogits: Tensor;
  logits: Tensor;
}

/**
 * Splits `<name>.safetensors` into the state dict and the named `__...__` tensors (the input and
 * the reference outputs), all floats as float32 (F16 weights are upcast; the reference ran on the
 * F16-rounded values).
 */
export async function loadFixtureTensors<K extends string>(
  name: string,
  keys: readonly K[],
  options: { dir?: string } = {},
): Promise<{ stateDict: StateDict; tensors: Record<K, Tensor> }> {
  const all = await loadSafetensors(`${options.dir ?? dir}${name}.safetensors`, { dtype: 'float32' });
  const take = (key: K): [K, Tensor] => {
    const t = all.get(key);
    if (!t) throw new Error(`fixture ${name} lacks ${key}`);
    all.delete(key);
    return [key, t];
  };
  return { stateDict: all, tensors: Object.fromEntries(keys.map(take)) as Record<K, Tensor> };
}

/** A classifier fixture: the state dict, `__input__`, and features, pre-logits and logits. */
export async function loadFixture(name: string, options: { dir?: string } = {}): Promise<TimmFixture> {
  const { stateDict, tensors } = await loadFixtureTensors(name, ['__input__', '__features__', '__pre_logits__', '__logits__'], options);
  return { stateDict, input: tensors.__input__, features: tensors.__features__, preLogits: tensors.__pre_logits__, logits: tensors.__logits__ };
}

export interface KeysManifest {
  model: string;
  pretrained_cfg: Record<string, unknown>;
  num_params: number;
  state_dict: Record<string, { shape: number[]; dtype: string }>;
}

/** `<model>.keys.json`: the full-size model's state-dict keys, shapes and dtypes, and its pretrained_cfg. */
export function loadManifest(model: string): KeysManifest {
  return JSON.parse(readFileSync(`${dir}${model}.keys.json`, 'utf8')) as KeysManifest;
}

/** max |actual − expected| / max |expected|, after checking the shapes agree. */
export function maxRelDiff(actual: Tensor, expected: Tensor): number {
  if (actual.shape.join() !== expected.shape.join()) throw new Error(`shape [${actual.shape.join(', ')}] differs from the reference [${expected.shape.join(', ')}]`);
  const a = actual.toFloat32Array();
  const e = expected.toFloat32Array();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - e[i]!));
    scale = Math.max(scale, Math.abs(e[i]!));
  }
  return diff / scale;
}

/** A model's state dict in the manifest's form, for comparing names, shapes and dtypes. */
export function stateDictSpec(sd: StateDict): Record<string, { shape: number[]; dtype: string }> {
  return Object.fromEntries([...sd].map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype }]));
}
