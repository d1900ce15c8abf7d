// Scores of individuals for query embeddings: the best cosine similarity of any of the
// individual's gallery photos (kNN), optionally blended with a class-centre cosine,
// score = (1 - w) * knn + w * centre. The centre is what the ArcFace head learned from all of an
// individual's training photos at once; the gallery keeps every photo's own look. Blending
// re-ranks the kNN candidates only: an individual none of whose photos is among the query's
// nearest neighbours is not brought in by its centre alone.
// An individual the head has no class for (photos labelled after training, or the validation
// photos joining the gallery) gets an imprinted centre, the unit mean of its gallery embeddings.
// Its cosines sit on another scale than the head's (a mean of a few photos is closer to each of
// them than a margin-trained weight is), so they are mapped onto the head's scale by a line
// fitted, by least squares, on the candidates that have both.
import { JointHead } from '../models/arcface.js';
import * as torch from '../torch/index.js';
import type { OpenRun } from '../train/load_run.js';
import { checkInteger, checkNumber } from '../util/check.js';
import type { Gallery } from './gallery.js';
import { searchGallery, type Candidate } from './search.js';

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

/** A candidate's centre cosines: the head's class (undefined: it has none) and its imprinted centre's. */
export interface CentreCosine {
  head: number | undefined;
  imprinted: number;
}

/** The best individuals for each query row of `queries` ([n, gallery.dim] unit rows), best first. */
export function matchEmbeddings(run: OpenRun, gallery: Gallery, queries: Float32Array, options: MatchOptions = {}): Candidate[][] {
  const w = checkNumber('blend', options.blend ?? 0, 0, 1);
  const top = checkInteger('top', options.top ?? 5, 1);
  const blockSize = checkInteger('blockSize', options.blockSize ?? 1024, 1);
  const head = run.task.model.head;
  if (w > 0 && !(head instanceof JointHead)) {
    throw new Error(`--blend needs ArcFace class centres, which only identification runs have (this run's task is '${run.info.task}')`);
  }
  if (queries.length % gallery.dim !== 0) throw new RangeError(`matchEmbeddings: ${queries.length} numbers are not rows of the gallery's ${gallery.dim} dims`);
  const n = queries.length / gallery.dim;
  const q = torch.tensor(queries, [n, gallery.dim]);
  const g = torch.tensor(gallery.embedding, [gallery.ids.length, gallery.dim]);
  try {
    const found = searchGallery(q, g, gallery.ids, { topIndividuals: w > 0 ? Math.max(top, BLEND_POOL) : top, blockSize });
    if (w === 0) return found;
    const cosines = centreCosines(found, q, run.info.labels.individuals, head as JointHead, gallery, blockSize);
    return blendCandidates(found, cosines, w).map((c) => c.slice(0, top));
  } finally {
    q.dispose();
    g.dispose();
  }
}

/** Weight imprinting: the unit mean embedding of every gallery individual, in order of first appearance; `centres` is [ids.length, dim]. */
export function imprintCentres(gallery: Pick<Gallery, 'ids' | 'dim' | 'embedding'>): { ids: string[]; centres: torch.Tensor } {
  const rowOf = new Map<string, number>();
  for (const id of gallery.ids) if (!rowOf.has(id)) rowOf.set(id, rowOf.size);
  const { dim } = gallery;
  const sums = new Float32Array(rowOf.size * dim);
  gallery.ids.forEach((id, r) => {
    const row = rowOf.get(id)!;
    for (let j = 0; j < dim; j++) sums[row * dim + j]! += gallery.embedding[r * dim + j]!;
  });
  const centres = torch.tidy(() => torch.F.normalize(torch.tensor(sums, [rowOf.size, dim])));
  return { ids: [...rowOf.keys()], centres };
}

/** Both centre cosines of every candidate, computed block by block (a full queries x individuals matrix would not fit for the competition's 28k x 15k). */
function centreCosines(found: Candidate[][], queries: torch.Tensor, individuals: readonly string[], head: JointHead, gallery: Gallery, blockSize: number): CentreCosine[][] {
  const classOf = new Map(individuals.map((id, i) => [id, i]));
  const imprinted = imprintCentres(gallery);
  const rowOf = new Map(imprinted.ids.map((id, i) => [id, i]));
  const [nc, ni] = [individuals.length, imprinted.ids.length];
  const out: CentreCosine[][] = [];
  try {
    for (let start = 0; start < found.length; start += blockSize) {
      const rows = Math.min(blockSize, found.length - start);
      const [hc, ic] = torch.noGrad(() =>
        torch.tidy(() => {
          const q = queries.narrow(0, start, rows);
          return [head.individual.cosine(q).toFloat32Array(), q.matmul(imprinted.centres.transpose(0, 1)).toFloat32Array()];
        }),
      );
      for (let r = 0; r < rows; r++) {
        out.push(
          found[start + r]!.map((c) => {
            const k = classOf.get(c.id);
            return { head: k === undefined ? undefined : hc![r * nc + k]!, imprinted: ic![r * ni + rowOf.get(c.id)!]! };
          }),
        );
      }
    }
  } finally {
    imprinted.centres.dispose();
  }
  return out;
}

/** Least-squares line y = a x + b through the points; a flat line at their mean when x does not vary, undefined without points. */
export function fitLine(points: readonly { x: number; y: number }[]): { a: number; b: number } | undefined {
  const m = points.length;
  if (m === 0) return undefined;
  const mx = points.reduce((s, p) => s + p.x, 0) / m;
  const my = points.reduce((s, p) => s + p.y, 0) / m;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const a = sxx > 0 ? points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx : 0;
  return { a, b: my - a * mx };
}

/**
 * Rescores each query's candidates with (1 - w) x kNN + w x centre and re-sorts them. The centre
 * is the head's cosine, or the imprinted cosine mapped by the line fitted on all candidates having
 * both; with no such candidate an individual without a class keeps its kNN score.
 */
export function blendCandidates(found: Candidate[][], cosines: CentreCosine[][], w: number): Candidate[][] {
  const line = fitLine(cosines.flat().flatMap((c) => (c.head === undefined ? [] : [{ x: c.imprinted, y: c.head }])));
  return found.map((cands, r) =>
    cands
      .map((c, j) => {
        const cos = cosines[r]![j]!;
        const centre = cos.head ?? (line ? line.a * cos.imprinted + line.b : c.score);
        return { ...c, score: (1 - w) * c.score + w * centre };
      })
      .sort((a, b) => b.score - a.score),
  );
}
