// `finprint catalogue export`: the confirmed photos as a competition-layout folder (train.csv and
// train_images/) to retrain with `finprint train`, or every photo as one CSV; the decision log
// beside either.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCsv } from '../data/csv.js';
import type { Catalogue } from './catalogue.js';

export const EXPORT_FORMATS = ['kaggle', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportSummary {
  photos: number;
  individuals: number;
  decisions: number;
  files: string[];
}

/** Writes the export into `out` (a new folder the caller has checked). */
export async function exportCatalogue(catalogue: Catalogue, out: string, format: ExportFormat): Promise<ExportSummary> {
  const store = catalogue.store;
  await mkdir(out, { recursive: true });
  const photos = await store.allPhotos();
  const encounters = new Map<number, Awaited<ReturnType<typeof store.encounter>>>();
  for (const p of photos) if (!encounters.has(p.encounterId)) encounters.set(p.encounterId, await store.encounter(p.encounterId));
  const files: string[] = [];
  let exported = 0;
  const individuals = new Set<string>();
  if (format === 'kaggle') {
    await mkdir(join(out, 'train_images'), { recursive: true });
    const rows: string[][] = [];
    for (const p of photos) {
      const e = encounters.get(p.encounterId)!;
      if (e.status !== 'confirmed' || !e.individualId) continue;
      const individual = (await store.individual(e.individualId))!;
      const image = `${p.sha256}.${p.format}`;
      await copyFile(catalogue.photoFile(p), join(out, 'train_images', image));
      rows.push([image, e.species ?? individual.species ?? 'unknown', e.individualId]);
      individuals.add(e.individualId);
      exported++;
    }
    await writeCsv(join(out, 'train.csv'), ['image', 'species', 'individual_id'], rows);
    files.push(join(out, 'train.csv'), join(out, 'train_images'));
  } else {
    const rows = photos.map((p) => {
      const e = encounters.get(p.encounterId)!;
      if (e.individualId) individuals.add(e.individualId);
      const b = p.box;
      return [String(p.id), `${p.sha256}.${p.format}`, p.originalName, String(e.id), e.status, e.individualId ?? '', e.species ?? '', e.date ?? '', e.latitude?.toString() ?? '', e.longitude?.toString() ?? '', e.observer ?? '', b ? [b.x0, b.y0, b.x1, b.y1].join(' ') : '', p.boxSource];
    });
    exported = rows.length;
    await writeCsv(join(out, 'photos.csv'), ['photo_id', 'file', 'original_name', 'encounter_id', 'status', 'individual_id', 'species', 'date', 'latitude', 'longitude', 'observer', 'box', 'box_source'], rows);
    files.push(join(out, 'photos.csv'));
  }
  const decisions = (await store.decisions({})).items;
  await writeCsv(
    join(out, 'decisions.csv'),
    ['id', 'at', 'user', 'action', 'encounter_id', 'individual_id', 'undone_by', 'before', 'after'],
    decisions.map((d) => [String(d.id), d.at, d.user, d.action, d.encounterId?.toString() ?? '', d.individualId ?? '', d.undoneBy?.toString() ?? '', JSON.stringify(d.before), JSON.stringify(d.after)]),
  );
  files.push(join(out, 'decisions.csv'));
  return { photos: exported, individuals: individuals.size, decisions: decisions.length, files };
}
