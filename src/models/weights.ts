// Loading a pretrained checkpoint into a model, as timm's load_pretrained: safetensors in any float
// dtype, the family's checkpoint filter (torchvision names -> timm names), and the classifier left
// out when it is not wanted or does not fit the model's number of classes.
import { loadSafetensors } from '../io/safetensors.js';
import type { AnyModule, StateDict } from '../nn/index.js';
import type { Tensor } from '../torch/index.js';
import { invalidParameterError } from '../util/check.js';
import { Backbone } from './backbone.js';
import { listModels, modelEntry } from './registry.js';

export interface LoadWeightsOptions {
  /**
   * Leave the classifier out and keep the model's own (freshly initialised) one: true for the
   * `classifier` prefixes, or a list of state-dict prefixes (e.g. ['head.fc']).
   */
  ignoreHead?: boolean | string[];
  /**
   * The checkpoint's classifier prefixes (pretrainedCfg.classifier). Needed for ignoreHead: true;
   * also, when given, a classifier whose keys do not fit the model (another number of classes, or
   * none) is left out automatically, as timm does when num_classes differs.
   */
  classifier?: string[];
  /**
   * Load only the checkpoint's keys under this prefix, with the prefix removed: 'backbone' takes
   * the backbone out of a finprint run's checkpoint (whose keys are backbone.* and head.*).
   */
  prefix?: string;
}

export interface LoadWeightsReport {
  /** Model keys loaded from the file. */
  loaded: string[];
  /** Checkpoint keys left out (under ignored head prefixes). */
  ignored: string[];
  /** Model keys left as they were (under ignored head prefixes). */
  kept: string[];
}

/**
 * Loads a safetensors checkpoint (F32/F16/BF16, converted to float32) into the model, through the
 * model's filterCheckpoint when it is a Backbone. The whole file must fit the model: any missing,
 * unexpected or mis-shaped key outside the ignored head prefixes fails, listing them all, before
 * anything is copied.
 */
export async function loadWeights(model: AnyModule, file: string, options: LoadWeightsOptions = {}): Promise<LoadWeightsReport> {
  if (typeof file !== 'string' || file === '') throw invalidParameterError('file', 'a path to a .safetensors file', file);
  const classifier = checkPrefixes('classifier', options.classifier ?? []);
  const named = Array.isArray(options.ignoreHead) ? checkPrefixes('ignoreHead', options.ignoreHead) : [];
  if (options.ignoreHead === true && classifier.length === 0) {
    throw invalidParameterError('ignoreHead', "the head's prefixes, or true with options.classifier (true needs the classifier prefixes, from the model's pretrainedCfg.classifier)", true);
  }
  const prefix = options.prefix === undefined ? undefined : checkPrefixes('prefix', [options.prefix])[0]!;
  const raw = await loadSafetensors(file, { dtype: 'float32' });
  let sd: StateDict = raw;
  try {
    const picked = prefix === undefined ? raw : underPrefix(raw, prefix, file);
    sd = model instanceof Backbone ? model.filterCheckpoint(picked) : picked;
    const own = model.stateDict();
    let ignore = options.ignoreHead === true ? classifier : named;
    if (ignore.length === 0 && classifier.length > 0 && !fits(sd, own, classifier)) ignore = classifier;
    return load(model, file, sd, own, widen(ignore, own));
  } finally {
    for (const t of new Set<Tensor>([...raw.values(), ...sd.values()])) t.dispose();
  }
}

function underPrefix(sd: StateDict, prefix: string, file: string): StateDict {
  const out: StateDict = new Map([...sd].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));
  if (out.size === 0) throw new Error(`loadWeights ${file}: no keys under '${prefix}.' (found e.g. ${[...sd.keys()].slice(0, 3).join(', ')})`);
  return out;
}

function load(model: AnyModule, file: string, sd: StateDict, own: StateDict, ignore: string[]): LoadWeightsReport {
  const under = underAny(ignore);
  const source: StateDict = new Map([...sd].filter(([k]) => !under(k)));
  // The model's own tensors stand in for its ignored keys, so loadStateDict's strict check (which
  // throws before copying anything) reports exactly the problems outside the ignored prefixes;
  // copying a tensor onto itself changes nothing.
  const kept = [...own.keys()].filter(under);
  for (const k of kept) source.set(k, own.get(k)!);
  try {
    model.loadStateDict(source, { strict: true });
  } catch (err) {
    const hint = ignore.length ? `ignored head prefixes: ${ignore.join(', ')}` : 'no head prefixes ignored; pass ignoreHead to leave the classifier out';
    throw new Error(`loadWeights ${file}: the checkpoint does not fit the model (${hint})\n${(err as Error).message}`);
  }
  return { loaded: [...own.keys()].filter((k) => !under(k)), ignored: [...sd.keys()].filter(under), kept };
}

/**
 * A classifier removed from the model (numClasses 0) can take its parent module along, e.g.
 * LeViT's head.bn goes with head.linear: each prefix widens to its highest ancestor under which
 * the model has no keys at all, so the checkpoint's keys there are ignored too.
 */
function widen(prefixes: string[], own: StateDict): string[] {
  const keys = [...own.keys()];
  return prefixes.map((p) => {
    const parts = p.split('.');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('.');
      if (!keys.some(underAny([ancestor]))) return ancestor;
    }
    return p;
  });
}

/** Whether every checkpoint key under the prefixes exists in the model with the same shape, and vice versa. */
function fits(sd: StateDict, own: StateDict, prefixes: string[]): boolean {
  const under = underAny(prefixes);
  const theirs = [...sd.keys()].filter(under);
  const ours = [...own.keys()].filter(under);
  return theirs.length === ours.length && theirs.every((k) => own.has(k) && sameShape(own.get(k)!.shape, sd.get(k)!.shape));
}

/** A test for keys equal to one of the prefixes or below it (`head.fc` matches `head.fc.weight`, not `head.fc2.weight`). */
function underAny(prefixes: string[]): (key: string) => boolean {
  return (key) => prefixes.some((p) => key === p || key.startsWith(`${p}.`));
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkPrefixes(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' && p !== '' && !p.endsWith('.'))) {
    throw invalidParameterError(name, 'an array of state-dict prefixes such as "head.fc"', value);
  }
  return value;
}

export interface HubWeights {
  /** The hub repository, owner/name. */
  repo: string;
  /**
   * The model's top-level state-dict names, for checkpoints published outside timm whose keys
   * may be wrapped in a prefix ('model.', 'module.') that the pull strips (PullOptions.keyRoots).
   */
  keyRoots?: readonly string[];
}

/**
 * Weights published outside the timm namespace, by model name. Looked up before the registry,
 * so the name resolves whether or not the model's family is registered yet.
 */
const EXTERNAL_WEIGHTS: Readonly<Record<string, HubWeights>> = {
  // MiewID (Wild Me / Conservation X Labs): one published checkpoint, a MiewIdNet state dict
  // (backbone.* efficientnetv2_rw_m, pooling.p GeM, bn.* the embedding's BatchNorm).
  miewid: { repo: 'conservationxlabs/miewid-msv3', keyRoots: ['backbone', 'pooling', 'bn'] },
};

/**
 * The hub repository holding a model's weights: the registered default (pretrainedCfg.hfHubId,
 * e.g. timm/vgg16.tv_in1k), or timm/<name>.<tag> for another tag, given as `tag` or timm-style in
 * the name ('vgg16.tv_in1k'). With a tag the model need not be registered. Models published
 * outside timm ('miewid') have one checkpoint and no tags.
 */
export function hubRepo(name: string, tag?: string): string {
  return hubWeights(name, tag).repo;
}

/** hubRepo, with what pulling that repository needs to know about the checkpoint's keys. */
export function hubWeights(name: string, tag?: string): HubWeights {
  if (typeof name !== 'string' || !/^[\w-]+(\.[\w-]+)?$/.test(name)) throw invalidParameterError('name', "a model name such as 'vgg16' or 'vgg16.tv_in1k'", name);
  if (tag !== undefined && !/^[\w-]+$/.test(tag)) throw invalidParameterError('tag', "a pretrained tag such as 'tv_in1k'", tag);
  const [model, nameTag] = name.split('.') as [string, string | undefined];
  if (nameTag !== undefined && tag !== undefined) throw invalidParameterError('tag', `no tag: '${name}' already names tag '${nameTag}' (drop one of them)`, tag);
  const t = tag ?? nameTag;
  const external = Object.hasOwn(EXTERNAL_WEIGHTS, model) ? EXTERNAL_WEIGHTS[model]! : undefined;
  if (external) {
    if (t !== undefined) throw invalidParameterError('tag', `no tag: ${model} has one published checkpoint (${external.repo})`, t);
    return { ...external };
  }
  if (t !== undefined) return { repo: `timm/${model}.${t}` };
  const repo = modelEntry(model).pretrainedCfg.hfHubId;
  if (repo === '') {
    // Test variants (reduced widths, e.g. vgg16_tiny) exist only to check code paths: nobody trained them.
    const withWeights = listModels({ includeTestVariants: true }).filter((m) => modelEntry(m).pretrainedCfg.hfHubId !== '');
    throw new Error(`no pretrained weights for ${model} (models with pretrained weights: ${withWeights.join(', ')})`);
  }
  return { repo };
}
