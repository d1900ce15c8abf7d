import type { Limiter } from '../util/pool.js';
import type { Rng } from '../util/random.js';
import { augment, resolveAugment, type AugmentSpec, type ResolvedAugment } from './augment.js';
import { ResizeCache } from './cache.js';
import { checkBox, decodeResized, resolveResize, type RawImage, type ResizeSpec, type ResolvedResize } from './image.js';
import type { Box } from './crop.js';
import { IMAGENET, makeNormalizer, type Normalization } from './normalize.js';

/** One photo to load, with its optional box and integer labels (e.g. species, individual). */
export interface Sample {
  path: string;
  box?: Box;
  labels?: Record<string, number>;
}

/**
 * A batch as plain data, ready to become an engine tensor: NCHW float32 pixels, the source paths,
 * and one Int32Array per label name (-1 where a sample has no such label).
 */
export interface Batch {
  data: Float32Array;
  shape: [number, number, number, number];
  paths: string[];
  labels: Record<string, Int32Array>;
  /** Samples that could not be loaded (their rows are zeros), when the batch was asked to skip them. */
  unreadable?: { index: number; reason: string }[];
}

export interface PipelineOptions extends ResizeSpec {
  /** Normalisation (default ImageNet); a model's pretrained config can be passed as is. */
  mean?: Normalization['mean'];
  std?: Normalization['std'];
  /** Augmentations used when a sample is loaded with an Rng (training). */
  augment?: AugmentSpec;
  /** Folder for the resized-image cache; no caching when absent. */
  cacheDir?: string;
}

/** Photo -> resized RGB (cached) -> augmented (training) -> normalised NCHW batch. */
export class ImagePipeline {
  readonly resize: ResolvedResize;
  readonly augment: ResolvedAugment | undefined;
  readonly cache: ResizeCache | undefined;
  private readonly normalize: (img: RawImage, out: Float32Array, offset: number) => void;

  constructor(options: PipelineOptions) {
    const mean = options.mean ?? IMAGENET.mean;
    this.normalize = makeNormalizer({ mean, std: options.std ?? IMAGENET.std });
    // Padding defaults to the mean colour, which normalises to zero.
    const meanColour = mean.map((m) => Math.round(m * 255)) as unknown as [number, number, number];
    this.resize = resolveResize({ ...options, background: options.background ?? meanColour });
    this.augment = options.augment ? resolveAugment({ background: this.resize.background, ...options.augment }) : undefined;
    this.cache = options.cacheDir !== undefined ? new ResizeCache(options.cacheDir) : undefined;
  }

  get height(): number {
    return this.resize.height;
  }

  get width(): number {
    return this.resize.width;
  }

  /** The photo at the target size; augmented when an Rng is given and augmentations are configured. */
  async image(sample: Sample, rng?: Rng): Promise<RawImage> {
    if (sample.box) checkBox(sample.box);
    const decode = (): Promise<RawImage> => decodeResized(sample.path, this.resize, sample.box);
    let img: RawImage;
    try {
      img = this.cache ? await this.cache.load(sample.path, this.resize, sample.box, decode) : await decode();
    } catch (err) {
      throw new Error(`cannot load ${sample.path}: ${(err as Error).message}`);
    }
    return rng && this.augment ? augment(img, this.augment, rng) : img;
  }

  /**
   * Load and normalise samples into one batch. `rngFor(i)` gives sample i its augmentation stream;
   * `limit` bounds how many photos decode at once (shared across batches by the loader).
   * `skipUnreadable`: a photo that cannot be loaded leaves zeros and is listed in `unreadable`
   * instead of failing the batch.
   */
  async batch(samples: readonly Sample[], rngFor?: (i: number) => Rng | undefined, limit?: Limiter, skipUnreadable = false): Promise<Batch> {
    const { height: h, width: w } = this;
    const data = new Float32Array(samples.length * 3 * h * w);
    const run = limit ?? (<R>(task: () => Promise<R>) => task());
    const unreadable: { index: number; reason: string }[] = [];
    const load = async (s: Sample, i: number): Promise<void> => {
      try {
        this.normalize(await this.image(s, rngFor?.(i)), data, i * 3 * h * w);
      } catch (err) {
        if (!skipUnreadable) throw err;
        unreadable.push({ index: i, reason: (err as Error).message });
      }
    };
    await Promise.all(samples.map((s, i) => run(() => load(s, i))));
    const labels: Record<string, Int32Array> = {};
    for (const name of new Set(samples.flatMap((s) => Object.keys(s.labels ?? {})))) {
      labels[name] = Int32Array.from(samples, (s) => s.labels?.[name] ?? -1);
    }
    return { data, shape: [samples.length, 3, h, w], paths: samples.map((s) => s.path), labels, ...(skipUnreadable ? { unreadable: unreadable.sort((a, b) => a.index - b.index) } : {}) };
  }
}
