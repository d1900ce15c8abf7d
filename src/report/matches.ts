// The page `finprint identify --report` writes: each photo beside the best gallery photo of each of
// its five answers, so that a person can confirm or reject a match by eye, as photo-identification
// catalogues are curated. Thumbnails are inlined, so the page is one file that can be mailed.
import { basename } from 'node:path';
import sharp from 'sharp';
import { writePage, type Section } from './html.js';

export interface PhotoMatches {
  photo: string;
  species: readonly { species: string; probability: number }[];
  individuals: readonly { id: string; similarity: number | null; gallery_photo: string | null; mirrored: boolean }[];
}

/** Longest side of a thumbnail, in pixels. */
const THUMB = 200;

/** A JPEG thumbnail as a data: URI, flipped when the match was with the photo's mirror image, or why the photo cannot be shown. */
async function thumbnail(path: string, mirrored: boolean): Promise<{ src: string } | { problem: string }> {
  try {
    const img = sharp(path).rotate().resize(THUMB, THUMB, { fit: 'inside' });
    const jpeg = await (mirrored ? img.flop() : img).jpeg({ quality: 80 }).toBuffer();
    return { src: `data:image/jpeg;base64,${jpeg.toString('base64')}` };
  } catch (e) {
    return { problem: `cannot show ${basename(path)}: ${(e as Error).message}` };
  }
}

async function picture(path: string, mirrored: boolean, lines: string[]): Promise<{ src?: string; caption: string }> {
  const t = await thumbnail(path, mirrored);
  return 'src' in t ? { src: t.src, caption: lines.join('\n') } : { caption: [...lines, t.problem].join('\n') };
}

export async function writeMatchesReport(path: string, run: string, threshold: number, results: readonly PhotoMatches[]): Promise<void> {
  const sections: Section[] = [];
  for (const r of results) {
    const species = r.species.map((s) => `${s.species} ${(s.probability * 100).toFixed(1)}%`).join(', ');
    const items = [await picture(r.photo, false, [`photo ${basename(r.photo)}`, species])];
    for (const [k, c] of r.individuals.entries()) {
      const lines = [`${k + 1}. ${c.id}`];
      if (c.similarity === null) lines.push(`the answers after it score under ${threshold.toFixed(3)}`);
      else lines.push(`score ${c.similarity.toFixed(3)}`);
      if (c.gallery_photo === null) {
        items.push({ caption: lines.join('\n') });
        continue;
      }
      lines.push(`${basename(c.gallery_photo)}${c.mirrored ? ' (mirrored)' : ''}`);
      items.push(await picture(c.gallery_photo, c.mirrored, lines));
    }
    sections.push({ title: basename(r.photo), blocks: [{ kind: 'images', items }] });
  }
  await writePage(path, { title: 'finprint identify', subtitle: `run ${run}; new_individual threshold ${threshold.toFixed(3)}`, sections });
}
