// The page `finprint identify --report` writes: each photo beside the best gallery photo of each of
// its five answers, so that a person can confirm or reject a match by eye, as photo-identification
// catalogues are curated. Thumbnails are inlined, so the page is one file that can be mailed.
import { basename } from 'node:path';
import sharp from 'sharp';
import { orientedSize } from '../data/image.js';
import type { Box } from '../data/crop.js';
import { writePage, type Section } from './html.js';

export interface PhotoMatches {
  photo: string;
  species: readonly { species: string; probability: number }[];
  individuals: readonly { id: string; similarity: number | null; gallery_photo: string | null; mirrored: boolean }[];
}

/** Longest side of a thumbnail, in pixels. */
const THUMB = 200;

/**
 * A JPEG thumbnail as a data: URI, with the crop box outlined when the run trained on crops, and
 * flipped when the match was with the photo's mirror image; or why the photo cannot be shown.
 */
async function thumbnail(path: string, mirrored: boolean, box: Box | undefined): Promise<{ src: string } | { problem: string }> {
  try {
    const small = await sharp(path).rotate().resize(THUMB, THUMB, { fit: 'inside' }).toBuffer({ resolveWithObject: true });
    let img = sharp(small.data);
    if (box) {
      // Boxes are in pixels of the oriented photo; the outline is drawn at thumbnail scale.
      const k = small.info.width / (await orientedSize(path)).width;
      const [x, y, w, h] = [box.x0 * k, box.y0 * k, (box.x1 - box.x0) * k, (box.y1 - box.y0) * k];
      const svg = `<svg width="${small.info.width}" height="${small.info.height}"><rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#ffd400" stroke-width="2"/></svg>`;
      img = sharp(await img.composite([{ input: Buffer.from(svg) }]).toBuffer());
    }
    const jpeg = await (mirrored ? img.flop() : img).jpeg({ quality: 80 }).toBuffer();
    return { src: `data:image/jpeg;base64,${jpeg.toString('base64')}` };
  } catch (e) {
    return { problem: `cannot show ${basename(path)}: ${(e as Error).message}` };
  }
}

async function picture(path: string, mirrored: boolean, box: Box | undefined, lines: string[]): Promise<{ src?: string; caption: string }> {
  const t = await thumbnail(path, mirrored, box);
  return 'src' in t ? { src: t.src, caption: lines.join('\n') } : { caption: [...lines, t.problem].join('\n') };
}

/** `boxes`: crop boxes by image name, for a run trained on crops. */
export async function writeMatchesReport(path: string, run: string, threshold: number, results: readonly PhotoMatches[], boxes?: ReadonlyMap<string, Box>): Promise<void> {
  const boxOf = (photo: string): Box | undefined => boxes?.get(basename(photo));
  const sections: Section[] = [];
  for (const r of results) {
    const species = r.species.map((s) => `${s.species} ${(s.probability * 100).toFixed(1)}%`).join(', ');
    const items = [await picture(r.photo, false, boxOf(r.photo), [`photo ${basename(r.photo)}`, species])];
    for (const [k, c] of r.individuals.entries()) {
      const lines = [`${k + 1}. ${c.id}`];
      if (c.similarity === null) lines.push(`the answers after it score under ${threshold.toFixed(3)}`);
      else lines.push(`score ${c.similarity.toFixed(3)}`);
      if (c.gallery_photo === null) {
        items.push({ caption: lines.join('\n') });
        continue;
      }
      lines.push(`${basename(c.gallery_photo)}${c.mirrored ? ' (mirrored)' : ''}`);
      items.push(await picture(c.gallery_photo, c.mirrored, boxOf(c.gallery_photo), lines));
    }
    sections.push({ title: basename(r.photo), blocks: [{ kind: 'images', items }] });
  }
  await writePage(path, { title: 'finprint identify', subtitle: `run ${run}; new_individual threshold ${threshold.toFixed(3)}`, sections });
}
