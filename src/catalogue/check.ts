// `finprint catalogue check`: is every photo's file there with the bytes its hash says, is every
// photo embedded with the catalogue's model, does every row point at something; and what to do
// about each problem found.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import type { Catalogue } from './catalogue.js';
import type { PhotoEmbedder } from './embedder.js';
import type { IntegrityProblem } from './store.js';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function checkCatalogue(catalogue: Catalogue, onProgress?: (done: number, total: number) => void): Promise<IntegrityProblem[]> {
  const problems: IntegrityProblem[] = [];
  const photos = await catalogue.store.allPhotos();
  const files = new Set<string>();
  for (const [i, p] of photos.entries()) {
    const file = catalogue.photoFile(p);
    files.add(file);
    if (!existsSync(file)) problems.push({ kind: 'missing-file', message: `photo ${p.id} (${p.originalName}): ${file} is missing; restore it from a backup, or import the photo again` });
    else if ((await sha256File(file)) !== p.sha256) problems.push({ kind: 'damaged-file', message: `photo ${p.id} (${p.originalName}): ${file} does not match its hash (the file was changed or damaged); restore it from a backup` });
    onProgress?.(i + 1, photos.length);
  }
  for (const p of await catalogue.store.unembedded(catalogue.setup.model)) {
    problems.push({ kind: 'not-embedded', message: `photo ${p.id} (${p.originalName}) has no embedding for the catalogue's model; run finprint catalogue check --fix to embed it` });
  }
  for (const row of await catalogue.store.orphanRows()) problems.push({ kind: 'orphan-row', message: `${row}; this is a bug: please report it with the catalogue's decision log (finprint catalogue export --format csv)` });
  for (const file of catalogue.orphanFiles(files)) problems.push({ kind: 'orphan-file', message: `${file} is not a photo of the catalogue (an import stopped before adding it); import it again, or delete it` });
  return problems;
}

/** Embeds the photos that lack an embedding for the catalogue's model; returns how many, and the ones that could not be read. */
export async function embedMissing(catalogue: Catalogue, embedder: PhotoEmbedder): Promise<{ embedded: number; unreadable: string[] }> {
  const missing = await catalogue.store.unembedded(catalogue.setup.model);
  if (missing.length === 0) return { embedded: 0, unreadable: [] };
  const { vectors, problems } = await embedder.embed(missing.map((p) => ({ path: catalogue.photoFile(p), box: p.box })), { quiet: false, label: 'embed' });
  const rows = missing.flatMap((p, i) => (vectors[i] ? [{ photoId: p.id, vector: vectors[i]! }] : []));
  await catalogue.store.putEmbeddings(catalogue.setup.model, rows);
  return { embedded: rows.length, unreadable: [...problems].map(([i, why]) => `photo ${missing[i]!.id} (${missing[i]!.originalName}): ${why}`) };
}
