// The review server's JSON, as the page reads it. The records mirror src/catalogue/types.ts and
// src/catalogue/catalogue.ts (kept separate: the page is compiled for the browser on its own).

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export type EncounterStatus = 'unreviewed' | 'confirmed' | 'unidentifiable' | 'skipped';
export const ENCOUNTER_STATUSES: readonly EncounterStatus[] = ['unreviewed', 'confirmed', 'unidentifiable', 'skipped'];

export interface Individual {
  id: string;
  name: string | null;
  species: string | null;
  created: string;
  notes: string | null;
  mergedInto: string | null;
}

export interface IndividualSummary extends Individual {
  encounters: number;
  photos: number;
  lastSeen: string | null;
}

export interface Encounter {
  id: number;
  status: EncounterStatus;
  individualId: string | null;
  date: string | null;
  latitude: number | null;
  longitude: number | null;
  observer: string | null;
  species: string | null;
  notes: string | null;
  created: string;
  version: number;
}

export interface Photo {
  id: number;
  encounterId: number;
  sha256: string;
  originalName: string;
  format: string;
  width: number;
  height: number;
  exifDate: string | null;
  exifLatitude: number | null;
  exifLongitude: number | null;
  box: Box | null;
  boxSource: 'imported' | 'detected' | 'whole';
}

export type DecisionAction = 'confirm' | 'new-individual' | 'unidentifiable' | 'skip' | 'merge' | 'move-photo' | 'undo';

export interface Decision {
  id: number;
  user: string;
  at: string;
  action: DecisionAction;
  encounterId: number | null;
  individualId: string | null;
  before: unknown;
  after: unknown;
  undoneBy: number | null;
}

export type DecisionRequest =
  | { action: 'confirm'; encounterId: number; version: number; individualId: string }
  | { action: 'new-individual'; encounterId: number; version: number; name?: string }
  | { action: 'unidentifiable' | 'skip'; encounterId: number; version: number }
  | { action: 'merge'; individualId: string; into: string }
  | { action: 'move-photo'; photoId: number }
  | { action: 'undo'; decisionId: number };

export interface DecisionResponse {
  decision: Decision;
  encounter: Encounter | null;
}

export interface Stats {
  individuals: number;
  encounters: Record<EncounterStatus, number>;
  photos: number;
  decisions: number;
  model: string;
  run: string;
  writesNeedToken: boolean;
  user: string | null;
  /** Where the server offers the offline field page ('/field/'), or null. */
  fieldPage: string | null;
}

export type QueueItem = Encounter & { bestProbability: number | null; bestScore: number | null; photos: number[] };

export interface QueuePage {
  total: number;
  items: QueueItem[];
}

/** A field decision (made offline with a field pack, brought in by finprint catalogue sync), shown as a proposal. */
export interface Proposal {
  entryId: string;
  encounterId: number | null;
  kind: 'match' | 'new' | 'unsure';
  /** The individual proposed (match only): the one it was merged into when merged since. */
  individualId: string | null;
  /** The individual as the field decision named it (differs from individualId after a merge). */
  proposedIndividualId: string | null;
  by: string | null;
  at: string | null;
  source: string;
  synced: string;
  outcome: 'attached' | 'duplicate' | 'merged' | 'pending';
}

export interface EncounterView {
  encounter: Encounter;
  photos: Photo[];
  /** The field decision synced with this encounter, or null. */
  proposal: Proposal | null;
}

export interface Candidate {
  individual: Pick<Individual, 'id' | 'name' | 'species'>;
  score: number;
  probability: number | null;
  bestPhoto: number;
  queryPhoto: number;
  mirrored: boolean;
  photos: number[];
}

export interface Candidates {
  encounter: Encounter;
  searched: number;
  total: number;
  description: string;
  per: 'individual' | 'photo';
  candidates: Candidate[];
  suggestion: string | null;
  threshold: number | null;
}

export interface IndividualView {
  individual: Individual;
  encounters: (Encounter & { photos: Photo[] })[];
}

export interface Page<T> {
  total: number;
  items: T[];
}
