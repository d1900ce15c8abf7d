// A run as a catalogue's model: its embedder (the run's model, its detector if one is given), its
// version (the digest of its weights), and its scores made readable: P(same individual | score)
// fitted on the run's validation split, and its new_individual threshold.
import { join, resolve } from 'node:path';
import { Catalogue, type CatalogueSetup } from '../catalogue/catalogue.js';
import { readBoxes } from '../data/boxes.js';
import { readCompetition } from '../data/happywhale.js';
import { Progress } from '../util/progress.js';
import { modelEmbedder, type PhotoEmbedder } from '../catalogue/embedder.js';
import { Detector } from '../detect/detector.js';
import { fitCalibration, labelledPairs } from '../eval/calibration.js';
import { embeddingDim } from '../identify/embed.js';
import { weightsDigest } from './gallery_cache.js';
import { Identifier } from './identifier.js';
import { openRun } from './open_run.js';
import { readRunRecords, RUN_FILES } from './run_folder.js';
import { withEngine, type EngineName } from './run_engine.js';

/** The detector's score under which a photo is used whole. */
export const DETECTOR_MIN_SCORE = 0.2;

/** The run's model version: the digest of its best weights. */
export async function modelVersion(runDir: string): Promise<string> {
  return (await weightsDigest(join(runDir, RUN_FILES.best))).sha256;
}

/** What a new catalogue records of its run: the model version, the calibration and the threshold. */
export async function catalogueSetup(runDir: string, detector: string | null, options: { quiet?: boolean; data?: string; engine?: EngineName } = {}): Promise<CatalogueSetup> {
  const ident = await Identifier.open(runDir, { quiet: options.quiet ?? true, ...(options.data ? { data: options.data } : {}), ...(options.engine ? { engine: options.engine } : {}) });
  const { threshold } = await ident.threshold();
  const val = await ident.validation();
  const pairs = labelledPairs(val.candidates, val.truths);
  return { model: await modelVersion(runDir), run: ident.run.dir, detector, calibration: pairs.length ? fitCalibration(pairs) : null, threshold };
}

/**
 * The embedder of a catalogue's run (and detector), checked against the catalogue's model version.
 * Both engines give embeddings of the same version: ONNX Runtime's agree with libtorch's to 1e-4.
 */
export async function runEmbedder(setup: CatalogueSetup, options: { engine?: EngineName; quiet?: boolean } = {}): Promise<PhotoEmbedder> {
  const run = await withEngine(await openRun(setup.run), options.engine ?? 'torch', { quiet: options.quiet ?? true });
  const version = await modelVersion(run.dir);
  if (version !== setup.model) throw new Error(`the run ${setup.run} has changed since the catalogue was made (its weights are not model ${setup.model.slice(0, 12)} any more); embed with the run the catalogue was made from`);
  const detector = setup.detector ? { detector: await Detector.open(setup.detector), minScore: DETECTOR_MIN_SCORE } : undefined;
  return modelEmbedder(run, version, embeddingDim(run), detector);
}

/** Photos intaken per batch: one embedding pass each, and what an interrupted init loses at most. */
const INIT_BATCH = 64;

export interface InitSummary {
  added: number;
  /** Already in the catalogue (an interrupted init being finished). */
  already: number;
  rejected: string[];
  individuals: number;
}

/**
 * A new catalogue whose known individuals are the labelled photos of a competition folder (the
 * run's training data by default), each a confirmed encounter, embedded with the run's model.
 * Interrupted, it is run again: the photos already in are recognised by their hash and skipped.
 */
export async function initCatalogue(dir: string, runDir: string, options: { data?: string; detector?: string; quiet?: boolean; engine?: EngineName } = {}): Promise<InitSummary> {
  const setup = await catalogueSetup(runDir, options.detector ?? null, { quiet: options.quiet ?? false, ...(options.data ? { data: options.data } : {}), ...(options.engine ? { engine: options.engine } : {}) });
  const catalogue = await Catalogue.create(dir, setup);
  try {
    const embedder = await runEmbedder(setup, { ...(options.engine ? { engine: options.engine } : {}), quiet: options.quiet ?? false });
    const { config, info } = readRunRecords(runDir);
    const data = resolve(options.data ?? config.data);
    const competition = await readCompetition(data, { check: 'exists', quiet: true });
    const boxes = info.crops && !options.data ? await readBoxes(info.crops) : undefined;
    const rows = competition.train;
    const summary: InitSummary = { added: 0, already: 0, rejected: [], individuals: new Set(rows.map((r) => r.individualId)).size };
    const progress = new Progress({ total: rows.length, label: 'catalogue init', quiet: options.quiet ?? false });
    for (let start = 0; start < rows.length; start += INIT_BATCH) {
      const batch = rows.slice(start, start + INIT_BATCH);
      const results = await catalogue.intake(
        batch.map((r) => ({ source: { path: r.path }, name: r.image, species: r.species, individualId: r.individualId, box: boxes?.get(r.image) ?? null })),
        embedder,
      );
      for (const r of results) {
        if (r.status === 'added') summary.added++;
        else if (r.status === 'duplicate') summary.already++;
        else summary.rejected.push(r.reason);
      }
      progress.tick(batch.length);
    }
    progress.done();
    return summary;
  } finally {
    await catalogue.close();
  }
}
