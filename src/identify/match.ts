// Scores of individuals for query embeddings: the best cosine similarity of any of the
// individual's gallery photos (kNN), optionally blended with a class-centre cosine,
// score = (1 - w) * knn + w * centre. The centre is what the ArcFace head learned from all of an
// individual's training photos at once; the gallery keeps every photo's own look. Blending
// re-ranks the kNN candidates only: an individual none of whose photos is among the query's
// nearest neighbours is not brought in by its centre alone.
// An individual the head has no class for (photos labelled after training, or the validation
// photos joining the gallery) gets an imprinted centre, the unit mean of its gallery embeddings.
// Its cosines sit on another scale than the head's (a mean of a few photos is closer to each of
// them than a margin-trained weight is), so they are mapped onto the head's scale by a line fitted
// on the gallery alone, so that a photo scores the same whatever it is matched with.
import { JointHead } from '../models/arcface.js';
import * as torch from '../torch/index.js';
import { checkInteger, checkNumber, invalidParameterError } from '../util/check.js';
import type { Gallery } from './gallery.js';
import type { TrainedModel } from './model.js';
import type { Candidate } from '../eval/threshold.js';
import { searchGallery } from './search.js';

export interface MatchOptions {
  /** Weight w of the class-centre cosine (0: gallery only). */
  blend?: number;
  /** Individuals returned per query (default 5). */
  top?: number;
  /** Queries per block. */
  blockSize?: number;
}

/** Candidates re-ranked when blending: enough that a centre can lift one into the top five. */
const BLEND_POOL = 20;
/** Gallery photos the imprinting line is fitted on (evenly spaced), and the fewest points it needs. */
const FIT_PHOTOS = 512;
const FIT_MIN_POINTS = 10;

/** A candidate's centre cosine: the head's class (if it has one), else its imprinted centre's (if imprinting is on). */
export interface CentreCosine {
  head?: number;
  imprinted?: number;
}

export interface Line {
  a: number;
  b: number;
}

/** Imprinted centres of the gallery's individuals and the line mapping their cosines onto the head's. */
interface Imprinting {
  rowOf: Map<string, number>;
  /** [individuals, dim] unit rows. */
  centres: torch.Tensor;
  line: Line | undefined;
}

/** The best individuals for each query row of `queries` ([n, gallery.dim] unit rows), best first. */
export function matchEmbeddings(trained: TrainedModel, gallery: Gallery, queries: Float32Array, options: MatchOptions = {}): Candidate[][] {
  const w = checkNumber('blend', options.blend ?? 0, 0, 1);
  const top = checkInteger('top', options.top ?? 5, 1);
  const blockSize = checkInteger('blockSize', options.blockSize ?? 1024, 1);
  const head = trained.task.model.head;
  if (w > 0 && !(head instanceof JointHead)) {
    throw invalidParameterError('blend', `0 for a model without ArcFace class centres, which only identification tasks have (this one's task is '${trained.task.name}')`, w);
  }
  if (queries.length % gallery.dim !== 0) throw new RangeError(`matchEmbeddings: ${queries.length} numbers are not rows of the gallery's ${gallery.dim} dims`);
  const n = queries.length / gallery.dim;
  const q = torch.tensor(queries, [n, gallery.dim]);
  const g = torch.tensor(gallery.embedding, [gallery.ids.length, gallery.dim]);
  let imprinting: Imprinting | undefined;
  try {
    const found = searchGallery(q, g, gallery.ids, { topIndividuals: w > 0 ? Math.max(top, BLEND_POOL) : top, blockSize });
    if (w === 0) return found;
    const classOf = new Map(trained.task.labels.individuals.map((id, i) => [id, i]));
    imprinting = gallery.ids.every((id) => classOf.has(id)) ? undefined : imprint(gallery, g, classOf, head as JointHead);
    return blendCandidates(found, centreCosines(found, q, classOf, head as JointHead, imprinting, blockSize), w, imprinting?.line).map((c) => c.slice(0, top));
  } finally {
    q.dispose();
    g.dispose();
    imprinting?.centres.dispose();
  }
}

/**
 * Weight imprinting: the unit mean embedding of every gallery individual, in order of first
 * appearance; `centres` is [ids.length, dim], `sums` the rows' plain sums.
 */
export function imprintCentres(gallery: Pick<Gallery, 'ids' | 'dim' | 'embedding'>): { ids: string[]; sums: Float32Array; centres: torch.Tensor } {
  const rowOf = new Map<string, number>();
  for (const id of gallery.ids) if (!rowOf.has(id)) rowOf.set(id, rowOf.size);
  const { dim } = gallery;
  const sums = new Float32Array(rowOf.size * dim);
  gallery.ids.forEach((id, r) => {
    const row = rowOf.get(id)!;
    for (let j = 0; j < dim; j++) sums[row * dim + j]! += gallery.embedding[r * dim + j]!;
  });
  const centres = torch.tidy(() => torch.F.normalize(torch.tensor(sums, [rowOf.size, dim])));
  return { ids: [...rowOf.keys()], sums, centres };
}

/**
 * Imprinted centres and their line onto the head's scale, fitted on up to FIT_PHOTOS gallery photos
 * of individuals with a class and another photo: each photo against its own individual (the
 * centre of its other photos, as a new photo would see it) and against the other individuals its
 * gallery search finds, pairing the imprinted cosine with the head's.
 */
function imprint(gallery: Gallery, g: torch.Tensor, classOf: Map<string, number>, head: JointHead): Imprinting {
  const photos = gallery.mirrors ? gallery.ids.length / 2 : gallery.ids.length;
  const { ids, sums, centres } = imprintCentres(gallery);
  const rowOf = new Map(ids.map((id, i) => [id, i]));
  const photoCount = new Map<string, number>();
  for (const id of gallery.ids.slice(0, photos)) photoCount.set(id, (photoCount.get(id) ?? 0) + 1);
  const eligible = [...Array(photos).keys()].filter((r) => classOf.has(gallery.ids[r]!) && photoCount.get(gallery.ids[r]!)! >= 2);
  const step = Math.max(1, eligible.length / FIT_PHOTOS);
  const sample = Array.from({ length: Math.min(FIT_PHOTOS, eligible.length) }, (_, i) => eligible[Math.floor(i * step)]!);
  if (sample.length === 0) return { rowOf, centres, line: undefined };
  const rowsOfPhoto = (r: number): number[] => (gallery.mirrors ? [r, r + photos] : [r]);
  const q = torch.tidy(() => g.indexSelect(0, torch.tensor(sample, [sample.length], { dtype: 'int64' })));
  try {
    const found = searchGallery(q, g, gallery.ids, { topIndividuals: BLEND_POOL });
    const cosines = centreCosines(found, q, classOf, head, { rowOf, centres, line: undefined }, FIT_PHOTOS, true);
    const points: { x: number; y: number }[] = [];
    sample.forEach((r, s) => {
      const own = gallery.ids[r]!;
      found[s]!.forEach((c, j) => {
        const { head: y, imprinted } = cosines[s]![j]!;
        if (y === undefined) return;
        points.push({ x: c.id === own ? leaveOutCosine(gallery, sums, rowOf.get(own)!, rowsOfPhoto(r)) : imprinted!, y });
      });
    });
    return { rowOf, centres, line: points.length >= FIT_MIN_POINTS ? fitLine(points) : undefined };
  } catch (e) {
    centres.dispose();
    throw e;
  } finally {
    q.dispose();
  }
}

/** Cosine of gallery row rows[0] with the mean of its individual's other rows (`rows`: the photo's rows, plain and mirrored). */
function leaveOutCosine(gallery: Gallery, sums: Float32Array, individual: number, rows: number[]): number {
  const { dim, embedding } = gallery;
  let dot = 0;
  let norm = 0;
  for (let j = 0; j < dim; j++) {
    let rest = sums[individual * dim + j]!;
    for (const r of rows) rest -= embedding[r * dim + j]!;
    dot += rest * embedding[rows[0]! * dim + j]!;
    norm += rest * rest;
  }
  return norm > 0 ? dot / Math.sqrt(norm) : 0;
}

/**
 * The centre cosine of every candidate, block by block (a full queries x individuals matrix would
 * not fit for the competition's 28k x 15k): the head's where the individual has a class, else the
 * imprinted one; `both` gives every candidate its imprinted cosine as well (to fit the line on).
 */
function centreCosines(found: Candidate[][], queries: torch.Tensor, classOf: Map<string, number>, head: JointHead, imprinting: Imprinting | undefined, blockSize: number, both = false): CentreCosine[][] {
  const nc = classOf.size;
  const ni = imprinting?.rowOf.size ?? 0;
  const out: CentreCosine[][] = [];
  for (let start = 0; start < found.length; start += blockSize) {
    const rows = Math.min(blockSize, found.length - start);
    const [hc, ic] = torch.noGrad(() =>
      torch.tidy(() => {
        const q = queries.narrow(0, start, rows);
        return [head.individual.cosine(q).toFloat32Array(), imprinting ? q.matmul(imprinting.centres.transpose(0, 1)).toFloat32Array() : undefined] as const;
      }),
    );
    for (let r = 0; r < rows; r++) {
      out.push(
        found[start + r]!.map((c) => {
          const k = classOf.get(c.id);
          const i = imprinting?.rowOf.get(c.id);
          const cos: CentreCosine = {};
          if (k !== undefined) cos.head = hc[r * nc + k]!;
          if (ic && i !== undefined && (k === undefined || both)) cos.imprinted = ic[r * ni + i]!;
          return cos;
        }),
      );
    }
  }
  return out;
}

/** Least-squares line y = a x + b through the points; flat at their mean when x (nearly) does not vary. */
export function fitLine(points: readonly { x: number; y: number }[]): Line {
  const m = points.length;
  if (m === 0) throw new RangeError('fitLine: no points');
  const mx = points.reduce((s, p) => s + p.x, 0) / m;
  const my = points.reduce((s, p) => s + p.y, 0) / m;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  // Relative to the spread of x: rounding leaves a tiny sxx where all x are equal.
  const a = sxx > 1e-12 * points.reduce((s, p) => s + p.x * p.x, 0) ? points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx : 0;
  return { a, b: my - a * mx };
}

/**
 * Rescores each query's candidates with (1 - w) x kNN + w x centre and re-sorts them. The centre is
 * the head's cosine, or the imprinted one mapped by `line` (clamped to [-1, 1]); a candidate with
 * neither keeps its kNN score.
 */
export function blendCandidates(found: Candidate[][], cosines: CentreCosine[][], w: number, line: Line | undefined): Candidate[][] {
  const mapped = (x: number): number => Math.max(-1, Math.min(1, line!.a * x + line!.b));
  return found.map((cands, r) =>
    cands
      .map((c, j) => {
        const { head, imprinted } = cosines[r]![j]!;
        const centre = head ?? (line && imprinted !== undefined ? mapped(imprinted) : c.score);
        return { ...c, score: (1 - w) * c.score + w * centre };
      })
      .sort((a, b) => b.score - a.score),
  );
}
