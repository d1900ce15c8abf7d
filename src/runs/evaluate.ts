// `finprint evaluate`: a run's identification and species metrics on a labelled split. On the
// validation split the new_individual threshold is calibrated (and stored) first, so its MAP@5 is
// the tuned, optimistic figure; on the test split (test_solution.csv) the stored threshold is used
// as is, which is the honest estimate of a submission's score.
// The protocol says which photos are scored against which gallery (data/split.ts): open (all, the
// Kaggle setting), closed (only individuals the gallery has) or disjoint (only individuals it
// lacks, against a reference gallery of their own photos). Beside MAP@5 every protocol reports
// the open-set metrics (eval/open_set.ts) of the gallery-only scores, and of the blended ones.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { countBy, pcc } from '../data/chance.js';
import { NEW_INDIVIDUAL } from '../data/happywhale.js';
import { PROTOCOLS, protocolSplit, type Protocol } from '../data/split.js';
import { fitCalibration, labelledPairs, reliability } from '../eval/calibration.js';
import { confusionMatrix, identificationMetrics } from '../eval/metrics.js';
import { averagePrecision, openSetMetrics, type OpenSetMetrics } from '../eval/open_set.js';
import { SPLITS, type Evaluation, type EvaluationSummary, type Split } from '../eval/summary.js';
import { predictWithThreshold, type Candidate } from '../eval/threshold.js';
import { embedPhotos, type Embedded } from '../identify/embed.js';
import { galleryOf, type Gallery } from '../identify/gallery.js';
import { matchEmbeddings } from '../identify/match.js';
import { photoSimilarities } from '../identify/search.js';
import { readSolution } from '../identify/submission.js';
import { checkInteger, checkOneOf } from '../util/check.js';
import { Identifier, type IdentifierOptions, type Photo, type ThresholdOptions } from './identifier.js';
import { samplesOf } from './run_data.js';
import type { StoredThreshold } from './stored_threshold.js';

export interface EvaluateOptions extends IdentifierOptions, Pick<ThresholdOptions, 'newShare'> {
  split?: Split;
  /** Default open. */
  protocol?: Protocol;
  /** Seeds the disjoint protocol's choice of reference photos (default 0). */
  seed?: number;
}

interface LabelledPhotos {
  photos: Photo[];
  /** The answer Kaggle scores (open protocol). */
  truths: string[];
  /** Who each photo shows; new_individual where the labels hide it (a new animal in test_solution.csv). */
  identities: string[];
  species?: string[];
}

async function testSplit(ident: Identifier): Promise<LabelledPhotos> {
  const file = join(ident.data.dir, 'test_solution.csv');
  if (!existsSync(file)) {
    throw new Error(`--split test needs the answers in ${file} (image,individual_id), which ${ident.data.dir} lacks; Kaggle's test set has none: write a submission with finprint predict instead`);
  }
  const solution = await readSolution(file);
  // Every photo of test_images/, unreadable ones included: they are answered new_individual, as predict does.
  const photos = new Map(ident.data.test.map((t) => [t.image, t]));
  const missing = solution.images.filter((i) => !photos.has(i));
  if (missing.length) throw new Error(`${file} lists ${missing.length} photo(s) not in ${ident.data.dir}/test_images/: ${missing.slice(0, 5).join(', ')}`);
  const truths = solution.images.map((i) => solution.truths.get(i)!);
  return {
    photos: solution.images.map((image) => photos.get(image)!),
    truths,
    identities: solution.identities ? solution.images.map((i) => solution.identities!.get(i)!) : truths,
    ...(solution.species ? { species: solution.images.map((i) => solution.species!.get(i)!) } : {}),
  };
}

/** The scored photos after the protocol's selection: what every metric below reads. */
interface Scored {
  truths: string[];
  identities: string[];
  species?: string[];
  /** The run's candidates (blended where it blends), best first. */
  candidates: Candidate[][];
  /** Gallery-only candidates: the run's own when it neither blends nor answers from a softmax. */
  galleryCandidates: Candidate[][];
  /** [photos, dim] unit rows, for the per-photo ranking behind mAP. */
  embedding: Float32Array;
  /** Photos that could not be read (rows of this selection). */
  unreadable: Set<number>;
  predictedSpecies: string[];
  /** What the photos were searched against. */
  gallery: Gallery;
}

const recall = (r: { images: number; top1: number }): number | null => (r.images ? r.top1 : null);
const pick = <T>(list: readonly T[], rows: readonly number[]): T[] => rows.map((i) => list[i]!);

function pickRows(e: Embedded, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * e.dim);
  rows.forEach((r, i) => out.set(e.embedding.subarray(r * e.dim, (r + 1) * e.dim), i * e.dim));
  return out;
}

/** Candidates of the embeddings against `gallery`; a photo that could not be read has none (it is answered new_individual). */
function candidatesOf(ident: Identifier, gallery: Gallery, e: { embedding: Float32Array }, unreadable: ReadonlySet<number>, blend: number): Candidate[][] {
  return matchEmbeddings(ident.run, gallery, e.embedding, { blend }).map((c, i) => (unreadable.has(i) ? [] : c));
}

export async function evaluateRun(runDir: string, options: EvaluateOptions = {}): Promise<Evaluation<StoredThreshold>> {
  const split = checkOneOf('split', options.split ?? 'val', SPLITS);
  const protocol = checkOneOf('protocol', options.protocol ?? 'open', PROTOCOLS);
  const seed = checkInteger('seed', options.seed ?? 0, 0);
  const blend = options.blend ?? 0;
  const ident = await Identifier.open(runDir, options);
  // A softmax over individuals answers from its classes, not the gallery: it cannot name a
  // reference individual, and its answers' threshold is on probabilities, not similarities.
  const softmax = ident.run.task.name === 'individual-softmax';
  const calibration = await ident.threshold({ newShare: options.newShare, recalibrate: split === 'val' });
  const labelled: LabelledPhotos = split === 'val'
    ? await ident.validation().then((v) => ({ photos: v.photos, truths: v.truths, identities: ident.data.validation.map((r) => r.individualId), species: ident.data.validation.map((r) => r.species) }))
    : await testSplit(ident);
  // Validation photos are matched against the training split alone: it is what they were chosen against.
  const searched = split === 'val' ? ident.gallery : await ident.searched();
  const chosen = protocolSplit(labelled.photos.map((_, i) => i), {
    protocol,
    seed,
    identity: (i) => labelled.identities[i]!,
    truth: (i) => labelled.truths[i]!,
    known: new Set(searched.ids),
  });
  if (chosen.queries.length === 0) throw new Error(noPhotosMessage(protocol, split));
  // The run's answers are gallery-only scores unless it blends or answers from a softmax.
  const galleryOnly = blend === 0 && !softmax;
  const scored = protocol === 'disjoint'
    ? await scoreDisjoint(ident, labelled, chosen, options, softmax)
    : await scoreAgainst(ident, searched, labelled, chosen, split, galleryOnly);
  // Gallery-only scores need a threshold of their own where the run's was chosen for other scores.
  const galleryThreshold = galleryOnly ? calibration.threshold : await ident.galleryOnlyThreshold(options.newShare !== undefined ? { newShare: options.newShare } : {});
  const answerThreshold = protocol === 'disjoint' && softmax ? galleryThreshold : calibration.threshold;

  const val = await ident.validation();
  const fitted = labelledPairs(val.candidates, val.truths);
  // Fitted on the run's own scores: it says nothing of the gallery cosines a softmax run answers disjoint queries with.
  const sameScores = !(protocol === 'disjoint' && softmax);
  const reliable = fitted.length && sameScores ? reliability(fitCalibration(fitted), labelledPairs(scored.candidates, scored.truths)) : undefined;
  const predictions = scored.candidates.map((c) => predictWithThreshold(c, answerThreshold));
  const metrics = identificationMetrics(scored.truths, predictions, scored.species ?? scored.truths.map(() => 'all'));
  const confusion = scored.species ? confusionMatrix(scored.species, scored.predictedSpecies, ident.species) : undefined;
  const chance = pcc(countBy(scored.truths, (t) => t).values());
  const openSet = {
    gallery: openSetOf(scored, scored.galleryCandidates, galleryThreshold, true),
    blended: blend > 0 && !softmax ? openSetOf(scored, scored.candidates, calibration.threshold, false) : null,
  };
  const g = scored.gallery;
  const summary: EvaluationSummary = {
    run: ident.run.dir,
    split,
    protocol,
    protocol_seed: protocol === 'disjoint' ? seed : null,
    task: ident.run.info.task,
    images: metrics.images,
    map5: metrics.map5,
    top1: metrics.top1,
    top5: metrics.top5,
    species_accuracy: confusion ? confusion.accuracy : null,
    threshold: answerThreshold,
    threshold_method: calibration.method.kind === 'map5' ? 'best MAP@5 on validation' : `new_individual share ${calibration.method.target} on validation`,
    known_recall: recall(metrics.known),
    new_recall: recall(metrics.new),
    known_images: metrics.known.images,
    new_images: metrics.new.images,
    per_species_map5: Object.fromEntries(metrics.perSpecies.map((s) => [s.group, s.map5])),
    pcc: chance,
    pcc125: 1.25 * chance,
    blend,
    gallery: { photos: g.mirrors ? g.ids.length / 2 : g.ids.length, rows: g.ids.length, mirrors: g.mirrors, cached: g.cached, with_validation: g !== ident.gallery && protocol !== 'disjoint', reference: protocol === 'disjoint' },
    open_set: openSet,
  };
  return { summary, metrics, ...(confusion ? { confusion } : {}), calibration, ...(reliable ? { reliability: reliable } : {}) };
}

function noPhotosMessage(protocol: Protocol, split: Split): string {
  const where = split === 'val' ? "the run's validation split" : 'the test split (test_solution.csv)';
  if (protocol === 'closed') return `--protocol closed: ${where} has no photo of an individual the gallery has`;
  if (protocol === 'disjoint') {
    return `--protocol disjoint: ${where} has no photo of a named individual the gallery lacks${split === 'test' ? " (without a true_individual_id column, test_solution.csv calls every new animal new_individual, which says nothing about who it is; try --split val, whose held-out individuals are named)" : ' (the run held no individual out of training: train with --new-fraction > 0)'}`;
  }
  return `${where} has no photos`;
}

/** Open and closed: the selected photos against the run's gallery. */
async function scoreAgainst(ident: Identifier, searched: Gallery, labelled: LabelledPhotos, chosen: { queries: number[]; truths: string[] }, split: Split, galleryOnly: boolean): Promise<Scored> {
  const rows = chosen.queries;
  // Validation photos are matched once anyway (for the threshold): take the selected rows of that;
  // test photos are matched only when selected.
  const matched = split === 'val' ? await ident.validation() : await ident.match(pick(labelled.photos, rows), 'test');
  const at = split === 'val' ? rows : rows.map((_, i) => i);
  const unreadableAll = new Set(matched.embedded.unreadable.map((u) => u.index));
  const unreadable = new Set(at.flatMap((r, i) => (unreadableAll.has(r) ? [i] : [])));
  const candidates = pick(matched.candidates, at);
  const embedding = pickRows(matched.embedded, at);
  return {
    truths: chosen.truths,
    identities: pick(labelled.identities, rows),
    ...(labelled.species ? { species: pick(labelled.species, rows) } : {}),
    candidates,
    galleryCandidates: galleryOnly ? candidates : candidatesOf(ident, searched, { embedding }, unreadable, 0),
    embedding,
    unreadable,
    predictedSpecies: pick(ident.predictedSpecies(matched), at),
    gallery: searched,
  };
}

/** Disjoint: the reference photos become a gallery of their own and the queries are matched against it. */
async function scoreDisjoint(ident: Identifier, labelled: LabelledPhotos, chosen: { reference: number[]; queries: number[]; truths: string[] }, options: EvaluateOptions, softmax: boolean): Promise<Scored> {
  const mirrors = ident.gallery.mirrors;
  const embed = (rows: number[], label: string, views: boolean): Promise<Embedded> =>
    embedPhotos(ident.run, samplesOf(ident.data, pick(labelled.photos, rows)), { ...options, views, label, skipUnreadable: true });
  const reference = chosen.reference.map((i) => ({ ...labelled.photos[i]!, individualId: labelled.identities[i]! }));
  const fingerprint = `disjoint reference of ${ident.gallery.fingerprint}`;
  // Only single-photo individuals: every query's answer is new_individual, against an empty gallery.
  const gallery = reference.length
    ? galleryOf(reference, await embed(chosen.reference, 'reference', mirrors), { mirrors, fingerprint }).gallery
    : { ids: [], paths: [], mirrors, dim: ident.gallery.dim, embedding: new Float32Array(0), fingerprint, cached: false };
  const queries = await embed(chosen.queries, 'queries', false);
  const unreadable = new Set(queries.unreadable.map((u) => u.index));
  const galleryCandidates = candidatesOf(ident, gallery, queries, unreadable, 0);
  // A reference photo that could not be read leaves its individual out of the gallery: new to it.
  const has = new Set(gallery.ids);
  const truths = chosen.truths.map((t) => (t !== NEW_INDIVIDUAL && !has.has(t) ? NEW_INDIVIDUAL : t));
  const blend = options.blend ?? 0;
  return {
    truths,
    identities: pick(labelled.identities, chosen.queries),
    ...(labelled.species ? { species: pick(labelled.species, chosen.queries) } : {}),
    // A softmax run has no class for these animals: its answers are the gallery's.
    candidates: blend > 0 && !softmax ? candidatesOf(ident, gallery, queries, unreadable, blend) : galleryCandidates,
    galleryCandidates,
    embedding: queries.embedding,
    unreadable,
    predictedSpecies: ident.predictedSpecies({ photos: pick(labelled.photos, chosen.queries), embedded: queries, candidates: galleryCandidates }),
    gallery,
  };
}

/**
 * Open-set metrics of one way of scoring the selected photos. Known: the searched gallery has
 * the individual. `perPhoto`: the scores are gallery similarities, so each query's average
 * precision over the gallery's photos is measured too (a photo that could not be read ranks
 * nothing: 0 where the gallery has its individual).
 */
function openSetOf(s: Scored, candidates: Candidate[][], threshold: number, perPhoto: boolean): OpenSetMetrics {
  const has = new Set(s.gallery.ids);
  const precisions: (number | null)[] = s.identities.map(() => null);
  if (perPhoto) {
    const photoIds = s.gallery.mirrors ? s.gallery.ids.slice(0, s.gallery.ids.length / 2) : s.gallery.ids;
    photoSimilarities(s.embedding, s.gallery.embedding, s.gallery.dim, s.gallery.mirrors, (first, rows, scores) => {
      const n = photoIds.length;
      for (let r = 0; r < rows; r++) {
        const q = first + r;
        const ap = averagePrecision(scores.subarray(r * n, (r + 1) * n), photoIds, s.identities[q]!);
        precisions[q] = ap !== null && s.unreadable.has(q) ? 0 : ap;
      }
    });
  }
  return openSetMetrics(
    s.identities.map((individual, i) => ({ individual, known: has.has(individual), candidates: candidates[i]!, ...(perPhoto ? { averagePrecision: precisions[i]! } : {}) })),
    threshold,
  );
}
