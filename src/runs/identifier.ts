// One trained run ready to identify photos: its model, the data it trained on, its gallery (cached
// in the run folder, or under FINPRINT_CACHE when the run folder cannot be written) and its
// new_individual threshold (stored there too, or calibrated on the validation split when missing).
// evaluate, predict and identify all go through here, so they score photos identically.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { NEW_INDIVIDUAL } from '../data/happywhale.js';
import { openRun, type OpenRun } from './open_run.js';
import { withEngine, type EngineName } from './run_engine.js';
import { checkNumber } from '../util/check.js';
import { embedPhotos, hasSpeciesHead, type Embedded } from '../identify/embed.js';
import { extendGallery, type Gallery } from '../identify/gallery.js';
import { openGallery, type GalleryOptions } from './gallery_cache.js';
import { matchEmbeddings } from '../identify/match.js';
import { readRunData, runDataDir, samplesOf, validationFingerprint, type RunData } from './run_data.js';
import { readStoredThreshold, writeStoredThreshold, type ScoreSettings, type StoredThreshold } from './stored_threshold.js';
import { calibrateThreshold, predictWithThreshold, type Candidate } from '../eval/threshold.js';

export interface IdentifierOptions extends GalleryOptions {
  /** Training data folder; default: the run's config.data. */
  data?: string;
  /** Weight of the ArcFace class-centre cosine in the score (0..1, default 0). */
  blend?: number;
  /**
   * Also search the run's validation photos when matching other photos. The threshold is still
   * calibrated against the training split alone, where the held-out individuals are new.
   */
  withValidation?: boolean;
  /** The forward pass: libtorch (default) or ONNX Runtime over the run exported once (run_engine.ts). */
  engine?: EngineName;
}

export interface Photo {
  image: string;
  path: string;
  /** Why the photo is already known to be unreadable (e.g. zero bytes), for the report if it is. */
  problem?: string;
}

export interface Matched {
  photos: Photo[];
  embedded: Embedded;
  /** Best individuals per photo, best first (up to 5). */
  candidates: Candidate[][];
}

export interface ThresholdOptions {
  /** Choose the threshold whose share of new_individual answers is closest to this, not by MAP@5. */
  newShare?: number;
  /** Calibrate again even if a stored threshold applies. */
  recalibrate?: boolean;
}

/** Candidates from a softmax over individuals: class probabilities, no gallery photo (index -1). */
function classCandidates(e: Embedded, individuals: readonly string[]): Candidate[][] {
  const { index, prob } = e.classTop!;
  const k = index.length / e.count;
  return Array.from({ length: e.count }, (_, r) => Array.from({ length: k }, (_, j) => ({ id: individuals[index[r * k + j]!]!, score: prob[r * k + j]!, galleryIndex: -1 })));
}

export class Identifier {
  private validationMatches: Promise<Matched & { truths: string[] }> | undefined;
  private searchedGallery: Promise<Gallery> | undefined;
  private validationPrint: string | undefined;
  private speciesOfIndividual: Map<string, string> | undefined;

  private constructor(
    readonly run: OpenRun,
    readonly data: RunData,
    readonly gallery: Gallery,
    private readonly options: IdentifierOptions,
  ) {}

  static async open(runDir: string, options: IdentifierOptions = {}): Promise<Identifier> {
    checkNumber('blend', options.blend ?? 0, 0, 1);
    const run = await withEngine(await openRun(runDir), options.engine ?? 'torch', { quiet: options.quiet ?? false });
    const data = await readRunData(run, runDataDir(run, options.data));
    const gallery = await openGallery(run, data, options);
    return new Identifier(run, data, gallery, options);
  }

  get settings(): ScoreSettings {
    this.validationPrint ??= validationFingerprint(this.data);
    return { gallery: this.gallery.fingerprint, validation: this.validationPrint, blend: this.options.blend ?? 0 };
  }

  /** Embeds photos and matches them against the gallery (with the validation photos if asked). */
  async match(photos: readonly Photo[], label = 'embed'): Promise<Matched> {
    return this.matchWith(await this.searched(), photos, label);
  }

  /** The gallery other photos are searched against. */
  searched(): Promise<Gallery> {
    this.searchedGallery ??= (async () => {
      if (!this.options.withValidation || this.data.validation.length === 0) return this.gallery;
      return extendGallery(this.gallery, this.data.validation, (await this.validation()).embedded);
    })();
    return this.searchedGallery;
  }

  /** `views`: keep the plain and mirrored embeddings apart too (photos that will join a gallery with mirrors). */
  private async matchWith(gallery: Gallery, photos: readonly Photo[], label: string, views = false): Promise<Matched> {
    const embedded = await embedPhotos(this.run, samplesOf(this.data, photos), { ...this.options, views, label, skipUnreadable: true });
    // The seed's softmax over individuals predicts its most probable classes; embeddings use the gallery.
    const candidates = embedded.classTop ? classCandidates(embedded, this.run.info.labels.individuals) : matchEmbeddings(this.run, gallery, embedded.embedding, { blend: this.options.blend ?? 0 });
    // A photo that cannot be read has no candidates, so it is answered new_individual alone.
    for (const u of embedded.unreadable) {
      const problem = photos[u.index]?.problem;
      process.stderr.write(`${label}: ${problem ? `cannot load ${u.path}: ${problem}` : u.reason} (left unmatched)\n`);
      candidates[u.index] = [];
    }
    return { photos: [...photos], embedded, candidates };
  }

  /** Photos given by path (e.g. on the command line). */
  async matchFiles(paths: readonly string[]): Promise<Matched> {
    if (paths.length === 0) throw new Error('no photos given: name one or more photo files');
    const missing = paths.filter((p) => !existsSync(p));
    if (missing.length) throw new Error(`photo file${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}`);
    return this.match(paths.map((p) => ({ image: basename(p), path: resolve(p) })), 'photos');
  }

  /** The run's validation split, matched once per Identifier, with its truths. */
  validation(): Promise<Matched & { truths: string[] }> {
    this.validationMatches ??= (async () => {
      const rows = this.data.validation;
      if (rows.length === 0) throw new Error(`the run ${this.run.dir} has no validation photos in ${this.data.dir}/train.csv to calibrate the new_individual threshold on`);
      return { ...(await this.matchWith(this.gallery, rows, 'validation', this.gallery.mirrors && (this.options.withValidation ?? false))), truths: rows.map((r) => r.truth) };
    })();
    return this.validationMatches;
  }

  /** The stored threshold if it applies, else one calibrated on the validation split now (and stored). */
  async threshold(options: ThresholdOptions = {}): Promise<StoredThreshold> {
    const settings = this.settings;
    if (options.newShare !== undefined) checkNumber('newShare', options.newShare, 0, 1);
    const stored = options.recalibrate ? undefined : readStoredThreshold(this.run.dir, settings, options.newShare);
    if (stored) return stored;
    const val = await this.validation();
    // Photos that could not be read say nothing about the threshold.
    const unreadable = new Set(val.embedded.unreadable.map((u) => u.index));
    const candidates = val.candidates.filter((_, i) => !unreadable.has(i));
    const truths = val.truths.filter((_, i) => !unreadable.has(i));
    if (truths.length === 0) throw new Error(`none of the run's ${val.truths.length} validation photos in ${this.data.dir}/train_images can be read: no new_individual threshold can be calibrated`);
    const calibration = calibrateThreshold(candidates, truths, options.newShare !== undefined ? { targetNewShare: options.newShare } : {});
    const record: StoredThreshold = {
      ...calibration,
      settings,
      method: options.newShare !== undefined ? { kind: 'new-share', target: options.newShare } : { kind: 'map5' },
      images: truths.length,
      newImages: truths.filter((t) => t === NEW_INDIVIDUAL).length,
    };
    await writeStoredThreshold(this.run.dir, record);
    return record;
  }

  /**
   * The same photos ranked by gallery similarity alone, without the class centres: how a catalogue
   * ranks individuals added after training, which have no class centre.
   */
  async galleryOnly(m: Matched): Promise<Matched> {
    const unreadable = new Set(m.embedded.unreadable.map((u) => u.index));
    const candidates = matchEmbeddings(this.run, await this.searched(), m.embedded.embedding, { blend: 0 }).map((c, i) => (unreadable.has(i) ? [] : c));
    return { ...m, candidates };
  }

  /**
   * The new_individual threshold for gallery-only scores, chosen on the validation split as the
   * run's own is (not stored: the run's threshold is for the scores it was asked for).
   */
  async galleryOnlyThreshold(options: Omit<ThresholdOptions, 'recalibrate'> = {}): Promise<number> {
    const val = await this.validation();
    const unreadable = new Set(val.embedded.unreadable.map((u) => u.index));
    const keep = val.truths.map((_, i) => i).filter((i) => !unreadable.has(i));
    const candidates = matchEmbeddings(this.run, this.gallery, val.embedded.embedding, { blend: 0 });
    return calibrateThreshold(keep.map((i) => candidates[i]!), keep.map((i) => val.truths[i]!), options.newShare !== undefined ? { targetNewShare: options.newShare } : {}).threshold;
  }

  /** Whether the model gives species probabilities: not a pretrained embedding model used zero-shot. */
  get speciesHead(): boolean {
    return hasSpeciesHead(this.run);
  }

  /** The run's species names, the columns of Embedded.species (a model without a species head has none of those). */
  get species(): string[] {
    return this.run.info.labels.species;
  }

  /**
   * Most likely species of each matched photo; for a model without a species head (zero-shot),
   * the species of its best-matching individual ('unknown' for a photo left unmatched).
   */
  predictedSpecies(m: Matched): string[] {
    if (!this.speciesHead) {
      this.speciesOfIndividual ??= new Map(this.data.competition.train.map((r) => [r.individualId, r.species]));
      return m.candidates.map((c) => (c[0] ? this.speciesOfIndividual!.get(c[0].id) ?? 'unknown' : 'unknown'));
    }
    return m.photos.map((_, i) => this.speciesRanking(m, i)[0]!.species);
  }

  /** Species of photo i by probability, most likely first; none from a model without a species head. */
  speciesRanking(m: Matched, i: number): { species: string; probability: number }[] {
    if (!this.speciesHead) return [];
    const n = this.species.length;
    return this.species.map((species, s) => ({ species, probability: m.embedded.species[i * n + s]! })).sort((a, b) => b.probability - a.probability);
  }

  /** Five predictions per photo with new_individual placed by `threshold`. */
  static predictions(m: Matched, threshold: number): string[][] {
    return m.candidates.map((c) => predictWithThreshold(c, threshold));
  }
}
