// Learning-rate schedules, as torch.optim.lr_scheduler. Each computes the LR in closed form from
// the step count and each group's base LR, so a schedule resumes exactly from its state dict.
// A schedule counts in whatever unit step() is called for: once per batch (per-step schedules)
// or once per epoch.
import { checkInteger, checkNumber, checkOneOf, checkPositive, invalidParameterError } from '../util/check.js';
import type { Hyper, Optimizer, ParamGroup } from './optimizer.js';

/** A scheduler's state dict: plain JSON. */
export interface LRSchedulerState {
  lastEpoch: number;
  baseLrs: number[];
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer<Hyper>;
  /** Each group's reference LR, which the schedule multiplies (the peak for OneCycleLR). */
  baseLrs: number[];
  /** step() calls so far (PyTorch's last_epoch); the LR in effect is the schedule's value here. */
  lastEpoch = 0;
  private lastLr: number[] = [];

  /** Subclasses call apply() at the end of their constructor to set the LR of step 0. */
  protected constructor(optimizer: Optimizer<Hyper>, baseLrs: readonly number[] = optimizer.getLr()) {
    this.optimizer = optimizer;
    if (baseLrs.length !== optimizer.paramGroups.length) throw invalidParameterError(`${this.constructor.name}.baseLrs`, `${optimizer.paramGroups.length} base learning rates (one per parameter group)`, baseLrs);
    this.baseLrs = baseLrs.map((v, i) => checkNumber(`baseLrs[${i}]`, v, 0));
  }

  /** The schedule's LR at step t for a group whose base LR is baseLr. */
  protected abstract lrAt(t: number, baseLr: number): number;

  /** Advances the schedule by one step (or epoch) and sets the optimizer's LRs. */
  step(): void {
    this.lastEpoch += 1;
    this.apply();
  }

  /** The LRs this scheduler last set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /**
   * Multiplies the whole schedule by factor from now on (the current LR included): how a
   * ReduceLROnPlateau-style callback lowers the LR of a scheduled run. Without a scheduler, set
   * the LR on the optimizer (setLr or paramGroups[i].lr) instead.
   */
  scaleLr(factor: number): void {
    checkNumber('factor', factor, 0);
    this.baseLrs = this.baseLrs.map((v) => v * factor);
    this.apply();
  }

  stateDict(): LRSchedulerState {
    return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] };
  }

  /** Restores the position and base LRs, and sets the optimizer's LRs for that position. */
  loadStateDict(state: LRSchedulerState): void {
    if (state.baseLrs.length !== this.baseLrs.length) throw new RangeError(`${this.constructor.name}.loadStateDict: ${state.baseLrs.length} base LRs for ${this.baseLrs.length} groups`);
    this.lastEpoch = checkInteger('lastEpoch', state.lastEpoch, 0);
    this.baseLrs = [...state.baseLrs];
    this.apply();
  }

  protected apply(): void {
    this.lastLr = this.baseLrs.map((base) => this.lrAt(this.lastEpoch, base));
    this.optimizer.setLr(this.lastLr);
  }
}

/** Multiplies the LR by gamma every stepSize steps. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<Hyper>, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    this.stepSize = checkInteger('stepSize', options.stepSize, 1);
    this.gamma = checkNumber('gamma', options.gamma ?? 0.1, 0);
    this.apply();
  }

  protected override lrAt(t: number, base: number): number {
    return base * this.gamma ** Math.floor(t / this.stepSize);
  }
}

/** Multiplies the LR by gamma at each milestone step (a milestone listed twice counts twice). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer<Hyper>, options: { milestones: number[]; gamma?: number }) {
    super(optimizer);
    this.milestones = options.milestones.map((m, i) => checkInteger(`milestones[${i}]`, m, 0)).sort((a, b) => a - b);
    this.gamma = checkNumber('gamma', options.gamma ?? 0.1, 0);
    this.apply();
  }

  protected override lrAt(t: number, base: number): number {
    return base * this.gamma ** this.milestones.filter((m) => m <= t).length;
  }
}

export interface WarmupCosineOptions {
  /** Steps of linear warmup from warmupStartFactor * base LR up to the base LR. */
  warmupSteps?: number;
  /** Length of the whole schedule, warmup included; the LR stays at minLr after it. */
  totalSteps: number;
  warmupStartFactor?: number;
  /** The LR the cosine decays to (absolute, as PyTorch's eta_min). */
  minLr?: number;
}

/**
 * Linear warmup, then cosine annealing (PyTorch's CosineAnnealingLR over the remaining steps):
 * lr(t) = base * (f + (1 - f) * t / w) for t < w, then
 * lr(t) = minLr + (base - minLr) * (1 + cos(π (t - w) / (total - w))) / 2.
 */
export class WarmupCosineLR extends LRScheduler {
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly warmupStartFactor: number;
  readonly minLr: number;

  constructor(optimizer: Optimizer<Hyper>, options: WarmupCosineOptions) {
    super(optimizer);
    this.totalSteps = checkInteger('totalSteps', options.totalSteps, 1);
    this.warmupSteps = checkInteger('warmupSteps', options.warmupSteps ?? 0, 0, this.totalSteps - 1);
    this.warmupStartFactor = checkNumber('warmupStartFactor', options.warmupStartFactor ?? 0, 0, 1);
    this.minLr = checkNumber('minLr', options.minLr ?? 0, 0);
    this.apply();
  }

  protected override lrAt(t: number, base: number): number {
    const w = this.warmupSteps;
    if (t < w) return base * (this.warmupStartFactor + ((1 - this.warmupStartFactor) * t) / w);
    const progress = Math.min(1, (t - w) / (this.totalSteps - w));
    return this.minLr + ((base - this.minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
  }
}

export interface OneCycleOptions {
  /** The peak LR, for all groups or one per group; it becomes the schedule's base LR. */
  maxLr: number | number[];
  /** Schedule length; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the steps spent raising the LR. */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's momentum, Adam's beta1) inversely to the LR. */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  /** Initial LR = maxLr / divFactor. */
  divFactor?: number;
  /** Final LR = initial LR / finalDivFactor. */
  finalDivFactor?: number;
  /** Come back down to the initial LR before annealing to the final one (fastai's variant). */
  threePhase?: boolean;
}

type Phase = { end: number; lr: ['initial' | 'max' | 'min', 'initial' | 'max' | 'min']; momentum: ['base' | 'max', 'base' | 'max'] };

/** The 1cycle policy of Smith & Topin, exactly as PyTorch's OneCycleLR (momentum cycling included). */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  readonly baseMomentum: number;
  readonly maxMomentum: number;
  readonly divFactor: number;
  readonly finalDivFactor: number;
  private readonly phases: Phase[];

  constructor(optimizer: Optimizer<Hyper>, options: OneCycleOptions) {
    const groups = optimizer.paramGroups.length;
    const maxLrs = typeof options.maxLr === 'number' ? Array<number>(groups).fill(options.maxLr) : options.maxLr;
    super(optimizer, maxLrs);
    this.totalSteps = options.totalSteps !== undefined
      ? checkInteger('totalSteps', options.totalSteps, 1)
      : checkInteger('epochs', options.epochs, 1) * checkInteger('stepsPerEpoch', options.stepsPerEpoch, 1);
    const pct = checkNumber('pctStart', options.pctStart ?? 0.3, 0, 1);
    this.annealStrategy = checkOneOf('annealStrategy', options.annealStrategy ?? 'cos', ['cos', 'linear']);
    this.cycleMomentum = options.cycleMomentum ?? true;
    this.baseMomentum = checkNumber('baseMomentum', options.baseMomentum ?? 0.85, 0);
    this.maxMomentum = checkNumber('maxMomentum', options.maxMomentum ?? 0.95, 0);
    this.divFactor = checkPositive('divFactor', options.divFactor ?? 25);
    this.finalDivFactor = checkPositive('finalDivFactor', options.finalDivFactor ?? 1e4);
    const n = this.totalSteps;
    this.phases = options.threePhase
      ? [
          { end: pct * n - 1, lr: ['initial', 'max'], momentum: ['max', 'base'] },
          { end: 2 * pct * n - 2, lr: ['max', 'initial'], momentum: ['base', 'max'] },
          { end: n - 1, lr: ['initial', 'min'], momentum: ['max', 'max'] },
        ]
      : [
          { end: pct * n - 1, lr: ['initial', 'max'], momentum: ['max', 'base'] },
          { end: n - 1, lr: ['max', 'min'], momentum: ['base', 'max'] },
        ];
    if (this.cycleMomentum && optimizer.paramGroups.some((g) => !('betas' in g) && !('momentum' in g))) {
      throw invalidParameterError('OneCycleLR.cycleMomentum', 'false with an optimizer that has neither momentum nor betas', this.cycleMomentum);
    }
    this.apply();
  }

  /**
   * The phase step t is in and how far through it, as PyTorch looks it up; except that at
   * t = totalSteps (the step() after the last batch) PyTorch extrapolates past the final LR, which
   * turns negative under linear annealing, so progress stops at the end of the last phase.
   */
  private locate(t: number): { phase: Phase; pct: number } {
    if (t > this.totalSteps) throw new RangeError(`OneCycleLR: tried to step ${t} times; the schedule has ${this.totalSteps} steps`);
    let i = 0;
    while (i < this.phases.length - 1 && t > this.phases[i]!.end) i++;
    const start = i === 0 ? 0 : this.phases[i - 1]!.end;
    const phase = this.phases[i]!;
    return { phase, pct: Math.min(1, (t - start) / (phase.end - start)) };
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  protected override lrAt(t: number, maxLr: number): number {
    const initial = maxLr / this.divFactor;
    const value = { initial, max: maxLr, min: initial / this.finalDivFactor };
    const { phase, pct } = this.locate(t);
    return this.anneal(value[phase.lr[0]], value[phase.lr[1]], pct);
  }

  protected override apply(): void {
    super.apply();
    if (!this.cycleMomentum) return;
    const value = { base: this.baseMomentum, max: this.maxMomentum };
    const { phase, pct } = this.locate(this.lastEpoch);
    const m = this.anneal(value[phase.momentum[0]], value[phase.momentum[1]], pct);
    for (const g of this.optimizer.paramGroups as (ParamGroup & { betas?: [number, number]; momentum?: number })[]) {
      if (g.betas) g.betas = [m, g.betas[1]];
      else g.momentum = m;
    }
  }
}
