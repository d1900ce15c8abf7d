// What turns photos into catalogue embeddings: a trained model (and, where there is one, a detector
// that finds the animal's box first). Its version is the model's digest: embeddings of one version
// are only ever compared with embeddings of the same version.
import type { Box } from '../data/crop.js';
import { toPixels } from '../detect/decode.js';
import type { Detector } from '../detect/detector.js';
import { embedPhotos } from '../identify/embed.js';
import type { TrainedModel } from '../identify/model.js';

export interface PhotoEmbedder {
  /** The model version (its weights' digest). */
  readonly version: string;
  readonly dim: number;
  /** Unit embeddings of the photos (null where a photo cannot be read, with the reason). */
  embed(photos: readonly { path: string; box: Box | null }[], options?: { quiet?: boolean; label?: string }): Promise<{ vectors: (Float32Array | null)[]; problems: Map<number, string> }>;
  /** The animal's box in each photo, where a detector finds one scoring at least its minimum (else null). */
  detect?(photos: readonly { path: string; width: number; height: number }[]): Promise<(Box | null)[]>;
}

/** An embedder over a trained model, with an optional detector for photos that come without a box. */
export function modelEmbedder(trained: TrainedModel, version: string, dim: number, detector?: { detector: Detector; minScore: number }): PhotoEmbedder {
  return {
    version,
    dim,
    async embed(photos, options = {}) {
      const e = await embedPhotos(trained, photos.map((p) => ({ path: p.path, ...(p.box ? { box: p.box } : {}) })), { skipUnreadable: true, quiet: options.quiet ?? true, label: options.label ?? 'embed' });
      const problems = new Map(e.unreadable.map((u) => [u.index, u.reason]));
      const vectors = photos.map((_, i) => (problems.has(i) ? null : e.embedding.slice(i * e.dim, (i + 1) * e.dim)));
      return { vectors, problems };
    },
    ...(detector
      ? {
          async detect(photos: readonly { path: string; width: number; height: number }[]) {
            const found = await detector.detector.detect(photos.map((p) => p.path), { quiet: true });
            return found.map((d, i) => (d.score >= detector.minScore ? toPixels({ x0: d.x0, y0: d.y0, x1: d.x1, y1: d.y1 }, photos[i]!) : null));
          },
        }
      : {}),
  };
}
