// Training checkpoints: everything needed to continue a run exactly where it stopped (model,
// optimizer, scheduler, callback state, RNG, epoch and batch position) in one safetensors file.
// Files are written atomically and carry a digest of their tensor bytes, so a damaged file is
// detected on load and the previous good checkpoint is used instead.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { Tensor } from '../torch/index.js';
import { invalidParameterError } from '../util/check.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from './safetensors.js';

export interface CheckpointContent {
  /** Tensors by group: model state, optimizer state, RNG state, ... */
  tensors: Map<string, Map<string, Tensor>>;
  /** Everything else, as JSON (epoch, position, callback and scheduler state, history). */
  json: Record<string, unknown>;
}

const META_KEY = 'finprint';
const DIGEST_KEY = 'finprint_digest';

function digest(tensors: Map<string, Tensor>): string {
  const h = createHash('sha256');
  for (const [name, t] of [...tensors].sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(name);
    h.update(`${t.dtype}[${t.shape.join(',')}]`);
    h.update(new Uint8Array(t.handle.toBuffer()));
  }
  return h.digest('hex');
}

function flatten(content: CheckpointContent): Map<string, Tensor> {
  const flat = new Map<string, Tensor>();
  for (const [group, tensors] of content.tensors) {
    if (group.includes('/')) throw invalidParameterError('checkpoint tensor group name', "a name without '/'", group);
    for (const [name, t] of tensors) flat.set(`${group}/${name}`, t);
  }
  return flat;
}

export async function saveCheckpoint(path: string, content: CheckpointContent): Promise<void> {
  const flat = flatten(content);
  await saveSafetensors(path, flat, { [META_KEY]: JSON.stringify(content.json), [DIGEST_KEY]: digest(flat) });
}

/** Loads and verifies a checkpoint; throws an Error naming the file and the problem if damaged. */
export async function loadCheckpoint(path: string): Promise<CheckpointContent> {
  const { metadata } = await readSafetensorsHeader(path);
  const flat = await loadSafetensors(path);
  const raw = metadata[META_KEY];
  if (raw === undefined) throw new Error(`checkpoint ${path}: not a finprint checkpoint (no '${META_KEY}' metadata)`);
  if (metadata[DIGEST_KEY] !== digest(flat)) throw new Error(`checkpoint ${path}: tensor data does not match its digest (the file is damaged)`);
  const tensors = new Map<string, Map<string, Tensor>>();
  for (const [key, t] of flat) {
    const slash = key.indexOf('/');
    const group = key.slice(0, slash);
    if (!tensors.has(group)) tensors.set(group, new Map());
    tensors.get(group)!.set(key.slice(slash + 1), t);
  }
  return { tensors, json: JSON.parse(raw) as Record<string, unknown> };
}

/**
 * Keeps the last two checkpoints of a run: `<name>.safetensors` and `<name>.prev.safetensors`.
 * Saving moves the current one aside first, so a crash at any moment leaves one good file.
 */
export class CheckpointSlot {
  constructor(readonly dir: string, readonly name = 'last') {}

  get path(): string {
    return `${this.dir}/${this.name}.safetensors`;
  }
  get previousPath(): string {
    return `${this.dir}/${this.name}.prev.safetensors`;
  }

  exists(): boolean {
    return existsSync(this.path) || existsSync(this.previousPath);
  }

  async save(content: CheckpointContent): Promise<void> {
    if (existsSync(this.path)) await rename(this.path, this.previousPath);
    await saveCheckpoint(this.path, content);
  }

  /** The newest checkpoint that loads cleanly; warns (through `warn`) about any it had to skip. */
  async load(warn: (message: string) => void): Promise<CheckpointContent | undefined> {
    const errors: string[] = [];
    for (const p of [this.path, this.previousPath]) {
      if (!existsSync(p)) continue;
      try {
        const c = await loadCheckpoint(p);
        for (const e of errors) warn(`${e}; resuming from the previous checkpoint ${p}`);
        return c;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length) throw new Error(`no usable checkpoint in ${this.dir}: ${errors.join('; ')}`);
    return undefined;
  }
}
