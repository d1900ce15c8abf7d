// `finprint crop`: the detector's box for every photo of some folders, in pixels of the original
// photo, written as a box file (image,x0,y0,x1,y1,score,label) that `train --crops` reads.
// Photos whose box scores under minScore get no row: training and prediction then both use them
// whole, since both read the same file.
import { writeBoxFile, type BoxRecord } from '../data/boxes.js';
import { checkNumber, invalidParameterError } from '../util/check.js';
import { listPhotos, photoSizes, type Photo } from './data.js';
import { toPixels } from './decode.js';
import { Detector } from './detector.js';

export interface CropSummary {
  photos: number;
  written: number;
  /** Photos without a row (their box scored under minScore, or came out empty): used whole. */
  whole: number;
}

export async function writePredictedBoxes(detectorDir: string, folders: readonly string[], out: string, options: { minScore: number; batchSize?: number; workers?: number; quiet?: boolean }): Promise<CropSummary> {
  checkNumber('minScore', options.minScore, 0, 1);
  if (folders.length === 0) throw invalidParameterError('folders', 'at least one folder of photos', folders);
  const photos: Photo[] = [];
  const seen = new Map<string, string>();
  for (const folder of folders) {
    for (const p of await listPhotos(folder)) {
      // Box files are keyed by image name: two photos of one name would share a row.
      const other = seen.get(p.image);
      if (other !== undefined) throw new Error(`crop: ${p.image} is in both ${other} and ${folder}; box files key photos by name`);
      seen.set(p.image, folder);
      photos.push(p);
    }
  }
  if (photos.length === 0) throw new Error(`crop: no photos (.jpg, .jpeg, .png, .webp) in ${folders.join(', ')}`);
  const detector = await Detector.open(detectorDir);
  // A photo that cannot be read gets no row, so it is used whole.
  const sizes = await photoSizes(photos, (m) => process.stderr.write(`crop: ${m} (used whole)\n`));
  const readable = photos.filter((p) => sizes.has(p.image));
  const found = await detector.detect(readable.map((p) => p.path), { batchSize: options.batchSize ?? 32, ...(options.workers ? { concurrency: options.workers } : {}), quiet: options.quiet ?? false, progressLabel: 'crop' });
  const boxes = new Map<string, BoxRecord>();
  readable.forEach((p, i) => {
    const d = found[i]!;
    if (d.score < options.minScore || d.x1 <= d.x0 || d.y1 <= d.y0) return;
    boxes.set(p.image, { ...toPixels(d, sizes.get(p.image)!), ...(detector.info.label !== null ? { label: detector.info.label } : {}) });
  });
  await writeBoxFile(out, boxes);
  return { photos: photos.length, written: boxes.size, whole: photos.length - boxes.size };
}
