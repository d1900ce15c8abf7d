// `finprint bench catalogue`: the review server under load, and import speed.
// Search: a catalogue of Happywhale's size (51,033 photos, 15,587 individuals; random unit
// embeddings, which cost the search what real ones do) behind the real server on loopback;
// `clients` concurrent clients in another thread ask for the candidates of photos with stored
// embeddings, and each request's latency is kept. Import: new photos through the whole intake
// (read, hash, EXIF, store, decode, crop to the box, resize, embed, one transaction each), as a
// ratio to the same backbone's bare inference rate (forward passes on ready tensors) measured in
// the same run: what the import path costs on top of the model.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Catalogue } from '../catalogue/catalogue.js';
import { modelEmbedder } from '../catalogue/embedder.js';
import { readBoxes } from '../data/boxes.js';
import { readCompetition } from '../data/happywhale.js';
import { ImagePipeline } from '../data/pipeline.js';
import { synthesize } from '../data/synth/index.js';
import { embeddingDim } from '../identify/embed.js';
import { createModel, modelEntry } from '../models/index.js';
import { startServer } from '../server/app.js';
import * as torch from '../torch/index.js';
import { createTask } from '../train/tasks.js';
import { checkInteger } from '../util/check.js';

export interface CatalogueBenchOptions {
  photos?: number;
  individuals?: number;
  dim?: number;
  /** Unreviewed encounters whose candidates are asked for. */
  queries?: number;
  clients?: number;
  requests?: number;
  /** Photos imported, and the backbone and input size that embed them. */
  importPhotos?: number;
  backbone?: string;
  imageSize?: number;
  log?: (message: string) => void;
}

export interface CatalogueBenchResult {
  photos: number;
  individuals: number;
  clients: number;
  requests: number;
  requests_per_s: number;
  p50_ms: number;
  p95_ms: number;
  /** Seconds to fill the catalogue (not part of the figures). */
  build_s: number;
  import: { backbone: string; size: number; photos: number; photos_per_s: number; inference_img_s: number; ratio: number };
}

function unitRows(n: number, dim: number): Float32Array {
  return torch.tidy(() => {
    const x = torch.randn([n, dim]);
    return x.div(x.pow(2).sum(1, true).sqrt()).toFloat32Array();
  });
}

// The clients: fetch loops in a worker thread, so the server's thread does only serving.
const CLIENTS = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, ids, clients, requests } = workerData;
let next = 0;
const latencies = [];
async function client() {
  while (next < requests) {
    const id = ids[next++ % ids.length];
    const t = performance.now();
    const r = await fetch(url + 'api/encounters/' + id + '/candidates?top=10');
    if (r.status !== 200) throw new Error('candidates ' + id + ': HTTP ' + r.status + ' ' + (await r.text()));
    await r.arrayBuffer();
    latencies.push(performance.now() - t);
  }
}
const start = performance.now();
Promise.all(Array.from({ length: clients }, client)).then(
  () => parentPort.postMessage({ latencies, seconds: (performance.now() - start) / 1000 }),
  (err) => parentPort.postMessage({ error: String(err && err.message || err) }),
);
`;

function runClients(url: string, ids: number[], clients: number, requests: number): Promise<{ latencies: number[]; seconds: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENTS, { eval: true, workerData: { url, ids, clients, requests } });
    w.once('message', (m: { latencies: number[]; seconds: number } | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    w.once('error', reject);
  });
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** A catalogue of `photos` confirmed photos with random embeddings, and `queries` unreviewed ones. */
async function fillCatalogue(dir: string, o: Required<Pick<CatalogueBenchOptions, 'photos' | 'individuals' | 'dim' | 'queries'>>): Promise<{ catalogue: Catalogue; queryIds: number[] }> {
  const catalogue = await Catalogue.create(dir, { model: 'bench', run: '(none)', detector: null, calibration: null, threshold: null });
  const vectors = unitRows(o.photos + o.queries, o.dim);
  const queryIds: number[] = [];
  for (let i = 0; i < o.photos + o.queries; i++) {
    const known = i < o.photos;
    const { encounter } = await catalogue.store.addEncounter(
      {
        status: known ? 'confirmed' : 'unreviewed',
        individualId: known ? `ind-${i % o.individuals}` : null,
        date: null,
        latitude: null,
        longitude: null,
        observer: null,
        species: 'humpback_whale',
        notes: null,
        photos: [{ sha256: i.toString(16).padStart(64, '0'), originalName: `${i}.jpg`, format: 'jpg', width: 1, height: 1, exifDate: null, exifLatitude: null, exifLongitude: null, box: null, boxSource: 'whole', embedding: vectors.subarray(i * o.dim, (i + 1) * o.dim) }],
      },
      'bench',
    );
    if (!known) queryIds.push(encounter.id);
  }
  return { catalogue, queryIds };
}

/** Photos/s through the whole intake, and the same backbone's forward-pass img/s on ready tensors. */
async function importRate(work: string, backbone: string, size: number, photos: number): Promise<CatalogueBenchResult['import']> {
  const data = join(work, 'photos');
  await synthesize({ out: data, species: 4, individuals: Math.max(4, Math.ceil(photos / 4)), meanImages: 5, size: 256, seed: 5, quiet: true });
  const competition = await readCompetition(data, { check: 'exists', quiet: true });
  const boxes = await readBoxes(join(data, 'boxes.csv'));
  const rows = [...competition.train].slice(0, photos);
  const entry = modelEntry(backbone);
  const model = createModel(backbone, { numClasses: 0, imgSize: size });
  const task = createTask('joint', model, { species: ['a', 'b'], individuals: ['x', 'y'], individualCounts: [1, 1], individualSpecies: [0, 1] });
  task.model.eval();
  // A fresh resize cache, so every photo is decoded; no mirror view (one forward pass per photo, as the inference side).
  const pipeline = new ImagePipeline({ size, mode: 'box', mean: entry.pretrainedCfg.mean, std: entry.pretrainedCfg.std, cacheDir: join(work, 'resized') });
  const trained = { task, pipeline, flips: false, source: backbone };
  const embedder = modelEmbedder(trained, 'bench-import', embeddingDim(trained));
  const catalogue = await Catalogue.create(join(work, 'import-catalogue'), { model: 'bench-import', run: '(none)', detector: null, calibration: null, threshold: null });
  try {
    const start = performance.now();
    const results = await catalogue.intake(rows.map((r) => ({ source: { path: r.path }, name: r.image, box: boxes.get(r.image) ?? null })), embedder);
    const seconds = (performance.now() - start) / 1000;
    const added = results.filter((r) => r.status === 'added').length;
    // Bare inference: the same module, batch and input size, forward passes on a ready tensor.
    const batch = 32;
    const x = torch.randn([batch, 3, size, size]);
    const pass = (): void => torch.noGrad(() => torch.tidy(() => void task.model.forward(x)));
    pass();
    const passes = Math.max(1, Math.ceil(added / batch));
    const t = performance.now();
    for (let i = 0; i < passes; i++) pass();
    const inference = (passes * batch) / ((performance.now() - t) / 1000);
    x.dispose();
    const rate = added / seconds;
    return { backbone, size, photos: added, photos_per_s: rate, inference_img_s: inference, ratio: rate / inference };
  } finally {
    await catalogue.close();
  }
}

export async function benchCatalogue(options: CatalogueBenchOptions = {}): Promise<CatalogueBenchResult> {
  const photos = checkInteger('photos', options.photos ?? 51_033, 1);
  const individuals = checkInteger('individuals', options.individuals ?? 15_587, 1, photos);
  const dim = checkInteger('dim', options.dim ?? 512, 2);
  const queries = checkInteger('queries', options.queries ?? 200, 1);
  const clients = checkInteger('clients', options.clients ?? 8, 1, 256);
  const requests = checkInteger('requests', options.requests ?? 1000, clients);
  const importPhotos = checkInteger('importPhotos', options.importPhotos ?? 96, 1);
  const backbone = options.backbone ?? 'efficientnet_b0';
  const size = checkInteger('imageSize', options.imageSize ?? modelEntry(backbone).pretrainedCfg.inputSize[1], 32);
  const log = options.log ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), 'finprint-bench-catalogue-'));
  try {
    log(`filling a catalogue of ${photos} photos of ${individuals} individuals (${dim}-d embeddings)`);
    const t = performance.now();
    const { catalogue, queryIds } = await fillCatalogue(join(work, 'catalogue'), { photos, individuals, dim, queries });
    const build = (performance.now() - t) / 1000;
    const { app, url } = await startServer(catalogue, { host: '127.0.0.1', port: 0, log });
    let latencies: number[];
    let seconds: number;
    try {
      await runClients(url, queryIds.slice(0, clients), clients, clients); // warm-up: the index is built on the first search
      log(`${clients} clients asking for candidates, ${requests} requests`);
      ({ latencies, seconds } = await runClients(url, queryIds, clients, requests));
    } finally {
      await app.close();
      await catalogue.close();
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    log(`importing ${importPhotos} photos with ${backbone} at ${size} px`);
    const imported = await importRate(work, backbone, size, importPhotos);
    return { photos, individuals, clients, requests, requests_per_s: requests / seconds, p50_ms: percentile(sorted, 0.5), p95_ms: percentile(sorted, 0.95), build_s: build, import: imported };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
