// A photo-ID catalogue that grows with every survey: known individuals, new photos arriving as
// unreviewed encounters, ranked candidates for each with a calibrated probability of being the
// same animal, and a reviewer's decisions, each seen by the very next match.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { boxMissesPhoto, type Box } from '../data/crop.js';
import { calibrated, type ScoreCalibration } from '../eval/calibration.js';
import { InvalidRequestError, NotFoundError } from './errors.js';
import type { PhotoEmbedder } from './embedder.js';
import { inspectPhoto, photoPath, PhotoRejected, storePhoto, type PhotoLimits } from './photos.js';
import { GalleryIndex, type SearchRequest, type SearchResult } from './search.js';
import { SqliteStore } from './sqlite_store.js';
import type { CatalogueStore } from './store.js';
import type { Decision, DecisionRequest, Encounter, Individual, IncomingPhoto, Photo, Proposal, QueueQuery, SearchFilter } from './types.js';

export const CATALOGUE_DB = 'catalogue.db';

/** What a catalogue is made with, kept in its meta table. */
export interface CatalogueSetup {
  /** The model version its embeddings belong to (the run's weights digest). */
  model: string;
  /** Where the model came from (a run folder), to embed new photos with. */
  run: string;
  /** A detector folder, when new photos are cropped by one. */
  detector: string | null;
  /** P(same individual | score), fitted on the run's validation split. */
  calibration: ScoreCalibration | null;
  /** The run's new_individual threshold: below it, a candidate is likely a new individual. */
  threshold: number | null;
}

/** One photo to bring in, with what is known about its sighting. */
export interface PhotoIntake {
  /** Where to read it (a file) or its bytes (an upload). */
  source: { path: string } | { bytes: Buffer };
  /** Its name, for messages and as metadata (never used as a path). */
  name: string;
  date?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  observer?: string | null;
  species?: string | null;
  notes?: string | null;
  /** A box given with the photo (e.g. from a box file). */
  box?: Box | null;
  /** Known individual (building a catalogue from labelled photos): the encounter is confirmed. */
  individualId?: string;
}

export type IntakeResult =
  | { name: string; status: 'added'; encounter: Encounter; photo: Photo }
  /** Already in the catalogue (`photo`), or twice in this intake (`photo` null: the first copy is added). */
  | { name: string; status: 'duplicate'; photo: Photo | null }
  | { name: string; status: 'rejected'; reason: string; kind: 'too-large' | 'not-a-photo' | 'unreadable' };

export interface Candidate {
  individual: Pick<Individual, 'id' | 'name' | 'species'>;
  score: number;
  /** P(same individual | score), or null when the catalogue has no calibration. */
  probability: number | null;
  /** The individual's photo that matched best, and the query photo it matched. */
  bestPhoto: number;
  queryPhoto: number;
  /** Always false: galleries hold each photo as taken (flip-averaged embeddings). */
  mirrored: boolean;
  /** A few more of its photos, for the strip beside the best one. */
  photos: number[];
}

export interface Candidates {
  encounter: Encounter;
  searched: number;
  total: number;
  description: string;
  per: 'individual' | 'photo';
  candidates: Candidate[];
  /** "likely new individual" when even the best candidate scores under the run's threshold. */
  suggestion: string | null;
  threshold: number | null;
}

/** A search waiting for the next batch. */
interface PendingSearch extends SearchRequest {
  resolve(result: SearchResult): void;
  reject(err: unknown): void;
}

export class Catalogue {
  private index: Promise<GalleryIndex> | undefined;
  private galleryStale = true;
  /** The store's revision by other processes when last looked at. */
  private othersSeen: number | undefined;
  /** Searches asked for while one runs; the next batch answers them all with one matrix product. */
  private pending: PendingSearch[] = [];
  /** Best probability of each queued encounter, for sorting; cleared by every change. */
  private queueScores: Map<number, number> | undefined;

  private constructor(readonly dir: string, readonly store: CatalogueStore, readonly setup: CatalogueSetup) {}

  /** Creates a catalogue folder (or reopens one made with the same model, to finish an interrupted init). */
  static async create(dir: string, setup: CatalogueSetup): Promise<Catalogue> {
    mkdirSync(join(dir, 'photos'), { recursive: true });
    const store = new SqliteStore(join(dir, CATALOGUE_DB));
    const existing = await store.getMeta('setup');
    if (existing !== null) {
      const theirs = JSON.parse(existing) as CatalogueSetup;
      if (theirs.model !== setup.model) {
        await store.close();
        throw new InvalidRequestError(`${dir} already holds a catalogue of model ${theirs.model.slice(0, 12)} (run ${theirs.run}); choose another folder`);
      }
    }
    await store.setMeta('setup', JSON.stringify(setup));
    return new Catalogue(dir, store, setup);
  }

  static async open(dir: string): Promise<Catalogue> {
    const file = join(dir, CATALOGUE_DB);
    if (!existsSync(file)) throw new NotFoundError(`${dir} is not a catalogue (no ${CATALOGUE_DB}); make one with finprint catalogue init`);
    const store = new SqliteStore(file);
    const setup = await store.getMeta('setup');
    if (setup === null) {
      await store.close();
      throw new NotFoundError(`${file} has no setup: its init did not get far; run finprint catalogue init again`);
    }
    return new Catalogue(dir, store, JSON.parse(setup) as CatalogueSetup);
  }

  async close(): Promise<void> {
    (await this.index)?.dispose();
    await this.store.close();
  }

  /** The file of a photo in the catalogue folder. */
  photoFile(photo: Photo): string {
    return photoPath(this.dir, photo);
  }

  private changed(): void {
    this.galleryStale = true;
    this.queueScores = undefined;
  }

  private async galleryIndex(): Promise<GalleryIndex> {
    // Another process (an import beside a running server) may have added photos or decisions.
    const others = await this.store.othersRevision();
    if (others !== this.othersSeen) {
      this.othersSeen = others;
      this.changed();
      if (this.index && (await this.index).size !== (await this.store.embeddingCount(this.setup.model))) this.index = undefined;
    }
    this.index ??= this.store.embeddings(this.setup.model).then((vectors) => new GalleryIndex(vectors, vectors.values().next().value?.length ?? 0));
    const index = await this.index;
    if (this.galleryStale) {
      this.galleryStale = false;
      index.setGallery(await this.store.gallery(this.setup.model));
    }
    return index;
  }

  /**
   * Photos were added: the next search builds the matrix again. The old one is left to the
   * garbage collector rather than freed here, as a search may still be using it.
   */
  private photosAdded(): void {
    this.index = undefined;
    this.changed();
  }

  /** A search, answered with the others asked for meanwhile in one batch. */
  private search(request: SearchRequest): Promise<SearchResult> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ ...request, resolve, reject }) === 1) setImmediate(() => void this.flushSearches());
    });
  }

  private async flushSearches(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const results = (await this.galleryIndex()).searchMany(batch);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  probability(score: number): number | null {
    return this.setup.calibration ? calibrated(this.setup.calibration, score) : null;
  }

  // ---- photos in ----

  /**
   * Brings photos in: each read and checked, stored once under its hash, boxed (given, detected or
   * whole), embedded, and added as an encounter with its photo in one transaction. A photo already
   * in the catalogue is reported as a duplicate, a bad one as rejected; neither stops the rest.
   */
  async intake(items: readonly PhotoIntake[], embedder: PhotoEmbedder, options: { limits?: PhotoLimits; quiet?: boolean } = {}): Promise<IntakeResult[]> {
    if (embedder.version !== this.setup.model) throw new InvalidRequestError(`the model embedding these photos (${embedder.version.slice(0, 12)}) is not the catalogue's (${this.setup.model.slice(0, 12)})`);
    const results: (IntakeResult | undefined)[] = new Array(items.length);
    const fresh: { i: number; photo: Omit<IncomingPhoto, 'box' | 'boxSource'>; path: string; created: boolean }[] = [];
    const seen = new Set<string>();
    for (const [i, item] of items.entries()) {
      let bytes: Buffer;
      try {
        bytes = 'bytes' in item.source ? item.source.bytes : await readFile(item.source.path);
      } catch (err) {
        results[i] = { name: item.name, status: 'rejected', reason: `${item.name}: ${(err as Error).message}`, kind: 'unreadable' };
        continue;
      }
      try {
        const photo = await inspectPhoto(bytes, item.name, options.limits);
        const existing = await this.store.photoBySha256(photo.sha256);
        if (existing || seen.has(photo.sha256)) {
          results[i] = { name: item.name, status: 'duplicate', photo: existing };
          continue;
        }
        seen.add(photo.sha256);
        fresh.push({ i, photo, ...(await storePhoto(this.dir, photo, bytes)) });
      } catch (err) {
        if (!(err instanceof PhotoRejected)) throw err;
        results[i] = { name: item.name, status: 'rejected', reason: err.message, kind: err.kind };
      }
    }
    // A given box that misses its photo is for another photo (or in other units): not used.
    const given = (f: (typeof fresh)[number]): Box | null => {
      const box = items[f.i]!.box ?? null;
      return box && !boxMissesPhoto(box, f.photo) ? box : null;
    };
    const detected = embedder.detect ? await embedder.detect(fresh.filter((f) => !given(f)).map((f) => ({ path: f.path, width: f.photo.width, height: f.photo.height }))) : [];
    let d = 0;
    const boxed = fresh.map((f) => {
      const box = given(f);
      if (box) return { ...f, box, boxSource: 'imported' as const };
      const found = embedder.detect ? detected[d++] ?? null : null;
      return { ...f, box: found, boxSource: found ? ('detected' as const) : ('whole' as const) };
    });
    const { vectors, problems } = await embedder.embed(boxed.map((f) => ({ path: f.path, box: f.box })), { quiet: options.quiet ?? true, label: 'import' });
    for (const [k, f] of boxed.entries()) {
      const item = items[f.i]!;
      const vector = vectors[k];
      if (!vector) {
        // Its header read but its pixels do not decode: it leaves no file behind.
        if (f.created) await rm(f.path, { force: true });
        results[f.i] = { name: item.name, status: 'rejected', reason: `${item.name}: ${problems.get(k) ?? 'cannot be read'}`, kind: 'unreadable' };
        continue;
      }
      const { encounter, photos } = await this.store.addEncounter(
        {
          status: item.individualId ? 'confirmed' : 'unreviewed',
          individualId: item.individualId ?? null,
          date: item.date ?? f.photo.exifDate,
          latitude: item.latitude ?? f.photo.exifLatitude,
          longitude: item.longitude ?? f.photo.exifLongitude,
          observer: item.observer ?? null,
          species: item.species ?? null,
          notes: item.notes ?? null,
          photos: [{ ...f.photo, box: f.box, boxSource: f.boxSource, embedding: vector }],
        },
        this.setup.model,
      );
      results[f.i] = { name: item.name, status: 'added', encounter, photo: photos[0]! };
    }
    if (boxed.length) this.photosAdded();
    return results.map((r) => r!);
  }

  // ---- review ----

  async queue(query: QueueQuery): Promise<{ total: number; items: (Encounter & { bestProbability: number | null; bestScore: number | null })[] }> {
    const sortByProbability = (query.sort ?? 'probability') === 'probability';
    const all = await this.store.queue({ ...query, ...(sortByProbability ? { offset: 0, limit: -1 } : {}) });
    const scores = await this.bestScores(all.items);
    const withScores = all.items.map((e) => {
      const s = scores.get(e.id);
      return { ...e, bestScore: s ?? null, bestProbability: s === undefined ? null : this.probability(s) };
    });
    if (!sortByProbability) return { total: all.total, items: withScores };
    withScores.sort((a, b) => (b.bestScore ?? -Infinity) - (a.bestScore ?? -Infinity) || a.id - b.id);
    const offset = query.offset ?? 0;
    return { total: all.total, items: withScores.slice(offset, query.limit === undefined ? undefined : offset + query.limit) };
  }

  private async bestScores(encounters: readonly Encounter[]): Promise<Map<number, number>> {
    const index = await this.galleryIndex(); // first: it clears the scores when another process changed the catalogue
    this.queueScores ??= new Map();
    const missing = encounters.filter((e) => !this.queueScores!.has(e.id));
    if (missing.length) {
      const photos = await this.store.photosOf(missing.map((e) => e.id));
      const byPhoto = index.bestScores(photos.map((p) => p.id));
      for (const p of photos) {
        const s = byPhoto.get(p.id);
        if (s !== undefined && s > (this.queueScores.get(p.encounterId) ?? -Infinity)) this.queueScores.set(p.encounterId, s);
      }
    }
    return new Map(encounters.flatMap((e) => (this.queueScores!.has(e.id) ? [[e.id, this.queueScores!.get(e.id)!] as const] : [])));
  }

  /** An encounter, its photos, and the field decision that came with it (finprint catalogue sync), if any. */
  async encounter(id: number): Promise<{ encounter: Encounter; photos: Photo[]; proposal: Proposal | null }> {
    const encounter = await this.store.encounter(id);
    if (!encounter) throw new NotFoundError(`no encounter ${id}`);
    return { encounter, photos: await this.store.photosOf([id]), proposal: await this.store.proposalOf(id) };
  }

  /** Ranked candidate individuals (or photos) for an encounter, within the filters. */
  async candidates(encounterId: number, filter: SearchFilter, options: { top?: number; per?: 'individual' | 'photo' } = {}): Promise<Candidates> {
    const { encounter, photos } = await this.encounter(encounterId);
    const index = await this.galleryIndex();
    const queries = photos.map((p) => index.vector(p.id)).filter((v): v is Float32Array => v !== undefined);
    if (queries.length === 0) throw new InvalidRequestError(`encounter ${encounterId} has no photo embedded with the catalogue's model; run finprint catalogue check`);
    const flat = new Float32Array(queries.length * index.dim);
    queries.forEach((v, i) => flat.set(v, i * index.dim));
    const near = filter.near ?? (encounter.latitude !== null && encounter.longitude !== null ? { latitude: encounter.latitude, longitude: encounter.longitude } : undefined);
    const per = options.per ?? 'individual';
    const found = await this.search({ queries: flat, filter: { ...filter, ...(near ? { near } : {}) }, options: { top: options.top ?? 10, per, exclude: new Set(photos.map((p) => p.id)) } });
    const shown = await this.store.individualsWithPhotos(found.matches.map((m) => m.individualId));
    const candidates: Candidate[] = [];
    for (const m of found.matches) {
      const { individual, photos: theirs } = shown.get(m.individualId)!;
      const strip = theirs.filter((id) => id !== m.photoId);
      candidates.push({
        individual: { id: individual.id, name: individual.name, species: individual.species },
        score: m.score,
        probability: this.probability(m.score),
        bestPhoto: m.photoId,
        queryPhoto: photos[this.bestQuery(index, photos, m.photoId)]!.id,
        mirrored: false,
        photos: strip.slice(0, 8),
      });
    }
    const threshold = this.setup.threshold;
    const top = candidates[0]?.score;
    const suggestion = threshold !== null && (top === undefined || top < threshold) ? 'likely new individual' : null;
    return { encounter, searched: found.searched, total: found.total, description: found.description, per, candidates, suggestion, threshold };
  }

  /** Which of the query photos is closest to a gallery photo. */
  private bestQuery(index: GalleryIndex, photos: readonly Photo[], galleryPhoto: number): number {
    if (photos.length === 1) return 0;
    const g = index.vector(galleryPhoto)!;
    let best = 0;
    let bestScore = -Infinity;
    photos.forEach((p, i) => {
      const q = index.vector(p.id);
      if (!q) return;
      let s = 0;
      for (let k = 0; k < g.length; k++) s += g[k]! * q[k]!;
      if (s > bestScore) [best, bestScore] = [i, s];
    });
    return best;
  }

  /** Applies a decision (one transaction with its audit row); the next search already sees it. */
  async decide(request: DecisionRequest, user: string): Promise<Decision> {
    try {
      return await this.store.decide(request, user);
    } finally {
      this.changed();
    }
  }

  async individual(id: string): Promise<{ individual: Individual; encounters: (Encounter & { photos: Photo[] })[] }> {
    const individual = await this.store.individual(id);
    if (!individual) throw new NotFoundError(`no individual ${id}`);
    const encounters = await this.store.encountersOf(id);
    const photos = await this.store.photosOf(encounters.map((e) => e.id));
    return { individual, encounters: encounters.map((e) => ({ ...e, photos: photos.filter((p) => p.encounterId === e.id) })) };
  }

  /** Files in the photos folder that no photo row names (left by an import that was killed before its transaction). */
  orphanFiles(known: ReadonlySet<string>): string[] {
    const root = join(this.dir, 'photos');
    if (!existsSync(root)) return [];
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(root, d.name)).map((f) => join(root, d.name, f)))
      .filter((f) => !f.endsWith('.tmp') && !known.has(f));
  }
}
