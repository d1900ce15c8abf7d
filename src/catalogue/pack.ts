// Field packs: what an offline page needs to identify photos with no network: the model (ONNX),
// the known individuals' embeddings and a few reference thumbnails each. This module owns the
// format (docs/field-pack.md): the manifest, the index, the embeddings file, and what reads them
// back. The pack is written by src/runs/pack.ts (it needs the run's model to export it).
//
//   manifest.json   format 1: model digest, counts, input, threshold, calibration, files and sizes
//   model.onnx      the run's model (pixels -> embedding, ...), checked with ONNX Runtime
//   detector.onnx   the detector, when the catalogue has one
//   embeddings.bin  float32 little-endian, [photos, dim], unit rows, in row order
//   index.json      individuals (id, name, species, rows, last seen, thumbnails) and rows -> individual
//   thumbs/<n>.jpg  reference thumbnails, n = the row of the photo shown (never a user's name)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue } from './catalogue.js';
import { InvalidRequestError, NotFoundError } from './errors.js';
import type { Box } from '../data/crop.js';

export const PACK_FORMAT = 1;

export const PACK_FILES = {
  manifest: 'manifest.json',
  model: 'model.onnx',
  detector: 'detector.onnx',
  embeddings: 'embeddings.bin',
  index: 'index.json',
  thumbs: 'thumbs',
} as const;

/** Reference thumbnails per individual, and their longer side in pixels. */
export const PACK_THUMBS_PER_INDIVIDUAL = 3;
export const PACK_THUMB_SIZE = 256;

export interface PackManifest {
  format: typeof PACK_FORMAT;
  kind: 'finprint-field-pack';
  /** ISO date-time the pack was written. */
  created: string;
  /** The model version (the run's weights digest): only a catalogue of this model can sync its decisions. */
  model: string;
  /** What the known individuals came from. */
  source: { kind: 'catalogue' | 'run'; path: string };
  /** Restrictions applied (null: none). */
  restrictions: { species: string[] | null; individuals: string[] | null };
  counts: { individuals: number; photos: number; thumbnails: number };
  /** Side of the square input, as the model was trained. */
  imageSize: number;
  embeddingDim: number;
  /** The run's new_individual threshold: a best score under it suggests a new individual. */
  threshold: number | null;
  /** P(same individual | score): isotonic steps (score, probability), fitted on the run's validation split. */
  calibration: { scores: number[]; probabilities: number[] } | null;
  detector: { file: string; imageSize: number; gridSize: number; minScore: number } | null;
  /** How to feed model.onnx, from its metadata. */
  input: {
    name: string;
    /** float32 [batch, 3, size, size], RGB, channels first, values in [0, 1]. */
    layout: 'NCHW';
    range: [0, 1];
    size: number;
    /** The run's resize (e.g. 'squash' or 'crop'): how a photo (or its box) becomes the square input. */
    resize: string | null;
    /** The mean/std normalisation is inside the graph; recorded for information. */
    normalization: { inGraph: boolean; mean: number[] | null; std: number[] | null };
    /** The ONNX metadata's own description. */
    description: string | null;
  };
  /** The outputs of model.onnx; `embedding` is what is compared with embeddings.bin (dot product). */
  outputs: string[];
  species: string[];
  /** Every file of the pack with its size in bytes (thumbs counted together). */
  files: Record<string, number>;
  bytes: { total: number; model: number; detector: number; embeddings: number; index: number; thumbnails: number; manifest: number };
}

export interface PackIndividual {
  id: string;
  name: string | null;
  species: string | null;
  /** Its rows in embeddings.bin. */
  rows: number[];
  /** Date of its latest dated encounter. */
  lastSeen: string | null;
  /** Rows whose photo has a thumbnail: thumbs/<row>.jpg. */
  thumbs: number[];
}

export interface PackIndex {
  format: typeof PACK_FORMAT;
  individuals: PackIndividual[];
  /** For each row of embeddings.bin, the index of its individual in `individuals`. */
  rows: number[];
}

/** What a pack holds, before it is written: individuals, their photos (to thumbnail) and the embedding matrix. */
export interface PackContents {
  individuals: PackIndividual[];
  rows: number[];
  dim: number;
  /** [rows, dim] row-major. */
  embeddings: Float32Array;
  /** Photo of each row: the file and the animal's box (for its thumbnail). */
  photos: { path: string; box: Box | null }[];
  species: string[];
  /** Individuals chosen but left out: none of their photos is embedded with the model. */
  left: string[];
}

export interface PackRestrictions {
  species?: readonly string[];
  individuals?: readonly string[];
}

/** Applies --species / --individuals-from: an unknown species or id is an error naming it (and what there is). */
export function restrictIndividuals<T extends { id: string; species: string | null }>(all: readonly T[], r: PackRestrictions): T[] {
  let kept = [...all];
  if (r.species?.length) {
    const known = new Set(all.map((i) => i.species).filter((s): s is string => s !== null));
    const unknown = r.species.filter((s) => !known.has(s));
    if (unknown.length) throw new InvalidRequestError(`unknown species ${unknown.join(', ')} (the known individuals' species are ${[...known].sort().join(', ') || 'none'})`);
    const want = new Set(r.species);
    kept = kept.filter((i) => i.species !== null && want.has(i.species));
  }
  if (r.individuals) {
    const byId = new Set(all.map((i) => i.id));
    const unknown = [...new Set(r.individuals)].filter((id) => !byId.has(id));
    if (unknown.length) throw new InvalidRequestError(`${unknown.length} individual id${unknown.length > 1 ? 's' : ''} not among the known individuals: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''}`);
    const want = new Set(r.individuals);
    kept = kept.filter((i) => want.has(i.id));
  }
  if (kept.length === 0) throw new InvalidRequestError('the restrictions leave no individual in the pack');
  return kept;
}

/**
 * The known individuals of a catalogue (merged ones left out: their photos are with the one they
 * were merged into), with every confirmed photo embedded by the catalogue's model, oldest first.
 */
export async function catalogueContents(catalogue: Catalogue, restrictions: PackRestrictions = {}): Promise<PackContents> {
  const all: { id: string; name: string | null; species: string | null; lastSeen: string | null }[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await catalogue.store.individuals({ offset, limit: 1000 });
    all.push(...page.items.map((i) => ({ id: i.id, name: i.name, species: i.species, lastSeen: i.lastSeen })));
    if (page.items.length < 1000) break;
  }
  const kept = restrictIndividuals(all, restrictions);
  const withPhotos = await catalogue.store.individualsWithPhotos(kept.map((i) => i.id));
  const photoIds = kept.flatMap((i) => withPhotos.get(i.id)?.photos ?? []);
  const vectors = await catalogue.store.embeddings(catalogue.setup.model, photoIds);
  const dim = vectors.values().next().value?.length ?? 0;
  const individuals: PackIndividual[] = [];
  const rows: number[] = [];
  const photos: PackContents['photos'] = [];
  const chunks: Float32Array[] = [];
  const left: string[] = [];
  for (const i of kept) {
    const mine: number[] = [];
    for (const id of withPhotos.get(i.id)?.photos ?? []) {
      const v = vectors.get(id);
      if (!v) continue; // not embedded (catalogue check --fix embeds it)
      const photo = await catalogue.store.photo(id);
      if (!photo) continue;
      mine.push(rows.length);
      rows.push(individuals.length);
      chunks.push(v);
      photos.push({ path: catalogue.photoFile(photo), box: photo.box });
    }
    if (mine.length === 0) {
      left.push(i.id);
      continue;
    }
    individuals.push({ id: i.id, name: i.name, species: i.species, rows: mine, lastSeen: i.lastSeen, thumbs: [] });
  }
  const embeddings = new Float32Array(rows.length * dim);
  chunks.forEach((v, r) => embeddings.set(v, r * dim));
  const species = [...new Set(individuals.map((i) => i.species).filter((s): s is string => s !== null))].sort();
  return { individuals, rows, dim, embeddings, photos, species, left };
}

/** The embeddings as embeddings.bin: float32 little-endian, whatever this machine's byte order. */
export function embeddingsBytes(embeddings: Float32Array): Buffer {
  const out = Buffer.alloc(embeddings.length * 4);
  for (let k = 0; k < embeddings.length; k++) out.writeFloatLE(embeddings[k]!, k * 4);
  return out;
}

/** Reads embeddings.bin back ([rows, dim]). */
export function readPackEmbeddings(dir: string, dim: number): Float32Array {
  const bytes = readFileSync(join(dir, PACK_FILES.embeddings));
  if (dim <= 0 || bytes.length % (4 * dim) !== 0) throw new InvalidRequestError(`${join(dir, PACK_FILES.embeddings)} is ${bytes.length} bytes, not whole rows of ${dim} float32`);
  const out = new Float32Array(bytes.length / 4);
  for (let k = 0; k < out.length; k++) out[k] = bytes.readFloatLE(k * 4);
  return out;
}

/** Reads and checks a pack's manifest: a pack of another format, or not a pack, is refused with a message. */
export function readPackManifest(dir: string): PackManifest {
  const file = join(dir, PACK_FILES.manifest);
  if (!existsSync(file)) throw new NotFoundError(`${dir} is not a field pack (no ${PACK_FILES.manifest}); make one with finprint pack`);
  let m: PackManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as PackManifest;
  } catch (err) {
    throw new InvalidRequestError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (m?.kind !== 'finprint-field-pack') throw new InvalidRequestError(`${file} is not a finprint field pack manifest`);
  if (m.format !== PACK_FORMAT) throw new InvalidRequestError(`${dir} is a field pack of format ${String(m.format)}; this finprint reads format ${PACK_FORMAT}`);
  if (typeof m.model !== 'string' || m.model.length === 0) throw new InvalidRequestError(`${file} names no model`);
  return m;
}

/** Refuses a pack (or a sync file made with one) of another model version than the catalogue's. */
export function checkPackModel(packModel: string, catalogue: Catalogue, what: string): void {
  if (packModel !== catalogue.setup.model) {
    throw new InvalidRequestError(
      `${what} was made with model ${packModel.slice(0, 12)}, but the catalogue ${catalogue.dir} uses model ${catalogue.setup.model.slice(0, 12)}: its embeddings and decisions belong to another model version; make a new pack from this catalogue (finprint pack --catalogue ${catalogue.dir})`,
    );
  }
}
