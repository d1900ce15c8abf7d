/**
 * What each species looks like to the generator: the silhouette (dorsal fin on a back, or a raised
 * tail fluke), colours and a species-wide pattern. Shapes are fixed per species: two individuals
 * of one species differ only in their identity marks (see marks.ts).
 */

/** A dorsal fin on a back arc. Fin sizes are in units of the fin height `fin`; body sizes in absolute units. */
export interface DorsalShape {
  kind: 'dorsal';
  /** Fin height (1 for a typical dolphin; near 0 for finless backs). */
  fin: number;
  /** Fin base length and tip offset from the base's front, as multiples of the fin height. */
  base: number;
  tip: number;
  /** 0: straight leading edge, 1: strongly convex (rounded tip). */
  convex: number;
  /** Concavity of the trailing edge (falcate fins); negative bulges it outward. */
  falcate: number;
  /** Visible body length and height above water. */
  length: number;
  hump: number;
  /** Where the fin sits along the body, -0.5 (head) .. 0.5 (tail). */
  finAt: number;
  /** Bumps along the back behind the hump (gray whale "knuckles"). */
  knuckles?: number;
}

/** A tail fluke raised out of the water, seen from behind. */
export interface FlukeShape {
  kind: 'fluke';
  span: number;
  chord: number;
  /** Depth of the central notch, and how far the tips rise above the centre. */
  notch: number;
  rise: number;
  /** Species-wide scalloping of the trailing edge (humpbacks). */
  serration: number;
}

export type PatternKind = 'saddle' | 'cape' | 'stripe' | 'blaze' | 'bicolor' | 'spots' | 'scratches' | 'underside';

export interface Pattern {
  kind: PatternKind;
  colour: string;
  /** spots/scratches: how many; spots: radius range. */
  count?: number;
  radius?: readonly [number, number];
  opacity?: number;
}

export interface Look {
  shape: DorsalShape | FlukeShape;
  colour: string;
  /** Fin colour when it differs from the body (Commerson's dolphin). */
  finColour?: string;
  patterns: readonly Pattern[];
  /** Where identity marks sit: on the fin, on the back (finless species) or on the fluke. */
  markRegion: 'fin' | 'back' | 'fluke';
  /** Relative photo count in the real competition, used to weight species in synthetic sets. */
  share: number;
}

const dorsal = (fin: number, base: number, tip: number, convex: number, falcate: number, length = 2.4, hump = 0.38, finAt = 0, knuckles?: number): DorsalShape =>
  ({ kind: 'dorsal', fin, base, tip, convex, falcate, length, hump, finAt, ...(knuckles ? { knuckles } : {}) });

export const LOOKS: Readonly<Record<string, Look>> = {
  bottlenose_dolphin: { shape: dorsal(1, 0.95, 1.05, 0.6, 0.18), colour: '#6f7680', patterns: [{ kind: 'cape', colour: '#575d66' }], markRegion: 'fin', share: 10781 },
  beluga: { shape: dorsal(0.16, 6, 3, 0.9, 0, 3.0, 0.55, 0.1), colour: '#e4e7e1', patterns: [], markRegion: 'back', share: 7443 },
  humpback_whale: {
    shape: { kind: 'fluke', span: 2.6, chord: 0.62, notch: 0.12, rise: 0.22, serration: 0.025 },
    colour: '#232528', patterns: [{ kind: 'underside', colour: '#d8d8d2' }], markRegion: 'fluke', share: 7392,
  },
  blue_whale: { shape: dorsal(0.35, 1.4, 1.3, 0.5, 0.1, 3.4, 0.4, 0.25), colour: '#5a6b80', patterns: [{ kind: 'spots', colour: '#8a99ab', count: 70, radius: [0.03, 0.08], opacity: 0.7 }], markRegion: 'fin', share: 4830 },
  false_killer_whale: { shape: dorsal(1, 0.9, 1.0, 0.9, 0.22, 2.6, 0.4), colour: '#24272b', patterns: [], markRegion: 'fin', share: 3326 },
  dusky_dolphin: { shape: dorsal(1, 0.9, 0.75, 0.5, 0.12), colour: '#3a3f47', patterns: [{ kind: 'bicolor', colour: '#b9bec4' }, { kind: 'stripe', colour: '#aeb3b9' }], markRegion: 'fin', share: 3139 },
  killer_whale: { shape: dorsal(1.6, 0.5, 0.3, 0.1, -0.02, 3.0, 0.45), colour: '#141619', patterns: [{ kind: 'saddle', colour: '#9aa0a6' }], markRegion: 'fin', share: 2455 },
  spinner_dolphin: { shape: dorsal(0.9, 0.95, 0.55, 0.2, 0), colour: '#7a818b', patterns: [{ kind: 'cape', colour: '#4a5059' }], markRegion: 'fin', share: 1700 },
  melon_headed_whale: { shape: dorsal(0.9, 0.95, 1.05, 0.6, 0.2, 2.6, 0.4), colour: '#2f3237', patterns: [{ kind: 'cape', colour: '#1a1c1f' }], markRegion: 'fin', share: 1689 },
  minke_whale: { shape: dorsal(0.6, 1.0, 0.9, 0.4, 0.15, 3.2, 0.4, 0.2), colour: '#4b5058', patterns: [{ kind: 'blaze', colour: '#a7acb3' }], markRegion: 'fin', share: 1608 },
  fin_whale: { shape: dorsal(0.55, 1.3, 1.45, 0.5, 0.25, 3.4, 0.4, 0.22), colour: '#55595d', patterns: [{ kind: 'blaze', colour: '#bdb8ae' }], markRegion: 'fin', share: 1324 },
  gray_whale: { shape: dorsal(0.15, 5, 2.5, 0.6, 0, 3.2, 0.45, -0.05, 5), colour: '#7c7f80', patterns: [{ kind: 'spots', colour: '#cbc9c2', count: 60, radius: [0.03, 0.09] }], markRegion: 'back', share: 1123 },
  southern_right_whale: { shape: { kind: 'fluke', span: 2.4, chord: 0.72, notch: 0.16, rise: 0.08, serration: 0 }, colour: '#1c1d1f', patterns: [], markRegion: 'fluke', share: 866 },
  short_finned_pilot_whale: { shape: dorsal(0.75, 1.45, 1.3, 0.85, 0.2, 2.8, 0.45), colour: '#1e2023', patterns: [{ kind: 'saddle', colour: '#5f646a' }], markRegion: 'fin', share: 745 },
  spotted_dolphin: { shape: dorsal(1, 0.8, 0.85, 0.5, 0.18), colour: '#5e6670', patterns: [{ kind: 'spots', colour: '#c3c8cc', count: 90, radius: [0.02, 0.05] }], markRegion: 'fin', share: 490 },
  sei_whale: { shape: dorsal(0.8, 0.75, 0.75, 0.35, 0.15, 3.2, 0.4, 0.15), colour: '#3f444a', patterns: [{ kind: 'spots', colour: '#5a6067', count: 40, radius: [0.04, 0.1] }], markRegion: 'fin', share: 428 },
  common_dolphin: { shape: dorsal(0.95, 0.9, 0.75, 0.4, 0.1), colour: '#2f343b', patterns: [{ kind: 'stripe', colour: '#c9b47a' }], markRegion: 'fin', share: 347 },
  cuviers_beaked_whale: { shape: dorsal(0.45, 1.1, 1.0, 0.5, 0.1, 2.8, 0.4, 0.2), colour: '#7b6d5e', patterns: [{ kind: 'scratches', colour: '#e2dccf', count: 18 }], markRegion: 'fin', share: 341 },
  long_finned_pilot_whale: { shape: dorsal(0.7, 1.7, 1.8, 0.75, 0.28, 2.8, 0.45), colour: '#1b1c1f', patterns: [{ kind: 'saddle', colour: '#7d8288' }], markRegion: 'fin', share: 238 },
  white_sided_dolphin: { shape: dorsal(1.1, 0.85, 0.9, 0.5, 0.2), colour: '#24272c', patterns: [{ kind: 'bicolor', colour: '#c7cbcf' }, { kind: 'stripe', colour: '#dfe2e4' }], markRegion: 'fin', share: 229 },
  brydes_whale: { shape: dorsal(0.65, 0.85, 1.1, 0.5, 0.22, 3.2, 0.4, 0.2), colour: '#50555b', patterns: [], markRegion: 'fin', share: 154 },
  pantropic_spotted_dolphin: { shape: dorsal(0.9, 0.8, 0.95, 0.5, 0.2), colour: '#454c56', patterns: [{ kind: 'cape', colour: '#30353c' }, { kind: 'spots', colour: '#aab1b9', count: 35, radius: [0.02, 0.045] }], markRegion: 'fin', share: 145 },
  commersons_dolphin: { shape: dorsal(0.8, 1.1, 0.6, 0.95, -0.05, 2.2, 0.38), colour: '#efefec', finColour: '#151515', patterns: [{ kind: 'cape', colour: '#151515' }], markRegion: 'fin', share: 90 },
  pygmy_killer_whale: { shape: dorsal(1.1, 0.8, 0.75, 0.45, 0.12, 2.6, 0.4), colour: '#2b2e33', patterns: [{ kind: 'cape', colour: '#18191c' }], markRegion: 'fin', share: 76 },
  rough_toothed_dolphin: { shape: dorsal(0.95, 1.05, 0.7, 0.3, 0.05), colour: '#656c75', patterns: [{ kind: 'spots', colour: '#d8c9c3', count: 25, radius: [0.05, 0.12] }], markRegion: 'fin', share: 60 },
  frasiers_dolphin: { shape: dorsal(0.55, 1.25, 0.8, 0.2, 0.05, 2.2, 0.36), colour: '#5d646d', patterns: [{ kind: 'stripe', colour: '#26292d' }], markRegion: 'fin', share: 14 },
};

/** Relative luminance (0 dark .. 1 light) of a #rrggbb colour. */
export function luminance(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  return (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
}
