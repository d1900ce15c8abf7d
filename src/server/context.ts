// What the route modules share: the open catalogue, whether tokens are required, the uploads'
// queue, embedder and limits, the page's folder.
import type { Catalogue } from '../catalogue/catalogue.js';
import type { PhotoEmbedder } from '../catalogue/embedder.js';
import type { PhotoLimits } from '../catalogue/photos.js';
import type { Serial } from './serial.js';

export interface ServerContext {
  catalogue: Catalogue;
  requireTokens: boolean;
  /** Uploads, one at a time. */
  uploads: Serial;
  /** The upload embedder, made once. */
  embedder(): Promise<PhotoEmbedder>;
  limits: PhotoLimits & { maxFiles: number };
  webDir: string;
  /** Where the field page is offered beside the review page ('/field/'), or null. */
  fieldPage: string | null;
}
