// `finprint bench identify`: exact gallery search at the competition's scale (28k test photos
// against 51k training photos, 512-d embeddings), finprint's searchGallery against two PyTorch
// versions of the same blocked search, in alternating rounds: PyTorch's own exact search (matmul +
// topk, the reference of the ratio) and PyTorch running finprint's chunked top-k (so the ratio
// of the engines alone shows too); each finprint round is compared with both. finprint also collapses the neighbours to the best photo per
// individual, which the PyTorch side leaves out. Every side reports the neighbours its warm-up
// found for the first queries, so a test can check that all three find the same ones.
import { availableParallelism } from 'node:os';
import { searchGallery } from '../identify/search.js';
import * as torch from '../torch/index.js';
import { checkInteger } from '../util/check.js';
import { alternateRounds, PyTorchSide, type OnRound, type SideBySide } from './pytorch_side.js';

export interface IdentifyBenchOptions {
  queries?: number;
  gallery?: number;
  dim?: number;
  /** Queries per matmul block, both sides. */
  block?: number;
  /** Gallery neighbours per query (topk's k), both sides. */
  neighbours?: number;
  /** Distinct individuals the gallery rows are spread over. */
  individuals?: number;
  seed?: number;
  rounds?: number;
  threads?: number;
  /** Queries (the first ones, at most one block) whose neighbours every side reports. */
  sample?: number;
  onRound?: OnRound;
}

/** Per query, gallery rows and their cosine similarities, best first. */
export interface Neighbours {
  indices: number[][];
  scores: number[][];
}

export interface IdentifyBenchResult {
  queries: number;
  gallery: number;
  dim: number;
  block: number;
  neighbours: number;
  finprint_queries_s: number;
  /** PyTorch's exact search: matmul + topk per block. */
  pytorch_queries_s: number;
  /** finprint / pytorch_queries_s. */
  ratio: number;
  /** PyTorch with finprint's chunked top-k, and finprint's ratio to it. */
  same_algorithm: { pytorch_queries_s: number; ratio: number };
  /** finprint's time for the whole search (median round). */
  seconds: number;
  rounds: SideBySide['rounds'];
  finprint: SideBySide['finprint'];
  pytorch: SideBySide['pytorch'];
  machine: SideBySide['machine'];
  /**
   * The `sample` queries' neighbours on each side: PyTorch's `neighbours` nearest photos (its own
   * topk, and finprint's chunked top-k), finprint's best photo of each of its best 5 individuals;
   * the same photos when every photo is its own individual and `neighbours` is 5.
   */
  nearest: { finprint: Neighbours; pytorch: Neighbours; same_algorithm: Neighbours };
}

/** n random unit rows of `dim` numbers from the default generator. */
const unitRows = (n: number, dim: number): torch.Tensor => torch.tidy(() => torch.F.normalize(torch.randn([n, dim])));

export async function benchIdentify(options: IdentifyBenchOptions = {}): Promise<IdentifyBenchResult> {
  const queries = checkInteger('queries', options.queries ?? 28000, 1);
  const gallerySize = checkInteger('gallery', options.gallery ?? 51000, 1);
  const dim = checkInteger('dim', options.dim ?? 512, 1, 65536);
  const block = checkInteger('block', options.block ?? 1024, 1);
  const neighbours = checkInteger('neighbours', options.neighbours ?? 50, 1, gallerySize);
  const individuals = checkInteger('individuals', options.individuals ?? Math.min(15587, gallerySize), 1, gallerySize);
  const seed = checkInteger('seed', options.seed ?? 0, 0);
  const rounds = checkInteger('rounds', options.rounds ?? 1, 1, 100);
  const threads = checkInteger('threads', options.threads ?? availableParallelism(), 1, 1024);
  const sample = checkInteger('sample', options.sample ?? 0, 0, Math.min(block, queries));
  torch.setNumThreads(threads);
  const args = Object.entries({ queries, gallery: gallerySize, dim, block, neighbours, seed, threads, rounds, sample }).flatMap(([k, v]) => [`--${k}`, `${v}`]);
  const plain = new PyTorchSide('identify_pytorch.py', [...args, '--topk', 'plain']);
  const chunked = new PyTorchSide('identify_pytorch.py', [...args, '--topk', 'chunked']);
  // Same generator calls in the same order as the Python side: gallery first, then queries.
  torch.manualSeed(seed);
  const gallery = unitRows(gallerySize, dim).keep();
  const q = unitRows(queries, dim).keep();
  const ids = Array.from({ length: gallerySize }, (_, i) => `id${i % individuals}`);
  const search = (n: number) => {
    const part = n < queries ? q.narrow(0, 0, n) : q;
    try {
      return searchGallery(part, gallery, ids, { neighbours, topIndividuals: 5, blockSize: block });
    } finally {
      if (part !== q) part.dispose();
    }
  };
  try {
    // Warm-up on the first block, as the Python sides do; each reports what it found there.
    const found = search(Math.min(block, queries)).slice(0, sample);
    const finprintNeighbours = { indices: found.map((row) => row.map((c) => c.galleryIndex)), scores: found.map((row) => row.map((c) => c.score)) };
    const [plainNeighbours, chunkedNeighbours] = await Promise.all([plain.read<Neighbours>(), chunked.read<Neighbours>()]);
    // One list of candidates per query searched.
    const r = await alternateRounds(plain, rounds, () => search(queries).length, options.onRound, [chunked]);
    return {
      queries, gallery: gallerySize, dim, block, neighbours,
      finprint_queries_s: r.finprint_img_s,
      pytorch_queries_s: r.pytorch_img_s,
      ratio: r.ratio,
      same_algorithm: { pytorch_queries_s: r.others_img_s![0]!, ratio: r.others_ratio![0]! },
      seconds: queries / r.finprint_img_s,
      rounds: r.rounds,
      finprint: r.finprint,
      pytorch: r.pytorch,
      machine: r.machine,
      nearest: { finprint: finprintNeighbours, pytorch: plainNeighbours, same_algorithm: chunkedNeighbours },
    };
  } finally {
    plain.close();
    chunked.close();
    gallery.dispose();
    q.dispose();
  }
}
