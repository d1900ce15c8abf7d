// Scores of individuals for query embeddings: the best cosine similarity of any of the
// individual's gallery photos (kNN), optionally blended with the ArcFace head's class-centre
// cosine, score = (1 - w) * knn + w * centre. The centre is what the head learned from all of an
// individual's training photos at once; the gallery keeps every photo's own look. Blending
// re-ranks the kNN candidates only: an individual none of whose photos is among the query's
// nearest neighbours is not brought in by its centre alone.
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
    return blendWithCentres(run.info.labels.individuals, head as JointHead, q, found, w, blockSize).map((c) => c.slice(0, top));
  } finally {
    q.dispose();
    g.dispose();
  }
}

/**
 * Rescores each query's candidates with the class-centre cosine, computed block by block (a full
 * queries x individuals matrix would not fit for the competition's 28k x 15k). An individual the
 * head has no class for (a gallery photo the run did not train on) keeps its kNN score.
 */
function blendWithCentres(individuals: readonly string[], head: JointHead, queries: torch.Tensor, found: Candidate[][], w: number, blockSize: number): Candidate[][] {
  const classOf = new Map(individuals.map((id, i) => [id, i]));
  const nClasses = individuals.length;
  const out: Candidate[][] = [];
  for (let start = 0; start < found.length; start += blockSize) {
    const rows = Math.min(blockSize, found.length - start);
    const cos = torch.noGrad(() => torch.tidy(() => head.individual.cosine(queries.narrow(0, start, rows)).toFloat32Array()));
    for (let r = 0; r < rows; r++) {
      const rescored = found[start + r]!.map((c) => {
        const k = classOf.get(c.id);
        return { ...c, score: k === undefined ? c.score : (1 - w) * c.score + w * cos[r * nClasses + k]! };
      });
      out.push(rescored.sort((a, b) => b.score - a.score));
    }
  }
  return out;
}
