// Writes a field pack (format: src/catalogue/pack.ts, docs/field-pack.md) from a catalogue, or from
// a run when there is no catalogue yet (its gallery, the training photos, as the known
// individuals). The model (and detector) are exported to ONNX and checked with ONNX Runtime before
// anything is written; the pack is assembled in a temporary folder beside --out and renamed into
// place, so a failed or interrupted pack leaves no half-written one.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import sharp from 'sharp';
import { Catalogue, type CatalogueSetup } from '../catalogue/catalogue.js';
import {
  catalogueContents,
  embeddingsBytes,
  PACK_FILES,
  PACK_FORMAT,
  PACK_THUMB_SIZE,
  PACK_THUMBS_PER_INDIVIDUAL,
  restrictIndividuals,
  type PackContents,
  type PackIndex,
  type PackIndividual,
  type PackManifest,
  type PackRestrictions,
} from '../catalogue/pack.js';
import { readBoxes } from '../data/boxes.js';
import { readCsv } from '../data/csv.js';
import type { Box } from '../data/crop.js';
import { Detector } from '../detect/detector.js';
import { readModelSummary } from '../export/onnx_proto.js';
import { checkExport } from '../export/ort.js';
import { exportDetector, exportTask } from '../export/trained.js';
import { catalogueSetup, DETECTOR_MIN_SCORE, modelVersion } from './catalogue_model.js';
import { Identifier } from './identifier.js';
import { openRun } from './open_run.js';

/** Largest ONNX Runtime vs finprint difference accepted (max |diff| / max |ref|), as export onnx. */
const TOLERANCE = 1e-4;

export interface PackOptions {
  /** Exactly one of catalogue and run. */
  catalogue?: string;
  run?: string;
  out: string;
  species?: readonly string[];
  /** A CSV with an individual_id column. */
  individualsFrom?: string;
  force?: boolean;
  /** Check the ONNX files with ONNX Runtime (default true). */
  check?: boolean;
  log?: (line: string) => void;
}

export interface PackSummary {
  out: string;
  manifest: PackManifest;
}

/** The ids of an --individuals-from CSV (column individual_id). */
export async function readIndividualIds(file: string): Promise<string[]> {
  const table = await readCsv(file);
  const col = table.header.indexOf('individual_id');
  if (col < 0) throw new Error(`${file} has no individual_id column (header is "${table.header.join(',')}")`);
  const ids = table.rows.map((r) => (r[col] ?? '').trim()).filter(Boolean);
  if (ids.length === 0) throw new Error(`${file} lists no individual_id`);
  return ids;
}

/** The run's gallery (its training photos, plain views) as the known individuals. */
async function runContents(runDir: string, restrictions: PackRestrictions): Promise<PackContents> {
  const ident = await Identifier.open(runDir, { quiet: true });
  const g = ident.gallery;
  const n = g.mirrors ? g.ids.length / 2 : g.ids.length;
  const speciesOf = new Map(ident.data.gallery.map((r) => [r.path, r.species]));
  const imageOf = new Map(ident.data.gallery.map((r) => [r.path, r.image]));
  const boxes = ident.run.info.crops ? await readBoxes(ident.run.info.crops) : undefined;
  const byId = new Map<string, { id: string; species: string | null; rows: number[] }>();
  for (let r = 0; r < n; r++) {
    const id = g.ids[r]!;
    let i = byId.get(id);
    if (!i) byId.set(id, (i = { id, species: speciesOf.get(g.paths[r]!) ?? null, rows: [] }));
    i.rows.push(r);
  }
  const kept = restrictIndividuals([...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), restrictions);
  const individuals: PackIndividual[] = [];
  const rows: number[] = [];
  const photos: PackContents['photos'] = [];
  const embeddings = new Float32Array(kept.reduce((s, i) => s + i.rows.length, 0) * g.dim);
  for (const i of kept) {
    const mine: number[] = [];
    for (const r of i.rows) {
      embeddings.set(g.embedding.subarray(r * g.dim, (r + 1) * g.dim), rows.length * g.dim);
      mine.push(rows.length);
      rows.push(individuals.length);
      const path = g.paths[r]!;
      photos.push({ path, box: boxes?.get(imageOf.get(path) ?? basename(path)) ?? null });
    }
    individuals.push({ id: i.id, name: null, species: i.species, rows: mine, lastSeen: null, thumbs: [] });
  }
  const species = [...new Set(individuals.map((i) => i.species).filter((s): s is string => s !== null))].sort();
  return { individuals, rows, dim: g.dim, embeddings, photos, species, left: [] };
}

/** A reference thumbnail: the animal's box (or the whole photo), at most PACK_THUMB_SIZE px a side, JPEG. */
async function thumbnail(path: string, box: Box | null): Promise<Buffer> {
  let img = sharp(path, { failOn: 'none' }).rotate();
  if (box) {
    const meta = await sharp(path).metadata();
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    const left = Math.max(0, Math.floor(box.x0));
    const top = Math.max(0, Math.floor(box.y0));
    const width = Math.min(w - left, Math.ceil(box.x1) - left);
    const height = Math.min(h - top, Math.ceil(box.y1) - top);
    if (width > 1 && height > 1) img = sharp(path, { failOn: 'none' }).extract({ left, top, width, height });
  }
  return img.resize(PACK_THUMB_SIZE, PACK_THUMB_SIZE, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80, mozjpeg: true }).toBuffer();
}

/** Which of an individual's rows get thumbnails: its latest photos (rows are oldest first). */
const thumbRows = (rows: readonly number[]): number[] => rows.slice(-PACK_THUMBS_PER_INDIVIDUAL);

/** Refuses an --out that exists (unless --force on an earlier pack or an empty folder) or lies inside an input. */
function checkOut(out: string, force: boolean, inputs: readonly { dir: string; what: string }[]): void {
  const abs = resolve(out);
  for (const i of inputs) {
    const d = resolve(i.dir);
    if (abs === d || abs.startsWith(d + sep) || d.startsWith(abs + sep)) throw new Error(`--out ${out} overlaps ${i.what} ${i.dir}; write the pack elsewhere`);
  }
  if (!existsSync(abs)) return;
  if (!force) throw new Error(`--out ${out} already exists; pass --force to replace it, or choose another folder`);
  if (!statSync(abs).isDirectory()) throw new Error(`--out ${out} is a file, not a pack folder`);
  if (readdirSync(abs).length > 0 && !existsSync(join(abs, PACK_FILES.manifest))) throw new Error(`--out ${out} is a folder that is not a field pack (no ${PACK_FILES.manifest}); it is not replaced even with --force`);
}

export async function writePack(options: PackOptions): Promise<PackSummary> {
  const log = options.log ?? (() => {});
  if (!options.catalogue === !options.run) throw new Error('give exactly one of --catalogue and --run');
  const restrictions: PackRestrictions = {
    ...(options.species?.length ? { species: options.species } : {}),
    ...(options.individualsFrom ? { individuals: await readIndividualIds(options.individualsFrom) } : {}),
  };

  let setup: CatalogueSetup;
  let contents: PackContents;
  if (options.catalogue) {
    checkOut(options.out, options.force ?? false, [{ dir: options.catalogue, what: 'the catalogue' }]);
    const catalogue = await Catalogue.open(options.catalogue);
    try {
      setup = catalogue.setup;
      contents = await catalogueContents(catalogue, restrictions);
    } finally {
      await catalogue.close();
    }
  } else {
    checkOut(options.out, options.force ?? false, [{ dir: options.run!, what: 'the run' }]);
    log('calibrating scores on the run\'s validation split');
    setup = await catalogueSetup(options.run!, null, { quiet: true });
    contents = await runContents(options.run!, restrictions);
  }
  if (contents.rows.length === 0) throw new Error('no embedded photo of the chosen individuals: nothing to pack');
  if (contents.left.length) log(`${contents.left.length} individuals left out: no photo embedded with the catalogue's model (${contents.left.slice(0, 5).join(', ')}${contents.left.length > 5 ? ', ...' : ''}; finprint catalogue check --fix embeds them)`);

  // The models first: nothing is written if an export fails its check.
  const version = await modelVersion(setup.run);
  if (version !== setup.model) throw new Error(`the run ${setup.run} has changed since the catalogue was made (its weights are not model ${setup.model.slice(0, 12)} any more): its model would not match the catalogue's embeddings; no pack written`);
  const run = await openRun(setup.run);
  const info = run.info;
  log(`exporting ${info.backbone} (${info.task}) to ONNX`);
  const model = exportTask(run.task, {
    imageSize: info.imageSize,
    normalization: { mean: info.mean, std: info.std },
    metadata: { 'finprint.backbone': info.backbone, 'finprint.resize': info.mode, 'finprint.flips': String(run.flips), 'finprint.weights': 'best', 'finprint.model': setup.model },
  });
  const checked = async (exported: Parameters<typeof checkExport>[0], what: string): Promise<void> => {
    if (options.check === false) return;
    for (const [name, d] of Object.entries(await checkExport(exported))) {
      if (!(d <= TOLERANCE)) throw new Error(`ONNX Runtime's ${name} differs from finprint's by ${d.toExponential(2)} (max |diff| / max |ref|) for ${what}; no pack written`);
    }
  };
  await checked(model, `the run ${setup.run}`);
  let detector: { bytes: Uint8Array; imageSize: number; gridSize: number } | null = null;
  if (setup.detector) {
    const det = await Detector.open(setup.detector);
    const exported = exportDetector(det.model, { normalization: { mean: det.info.mean, std: det.info.std }, metadata: { 'finprint.backbone': det.info.model.backbone } });
    await checked(exported, `the detector ${setup.detector}`);
    detector = { bytes: exported.bytes, imageSize: det.info.model.imageSize, gridSize: det.model.gridSize };
  }

  const out = resolve(options.out);
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, PACK_FILES.thumbs), { recursive: true });
  try {
    log(`thumbnails for ${contents.individuals.length} individuals`);
    let thumbBytes = 0;
    let thumbCount = 0;
    for (const ind of contents.individuals) {
      for (const r of thumbRows(ind.rows)) {
        const p = contents.photos[r]!;
        try {
          const jpeg = await thumbnail(p.path, p.box);
          await writeFile(join(tmp, PACK_FILES.thumbs, `${r}.jpg`), jpeg);
          ind.thumbs.push(r);
          thumbBytes += jpeg.length;
          thumbCount++;
        } catch (err) {
          log(`no thumbnail for a photo of ${ind.id}: ${(err as Error).message}`);
        }
      }
    }
    const embeddings = embeddingsBytes(contents.embeddings);
    const index: PackIndex = { format: PACK_FORMAT, individuals: contents.individuals, rows: contents.rows };
    const indexText = JSON.stringify(index);
    await writeFile(join(tmp, PACK_FILES.model), model.bytes);
    if (detector) await writeFile(join(tmp, PACK_FILES.detector), detector.bytes);
    await writeFile(join(tmp, PACK_FILES.embeddings), embeddings);
    await writeFile(join(tmp, PACK_FILES.index), indexText);

    const meta = readModelSummary(model.bytes).metadata;
    const numbers = (s: string | undefined): number[] | null => (s ? s.split(',').map(Number) : null);
    const indexBytes = Buffer.byteLength(indexText);
    const manifest: PackManifest = {
      format: PACK_FORMAT,
      kind: 'finprint-field-pack',
      created: new Date().toISOString(),
      model: setup.model,
      source: options.catalogue ? { kind: 'catalogue', path: resolve(options.catalogue) } : { kind: 'run', path: resolve(options.run!) },
      restrictions: { species: restrictions.species ? [...restrictions.species] : null, individuals: restrictions.individuals ? [...restrictions.individuals] : null },
      counts: { individuals: contents.individuals.length, photos: contents.rows.length, thumbnails: thumbCount },
      imageSize: info.imageSize,
      embeddingDim: contents.dim,
      threshold: setup.threshold,
      calibration: setup.calibration ? { scores: setup.calibration.scores, probabilities: setup.calibration.probabilities } : null,
      detector: detector ? { file: PACK_FILES.detector, imageSize: detector.imageSize, gridSize: detector.gridSize, minScore: DETECTOR_MIN_SCORE } : null,
      input: {
        name: model.inputName,
        layout: 'NCHW',
        range: [0, 1],
        size: info.imageSize,
        resize: meta['finprint.resize'] ?? null,
        normalization: { inGraph: meta['finprint.normalization'] === 'in-graph', mean: numbers(meta['finprint.mean']), std: numbers(meta['finprint.std']) },
        description: meta['finprint.input'] ?? null,
      },
      outputs: model.outputNames,
      species: contents.species,
      files: {
        [PACK_FILES.model]: model.bytes.length,
        ...(detector ? { [PACK_FILES.detector]: detector.bytes.length } : {}),
        [PACK_FILES.embeddings]: embeddings.length,
        [PACK_FILES.index]: indexBytes,
        [`${PACK_FILES.thumbs}/`]: thumbBytes,
      },
      bytes: { total: 0, model: model.bytes.length, detector: detector?.bytes.length ?? 0, embeddings: embeddings.length, index: indexBytes, thumbnails: thumbBytes, manifest: 0 },
    };
    // The manifest counts itself: settle its own size (two passes are enough, a third to be sure).
    let text = '';
    for (let pass = 0; pass < 3; pass++) {
      text = JSON.stringify(manifest, null, 2);
      manifest.bytes.manifest = Buffer.byteLength(text);
      manifest.files[PACK_FILES.manifest] = manifest.bytes.manifest;
      manifest.bytes.total = manifest.bytes.model + manifest.bytes.detector + manifest.bytes.embeddings + manifest.bytes.index + manifest.bytes.thumbnails + manifest.bytes.manifest;
    }
    text = JSON.stringify(manifest, null, 2);
    await writeFile(join(tmp, PACK_FILES.manifest), text);
    if (existsSync(out)) {
      // checked above: --force on an earlier pack, which stays whole until the new one is in place
      const old = join(dirname(out), `.${basename(out)}.old-${process.pid}`);
      await rename(out, old);
      await rename(tmp, out).catch(async (err: unknown) => {
        await rename(old, out);
        throw err;
      });
      await rm(old, { recursive: true, force: true });
    } else await rename(tmp, out);
    return { out: options.out, manifest };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** "12.3 MB" */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
