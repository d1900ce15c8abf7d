// The offline field page: pick or take a photo, identify it against the field pack (detect and
// crop when the pack has a detector, embed with ONNX Runtime Web, search the pack's embeddings),
// show the best candidates with their reference thumbnails and calibrated probability, record a
// decision (match / new individual / unsure) with date, position and notes, keep it in IndexedDB,
// and export the decisions as a sync file for `finprint catalogue sync`. A service worker (sw.ts)
// caches the page, ONNX Runtime and the pack, so all of it works with no network.
import { clear, count, h, percent, place } from './dom.js';
import { readExif } from './exif.js';
import { Embedder } from './identify.js';
import { onnxMetadata } from './onnx_meta.js';
import { ortThreads } from './ort.js';
import { calibrated, loadPack, search, type Candidate, type Pack } from './pack.js';
import { allDecisions, putDecision, type FieldDecision, type StoredDecision } from './store.js';
import { download, syncFile } from './sync.js';

/** Candidates shown per photo. */
const TOP = 5;
const OBSERVER_KEY = 'finprint-field-observer';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let pack: Pack;
let embedder: Embedder;

interface Current {
  file: File;
  candidates: Candidate[];
  exif: ReturnType<typeof readExif>;
}
let current: Current | null = null;

function message(text: string, kind: 'info' | 'error' = 'info'): void {
  const el = $('message');
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}

// ---- service worker: everything cached for offline use ----

async function registerWorker(): Promise<void> {
  const status = $('offline');
  if (!('serviceWorker' in navigator)) {
    status.textContent = 'This browser has no service workers: the page will not work offline.';
    document.body.dataset.offline = 'unsupported';
    return;
  }
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { type?: string; files?: number; missing?: string[] };
    if (data?.type !== 'cached') return;
    const missing = data.missing ?? [];
    document.body.dataset.offline = missing.length === 0 ? 'ready' : 'incomplete';
    status.textContent = missing.length === 0 ? `Ready offline: ${count(data.files ?? 0, 'file')} cached.` : `Not ready offline: ${count(missing.length, 'file')} could not be cached (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}).`;
  });
  try {
    // Relative: the page is at / (finprint serve --pack) or /field/ (beside the review page).
    await navigator.serviceWorker.register(new URL('sw.js', document.baseURI), { type: 'module', scope: './' });
    // Ask the browser not to evict the cached pack and the decisions under storage pressure.
    void navigator.storage?.persist?.().catch(() => false);
    const reg = await navigator.serviceWorker.ready;
    if (!navigator.onLine) {
      document.body.dataset.offline = 'offline';
      status.textContent = 'Offline: working from the cached pack.';
      return;
    }
    status.textContent = 'Caching the page, ONNX Runtime and the pack for offline use…';
    reg.active?.postMessage({ type: 'cache' });
  } catch (err) {
    document.body.dataset.offline = 'error';
    status.textContent = `The offline cache could not be set up: ${(err as Error).message}`;
  }
}

// ---- identification ----

async function identifyFile(file: File): Promise<void> {
  const results = $('results');
  results.dataset.state = 'working';
  clear(results);
  results.append(h('p', {}, 'Identifying…'));
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const exif = readExif(bytes);
    const image = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
    const t0 = performance.now();
    const found = await embedder.identify(image);
    const t1 = performance.now();
    const { manifest, index } = pack;
    const candidates = search(pack.embeddings, pack.rowIndividual, index.individuals.length, manifest.embeddingDim, found.embedding, TOP);
    const t2 = performance.now();
    image.close();
    current = { file, candidates, exif };
    showPreview(found.input, file);
    showCandidates(candidates);
    const timing = $('timing');
    timing.dataset.embedMs = (t1 - t0).toFixed(1);
    timing.dataset.searchMs = (t2 - t1).toFixed(1);
    timing.textContent = `Identified in ${(t2 - t0).toFixed(0)} ms: ${found.box ? `detected in ${found.ms.detect.toFixed(0)} ms, ` : ''}embedded in ${found.ms.embed.toFixed(0)} ms${embedder.flips ? ' (photo and mirror)' : ''}, ${count(index.rows.length, 'row')} searched in ${(t2 - t1).toFixed(1)} ms (${count(ortThreads(), 'thread')}).${embedder.crops && !found.box ? ' The detector found no animal: the whole photo was used.' : ''}`;
    fillDecisionForm(exif);
    results.dataset.state = 'ready';
  } catch (err) {
    results.dataset.state = 'error';
    clear(results);
    results.append(h('p', { class: 'error' }, `This photo could not be identified: ${(err as Error).message}`));
  }
}

function showPreview(input: ImageData, file: File): void {
  const box = $('preview');
  clear(box);
  const url = URL.createObjectURL(file);
  const img = h('img', { src: url, alt: file.name, class: 'photo' });
  img.onload = () => URL.revokeObjectURL(url);
  const c = h('canvas', { width: input.width, height: input.height, class: 'input', title: 'what the model sees' });
  c.getContext('2d')?.putImageData(input, 0, 0);
  box.append(img, h('figure', {}, c, h('figcaption', {}, `model input ${input.width}×${input.height}`)));
}

function showCandidates(candidates: Candidate[]): void {
  const { manifest, index } = pack;
  const results = $('results');
  clear(results);
  const best = candidates[0];
  const isNew = manifest.threshold !== null && (!best || best.score < manifest.threshold);
  results.dataset.likelyNew = String(isNew);
  if (isNew) results.append(h('p', { class: 'likely-new' }, `Likely new individual: the best score ${best ? best.score.toFixed(3) : '—'} is under the threshold ${manifest.threshold!.toFixed(3)}.`));
  const list = h('ol', { class: 'candidates' });
  candidates.forEach((c, k) => {
    const ind = index.individuals[c.individual]!;
    const p = calibrated(manifest.calibration, c.score);
    const thumbs = ind.thumbs.length ? ind.thumbs : [];
    list.append(
      h('li', { class: 'candidate', 'data-rank': k + 1, 'data-individual-id': ind.id, 'data-score': c.score.toFixed(6) },
        h('div', { class: 'who' },
          h('strong', {}, `${k + 1}. ${ind.name ? `${ind.id} “${ind.name}”` : ind.id}`),
          h('span', { class: 'species' }, ind.species ?? 'species unknown'),
          h('span', { class: 'score' }, `score ${c.score.toFixed(3)}`),
          h('span', { class: 'probability', title: 'P(same individual), calibrated on the run\'s validation split' }, `P(same) ${percent(p)}`),
          ind.lastSeen ? h('span', { class: 'seen' }, `last seen ${ind.lastSeen}`) : null),
        h('div', { class: 'thumbs' }, thumbs.map((r) => h('img', { src: new URL(`pack/thumbs/${r}.jpg`, document.baseURI).href, alt: `${ind.id} (reference)`, loading: 'lazy', class: r === c.row ? 'best' : '' })), thumbs.length ? null : h('span', { class: 'none' }, 'no thumbnail'))),
    );
  });
  results.append(list);
}

// ---- decisions ----

function fillDecisionForm(exif: Current['exif']): void {
  const form = $('decision') as HTMLFormElement;
  form.hidden = false;
  const choices = $('choices');
  clear(choices);
  const { index } = pack;
  current!.candidates.forEach((c, k) => {
    const id = index.individuals[c.individual]!.id;
    choices.append(h('label', {}, h('input', { type: 'radio', name: 'decision', value: `match:${id}`, checked: k === 0 && results().dataset.likelyNew !== 'true' }), ` match ${id}`));
  });
  choices.append(
    h('label', {}, h('input', { type: 'radio', name: 'decision', value: 'new', checked: results().dataset.likelyNew === 'true' }), ' new individual'),
    h('label', {}, h('input', { type: 'radio', name: 'decision', value: 'unsure' }), ' unsure'),
  );
  (form.elements.namedItem('date') as HTMLInputElement).value = exif.date ? exif.date.slice(0, 16) : '';
  (form.elements.namedItem('latitude') as HTMLInputElement).value = exif.latitude === null ? '' : exif.latitude.toFixed(6);
  (form.elements.namedItem('longitude') as HTMLInputElement).value = exif.longitude === null ? '' : exif.longitude.toFixed(6);
  (form.elements.namedItem('notes') as HTMLTextAreaElement).value = '';
  (form.elements.namedItem('observer') as HTMLInputElement).value = localStorage.getItem(OBSERVER_KEY) ?? '';
  $('exif').textContent = exif.date || exif.latitude !== null ? `From the photo: ${exif.date ?? 'no date'}, ${place(exif.latitude, exif.longitude)}` : 'The photo carries no date or position (EXIF): fill them in if known.';
}

const results = (): HTMLElement => $('results');

/** A random (version 4) UUID; crypto.randomUUID exists in secure contexts only (https, localhost). */
function uuid(): string {
  if (typeof crypto.randomUUID === 'function' && globalThis.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function numberOrNull(v: string, lo: number, hi: number, what: string): number | null {
  if (!v.trim()) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new Error(`${what} must be a number from ${lo} to ${hi}`);
  return n;
}

async function saveDecision(event: Event): Promise<void> {
  event.preventDefault();
  if (!current) return;
  const form = $('decision') as HTMLFormElement;
  const data = new FormData(form);
  try {
    const choice = String(data.get('decision') ?? '');
    if (!choice) throw new Error('choose a decision: a match, new individual or unsure');
    const decision: FieldDecision = choice.startsWith('match:') ? { kind: 'match', individualId: choice.slice(6) } : choice === 'new' ? { kind: 'new' } : { kind: 'unsure' };
    const dateText = String(data.get('date') ?? '').trim();
    const date = dateText ? (dateText.length === 16 ? `${dateText}:00` : dateText) : null;
    if (date && Number.isNaN(Date.parse(date))) throw new Error('the date is not a date');
    const observer = String(data.get('observer') ?? '').trim() || null;
    if (observer) localStorage.setItem(OBSERVER_KEY, observer);
    const { index, manifest } = pack;
    const file = current.file;
    const type = file.type || (/\.png$/i.test(file.name) ? 'image/png' : 'image/jpeg');
    const entry: StoredDecision = {
      id: uuid(),
      photo: { name: file.name || 'photo.jpg', type, blob: file },
      date,
      latitude: numberOrNull(String(data.get('latitude') ?? ''), -90, 90, 'latitude'),
      longitude: numberOrNull(String(data.get('longitude') ?? ''), -180, 180, 'longitude'),
      notes: String(data.get('notes') ?? '').trim() || null,
      decision,
      at: new Date().toISOString(),
      observer,
      pack: { model: manifest.model, created: manifest.created },
      top: current.candidates.map((c) => ({ id: index.individuals[c.individual]!.id, score: c.score, probability: calibrated(manifest.calibration, c.score) })),
      exported: null,
    };
    await putDecision(entry);
    message(`Saved: ${file.name}, ${decision.kind === 'match' ? `match ${decision.individualId}` : decision.kind === 'new' ? 'new individual' : 'unsure'}. Export the decisions when back online.`);
    form.hidden = true;
    await showSaved();
  } catch (err) {
    message(`Not saved: ${(err as Error).message}`, 'error');
  }
}

async function showSaved(): Promise<void> {
  const all = await allDecisions();
  const box = $('saved');
  box.dataset.count = String(all.length);
  const pending = all.filter((d) => !d.exported).length;
  $('saved-count').textContent = `${count(all.length, 'decision')} kept in this browser${all.length ? `, ${pending} not exported yet` : ''}.`;
  const list = $('saved-list');
  clear(list);
  for (const d of all.slice().reverse()) {
    const what = d.decision.kind === 'match' ? `match ${d.decision.individualId}` : d.decision.kind === 'new' ? 'new individual' : 'unsure';
    list.append(h('li', { 'data-id': d.id }, h('strong', {}, d.photo.name), ` · ${what} · ${d.date ? d.date.slice(0, 16).replace('T', ' ') : 'undated'} · ${place(d.latitude, d.longitude)}${d.notes ? ` · ${d.notes}` : ''}${d.exported ? ' · exported' : ''}`));
  }
  ($('export') as HTMLButtonElement).disabled = all.length === 0;
}

async function exportDecisions(): Promise<void> {
  try {
    const all = await allDecisions();
    const mine = all.filter((d) => d.pack.model === pack.manifest.model);
    if (mine.length === 0) throw new Error('no decision made with this pack');
    const file = await syncFile({ model: pack.manifest.model, created: pack.manifest.created }, mine);
    const now = new Date().toISOString();
    download(`field-${now.slice(0, 10)}.json`, JSON.stringify(file));
    for (const d of mine) await putDecision({ ...d, exported: now });
    message(`Exported ${count(mine.length, 'decision')}: import the file with finprint catalogue sync CATALOGUE FILE (syncing it again adds nothing).${mine.length < all.length ? ` ${all.length - mine.length} made with another pack were left out.` : ''}`);
    await showSaved();
  } catch (err) {
    message(`Not exported: ${(err as Error).message}`, 'error');
  }
}

// ---- a search benchmark on synthetic embeddings (hidden; for the tests and bench notes) ----

/** Times search() over `individuals` × `perIndividual` random unit rows of `dim`; median of `rounds`. */
async function benchSearch(individuals = 15_000, perIndividual = 3.27, dim = 512, rounds = 5): Promise<{ rows: number; individuals: number; dim: number; ms: number[]; median: number }> {
  const rows = Math.round(individuals * perIndividual);
  const emb = new Float32Array(rows * dim);
  let seed = 1;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let k = 0; k < dim; k++) n += (emb[r * dim + k] = rand()) ** 2;
    n = Math.sqrt(n);
    for (let k = 0; k < dim; k++) emb[r * dim + k]! /= n;
  }
  const rowInd = new Int32Array(rows);
  for (let r = 0; r < rows; r++) rowInd[r] = Math.min(individuals - 1, Math.floor(r / perIndividual));
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const q = emb.slice((i * 7919 % rows) * dim, (i * 7919 % rows + 1) * dim);
    const t = performance.now();
    search(emb, rowInd, individuals, dim, q, TOP);
    ms.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 0));
  }
  const sorted = ms.slice().sort((a, b) => a - b);
  return { rows, individuals, dim, ms, median: sorted[Math.floor(rounds / 2)]! };
}

// ---- start ----

async function start(): Promise<void> {
  void registerWorker();
  (window as unknown as { finprintBench: typeof benchSearch }).finprintBench = benchSearch;
  $('photo').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    const f = input.files?.[0];
    // Cleared, so that picking the same photo again identifies it again.
    input.value = '';
    if (f) void identifyFile(f);
  });
  $('decision').addEventListener('submit', (e) => void saveDecision(e));
  $('export').addEventListener('click', () => void exportDecisions());
  try {
    pack = await loadPack();
    const { manifest } = pack;
    const [model, detector] = await Promise.all([
      fetch(new URL('pack/model.onnx', document.baseURI)).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`pack/model.onnx: ${r.status}`)))),
      manifest.detector ? fetch(new URL(`pack/${manifest.detector.file}`, document.baseURI)).then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`detector: ${r.status}`)))) : Promise.resolve(null),
    ]);
    const modelBytes = new Uint8Array(model);
    const flips = onnxMetadata(modelBytes)['finprint.flips'] === 'true';
    embedder = await Embedder.open(manifest, modelBytes, detector ? new Uint8Array(detector) : null, flips);
    $('pack-info').textContent = `${count(manifest.counts.individuals, 'individual')}, ${count(manifest.counts.photos, 'photo')} · model ${manifest.model.slice(0, 12)} · pack of ${manifest.created.slice(0, 10)}${manifest.detector ? ' · detector' : ''}`;
    ($('photo') as HTMLInputElement).disabled = false;
    document.body.dataset.state = 'ready';
  } catch (err) {
    document.body.dataset.state = 'error';
    message(`The field pack could not be loaded: ${(err as Error).message}`, 'error');
  }
  await showSaved().catch((err: Error) => message(`Saved decisions could not be read: ${err.message}`, 'error'));
}

void start();
