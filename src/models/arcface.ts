// Metric-learning heads for identification, as the Happywhale and Google Landmark winners used them:
// ArcFace (Deng et al. 2019) with optional sub-centres (Deng et al. 2020) and per-class dynamic
// margins (Ha et al. 2020), and a joint head that adds a species classifier on the same embedding.
import { Linear, Module, init } from '../nn/index.js';
import { F, tensor, tidy, zeros, type Tensor } from '../torch/index.js';
import { checkInteger, checkNumber, invalidParameterError } from '../util/check.js';
import { EmbeddingNeck, type EmbeddingNeckOptions } from './heads.js';
import { batchHardTriplet } from './triplet.js';

export interface DynamicMarginOptions {
  /** Scale of the count term (default 0.45: a class seen once gets a + b = 0.5). */
  a?: number;
  /** Floor the margins approach for frequent classes (default 0.05). */
  b?: number;
  /** Decay with the class count (default 0.25, as in the GLR 2020 winning solution). */
  lambda?: number;
}

/**
 * Per-class margins m_c = a * n_c^(-lambda) + b from the class counts n_c: rare individuals get a
 * large margin, which the winners found to cope with the long tail of sightings per individual.
 */
export function dynamicMargins(counts: readonly number[], options: DynamicMarginOptions = {}): number[] {
  if (!Array.isArray(counts) || counts.length === 0) throw invalidParameterError('counts', 'a non-empty array of class counts', counts);
  const a = checkNumber('a', options.a ?? 0.45, 0);
  const b = checkNumber('b', options.b ?? 0.05, 0);
  const lambda = checkNumber('lambda', options.lambda ?? 0.25, 0);
  return counts.map((n, c) => a * checkInteger(`counts[${c}]`, n, 1) ** -lambda + b);
}

export interface ArcFaceOptions {
  /** Scale of the logits (default 30). */
  s?: number;
  /** Additive angular margin in radians, the same for every class (default 0.5). */
  m?: number;
  /** Per-class margins (e.g. from dynamicMargins), instead of m. */
  margins?: readonly number[];
  /**
   * Apply the margin only where cos(theta) > 0 (the "easy margin"); otherwise, past theta = pi - m,
   * where cos(theta + m) stops decreasing, use cos(theta) - m sin(m) to keep the logit monotonic.
   */
  easyMargin?: boolean;
  /** Sub-centres per class, k (default 1: plain ArcFace); the class cosine is the max over them. */
  subCenters?: number;
}

/**
 * Normalised weights W [numClasses * k, in] (row c*k + j is centre j of class c, the layout of the
 * reference ArcMarginProduct_subcenter, so its checkpoints load). forward(embedding, labels) gives
 * s * cos(theta + m_y) at each sample's own class and s * cos(theta) elsewhere, for cross entropy;
 * forward(embedding) gives s * cos(theta) for every class, without margin (inference). The margins
 * are a non-persistent buffer: hyper-parameters from the training set-up, not learned state, so the
 * state dict is just `weight`.
 */
export class ArcFaceHead extends Module {
  readonly numClasses: number;
  readonly subCenters: number;
  readonly s: number;
  readonly easyMargin: boolean;
  readonly weight: Tensor;
  /** [numClasses] margins in radians. */
  readonly margins: Tensor;

  constructor(inFeatures: number, numClasses: number, options: ArcFaceOptions = {}) {
    super();
    checkInteger('inFeatures', inFeatures, 1);
    this.numClasses = checkInteger('numClasses', numClasses, 1);
    this.subCenters = checkInteger('subCenters', options.subCenters ?? 1, 1);
    this.s = checkNumber('s', options.s ?? 30, Number.EPSILON);
    this.easyMargin = options.easyMargin ?? false;
    this.weight = this.registerParameter('weight', zeros([numClasses * this.subCenters, inFeatures]));
    init.xavierUniform_(this.weight);
    this.margins = this.registerBuffer('margins', tensor(marginList(numClasses, options)), { persistent: false });
  }

  /** cos(theta) [B, numClasses] between the embeddings and each class's closest centre. */
  cosine(embedding: Tensor): Tensor {
    if (embedding.ndim !== 2) throw new RangeError(`ArcFaceHead: expected embeddings [B, features], got shape [${embedding.shape.join(', ')}]`);
    return tidy(() => {
      const all = F.linear(F.normalize(embedding), F.normalize(this.weight));
      return all.view(embedding.size(0), this.numClasses, this.subCenters).amax(2);
    });
  }

  /** Scaled logits [B, numClasses]; with labels (int64 [B]) the margin is added at each label. */
  override forward(embedding: Tensor, labels?: Tensor): Tensor {
    return tidy(() => {
      const cos = this.cosine(embedding);
      if (!labels) return cos.mul(this.s);
      const index = checkLabels(labels, embedding.size(0), 'ArcFaceHead').unsqueeze(1);
      return cos.scatter(1, index, this.marginCos(cos.gather(1, index), this.margins.gather(0, labels).unsqueeze(1))).mul(this.s);
    });
  }

  /** cos(theta + m) = cos cos m - sin sin m, with the easy-margin or monotonic fallback. */
  private marginCos(cos: Tensor, m: Tensor): Tensor {
    // sin from cos; clamped away from 0 so sqrt's gradient stays finite at cos = ±1.
    const sin = cos.mul(cos).rsub(1).clamp(1e-12).sqrt();
    const phi = cos.mul(m.cos()).sub(sin.mul(m.sin()));
    if (this.easyMargin) return phi.where(cos.gt(0), cos);
    // th = cos(pi - m) = -cos m; past it, cos - sin(pi - m) m = cos - m sin m.
    return phi.where(cos.gt(m.cos().neg()), cos.sub(m.sin().mul(m)));
  }
}

function marginList(numClasses: number, options: ArcFaceOptions): number[] {
  if (options.margins === undefined) return new Array<number>(numClasses).fill(checkNumber('m', options.m ?? 0.5, 0, Math.PI / 2));
  if (options.m !== undefined) throw invalidParameterError('m', 'no m with margins (give m or margins, not both)', options.m);
  if (!Array.isArray(options.margins) || options.margins.length !== numClasses) {
    throw invalidParameterError('margins', `an array of ${numClasses} margins (one per class)`, options.margins);
  }
  return options.margins.map((m, c) => checkNumber(`margins[${c}]`, m, 0, Math.PI / 2));
}

function checkLabels(labels: Tensor, batch: number, where: string): Tensor {
  if (labels.dtype !== 'int64' || labels.ndim !== 1 || labels.size(0) !== batch) {
    throw new TypeError(`${where}: labels must be int64 [${batch}] (one class index per embedding), got ${labels.toString()}`);
  }
  return labels;
}

export interface JointHeadOptions {
  /** The embedding neck (GeM -> Linear -> BatchNorm1d -> L2). */
  neck?: EmbeddingNeckOptions;
  /** The individual ArcFace head. */
  arcface?: ArcFaceOptions;
  /** Weight of the individual loss (default 1). */
  individualWeight?: number;
  /** Weight of the species loss (default 1). */
  speciesWeight?: number;
  /** Weight of a batch-hard triplet loss on the embedding (default 0: none). */
  tripletWeight?: number;
  /** Its margin in cosine distance (default 0.3). */
  tripletMargin?: number;
}

export interface JointOutput {
  /** Unit-norm embeddings [B, embeddingDim], what gallery search compares. */
  embedding: Tensor;
  /** ArcFace logits [B, individuals] (margin-adjusted when labels were given). */
  individual: Tensor;
  /** Species logits [B, species]. */
  species: Tensor;
}

export interface JointLoss {
  /** individualWeight * individual + speciesWeight * species (+ tripletWeight * triplet). */
  loss: Tensor;
  individual: Tensor;
  species: Tensor;
  /** Present when the head has a triplet weight. */
  triplet?: Tensor;
}

/**
 * Everything above the backbone for identification: an embedding neck, then on that same
 * embedding an individual ArcFace head and a species softmax head (a Linear layer), trained with
 * loss = w_id * CE(arcface) + w_species * CE(species). The species task gives every photo a
 * label with many examples, which steadies the embedding while individuals have few.
 */
export class JointHead extends Module<[Tensor, Tensor?], JointOutput> {
  readonly neck: EmbeddingNeck;
  readonly individual: ArcFaceHead;
  readonly species: Linear;
  readonly individualWeight: number;
  readonly speciesWeight: number;
  readonly tripletWeight: number;
  readonly tripletMargin: number;

  constructor(inFeatures: number, numIndividuals: number, numSpecies: number, options: JointHeadOptions = {}) {
    super();
    checkInteger('numSpecies', numSpecies, 1);
    this.neck = this.registerModule('neck', new EmbeddingNeck(inFeatures, options.neck));
    this.individual = this.registerModule('individual', new ArcFaceHead(this.neck.embeddingDim, numIndividuals, options.arcface));
    this.species = this.registerModule('species', new Linear(this.neck.embeddingDim, numSpecies));
    this.individualWeight = checkNumber('individualWeight', options.individualWeight ?? 1, 0);
    this.speciesWeight = checkNumber('speciesWeight', options.speciesWeight ?? 1, 0);
    this.tripletWeight = checkNumber('tripletWeight', options.tripletWeight ?? 0, 0);
    this.tripletMargin = checkNumber('tripletMargin', options.tripletMargin ?? 0.3, 0);
  }

  /** From backbone features; individual labels (int64 [B]) switch the ArcFace margin on. */
  override forward(features: Tensor, individualLabels?: Tensor): JointOutput {
    return tidy(() => {
      // The species head reads the embedding before normalisation: on unit vectors a Linear layer's
      // logits start tiny and the species loss barely moves from its initial value.
      const projected = this.neck.project(features);
      const embedding = F.normalize(projected);
      return { embedding, individual: this.individual.forward(embedding, individualLabels), species: this.species.forward(projected) };
    });
  }

  /** The weighted joint loss and its two parts, from forward's output and int64 [B] targets. */
  loss(output: JointOutput, targets: { individual: Tensor; species: Tensor }): JointLoss {
    return tidy(() => {
      const batch = output.embedding.size(0);
      const individual = F.crossEntropy(output.individual, checkLabels(targets.individual, batch, 'JointHead.loss individual'));
      const species = F.crossEntropy(output.species, checkLabels(targets.species, batch, 'JointHead.loss species'));
      const loss = individual.mul(this.individualWeight).add(species.mul(this.speciesWeight));
      if (this.tripletWeight === 0) return { loss, individual, species };
      const triplet = batchHardTriplet(output.embedding, targets.individual, this.tripletMargin);
      return { loss: loss.add(triplet.mul(this.tripletWeight)), individual, species, triplet };
    });
  }
}
