// The catalogue's records, as photo-ID researchers keep them: an individual has encounters (one
// sighting of one animal: when, where, who saw it), an encounter has photos (each stored once
// under its content hash, with the animal's box), a photo has an embedding per model version, and
// every human decision is an audited, undoable row.
import type { Box } from '../data/crop.js';

export interface Individual {
  id: string;
  name: string | null;
  species: string | null;
  created: string;
  notes: string | null;
  /** Set when merged into another individual (its encounters moved there). */
  mergedInto: string | null;
}

export const ENCOUNTER_STATUSES = ['unreviewed', 'confirmed', 'unidentifiable', 'skipped'] as const;
export type EncounterStatus = (typeof ENCOUNTER_STATUSES)[number];

export interface Encounter {
  id: number;
  status: EncounterStatus;
  /** The individual it was confirmed as (confirmed encounters only). */
  individualId: string | null;
  /** ISO date-time of the sighting, when known (metadata, else the photo's EXIF). */
  date: string | null;
  latitude: number | null;
  longitude: number | null;
  observer: string | null;
  species: string | null;
  notes: string | null;
  created: string;
  /** Raised by every change: a decision names the version it was made on (optimistic concurrency). */
  version: number;
}

export const BOX_SOURCES = ['imported', 'detected', 'whole'] as const;
export type BoxSource = (typeof BOX_SOURCES)[number];

/** A photo arriving in the catalogue, stored and read (size, EXIF) but not yet in an encounter. */
export interface IncomingPhoto {
  /** sha256 of the file's bytes: its name in the catalogue folder. */
  sha256: string;
  /** The file's name where it came from (metadata only, never a path). */
  originalName: string;
  /** Stored file's extension, from its decoded format (jpg, png, webp...). */
  format: string;
  width: number;
  height: number;
  exifDate: string | null;
  exifLatitude: number | null;
  exifLongitude: number | null;
  /** The animal's box in pixels, or null for the whole photo. */
  box: Box | null;
  boxSource: BoxSource;
}

/** A photo of the catalogue: an incoming photo that joined an encounter. */
export interface Photo extends IncomingPhoto {
  id: number;
  encounterId: number;
}

export const DECISION_ACTIONS = ['confirm', 'new-individual', 'unidentifiable', 'skip', 'merge', 'move-photo', 'undo'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** One audited change: who did what, and the records as they were before and after. */
export interface Decision {
  id: number;
  user: string;
  at: string;
  action: DecisionAction;
  encounterId: number | null;
  individualId: string | null;
  before: unknown;
  after: unknown;
  /** The undo decision that reversed this one. */
  undoneBy: number | null;
}

/** What a reviewer asks for; `version` is the encounter's version they saw. */
export type DecisionRequest =
  | { action: 'confirm'; encounterId: number; version: number; individualId: string }
  | { action: 'new-individual'; encounterId: number; version: number; name?: string }
  | { action: 'unidentifiable' | 'skip'; encounterId: number; version: number }
  | { action: 'merge'; individualId: string; into: string }
  | { action: 'move-photo'; photoId: number }
  | { action: 'undo'; decisionId: number };

/** A new encounter with its photos and their embeddings, added in one transaction. */
export interface NewEncounter {
  status: 'unreviewed' | 'confirmed';
  individualId: string | null;
  /** For a confirmed encounter of an individual not yet in the catalogue. */
  individualSpecies?: string | null;
  date: string | null;
  latitude: number | null;
  longitude: number | null;
  observer: string | null;
  species: string | null;
  notes: string | null;
  photos: (IncomingPhoto & { embedding: Float32Array })[];
}

/** The search filters a reviewer sets; each one really restricts the gallery. */
export interface SearchFilter {
  species?: string;
  /** ISO dates, inclusive. */
  from?: string;
  to?: string;
  /** Only encounters within this many km of `near` (or of the query encounter's position). */
  withinKm?: number;
  near?: { latitude: number; longitude: number };
}

export interface QueueQuery {
  status?: EncounterStatus;
  species?: string;
  from?: string;
  to?: string;
  sort?: 'probability' | 'date' | 'species' | 'id';
  offset?: number;
  limit?: number;
}

/** A field decision (made offline with a field pack) carried to the reviewer as a proposal. */
export interface Proposal {
  /** The sync entry's id (a UUID): syncing the same entry again finds it. */
  entryId: string;
  /** The encounter it came with; null when its photo was already in the catalogue. */
  encounterId: number | null;
  kind: 'match' | 'new' | 'unsure';
  /** The individual proposed (match only): the one it was merged into when it has been merged since. */
  individualId: string | null;
  /** The individual as the field decision named it (differs from individualId after a merge). */
  proposedIndividualId: string | null;
  /** The observer who decided in the field, and when. */
  by: string | null;
  at: string | null;
  /** Where it came from: the sync file's name and the pack it was made with. */
  source: string;
  synced: string;
  /**
   * 'attached', 'duplicate' (attached to nothing), 'merged' (points at the individual merged into);
   * 'pending' while its photo is being imported (a sync stopped there finishes it next time).
   */
  outcome: 'attached' | 'duplicate' | 'merged' | 'pending';
}
