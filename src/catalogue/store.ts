// Storage behind one interface: the catalogue's logic (search, decisions, import, export) only
// talks to a CatalogueStore, so a PostgreSQL store for teams can stand beside the embedded SQLite
// one without touching the rest. Every write is one transaction: a decision and its audit row, an
// encounter with its photos and embeddings, land together or not at all.
import type { Decision, DecisionRequest, Encounter, Individual, NewEncounter, Photo, Proposal, QueueQuery } from './types.js';

export interface IndividualSummary extends Individual {
  encounters: number;
  photos: number;
  /** Date of its latest dated encounter. */
  lastSeen: string | null;
}

/** A gallery photo: a photo of a confirmed encounter, with what the search filters on. */
export interface GalleryRow {
  photoId: number;
  individualId: string;
  species: string | null;
  date: string | null;
  latitude: number | null;
  longitude: number | null;
}

export interface CatalogueStats {
  individuals: number;
  encounters: Record<Encounter['status'], number>;
  photos: number;
  decisions: number;
}

/** A problem the integrity check found, and what to do about it. */
export interface IntegrityProblem {
  kind: 'missing-file' | 'damaged-file' | 'orphan-file' | 'not-embedded' | 'orphan-row';
  message: string;
}

export interface CatalogueStore {
  close(): Promise<void>;
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;

  individual(id: string): Promise<Individual | null>;
  individuals(query: { species?: string; offset?: number; limit?: number }): Promise<{ total: number; items: IndividualSummary[] }>;
  /** Individuals by id with their photo ids (confirmed encounters, oldest first): what a candidate list shows. */
  individualsWithPhotos(ids: readonly string[]): Promise<Map<string, { individual: Individual; photos: number[] }>>;
  encounter(id: number): Promise<Encounter | null>;
  /** Encounters of an individual, oldest first. */
  encountersOf(individualId: string): Promise<Encounter[]>;
  queue(query: QueueQuery): Promise<{ total: number; items: Encounter[] }>;
  photo(id: number): Promise<Photo | null>;
  photoBySha256(sha256: string): Promise<Photo | null>;
  photosOf(encounterIds: readonly number[]): Promise<Photo[]>;
  /** Every photo's content hash, for the integrity check. */
  allPhotos(): Promise<Photo[]>;
  gallery(model: string): Promise<GalleryRow[]>;
  /** How many photos have an embedding for the model. */
  embeddingCount(model: string): Promise<number>;
  /** A number that changes whenever another process commits to the store (an import beside a running server). */
  othersRevision(): Promise<number>;
  /** Embeddings of a model, by photo id (all photos when `photoIds` is absent). */
  embeddings(model: string, photoIds?: readonly number[]): Promise<Map<number, Float32Array>>;
  /** Photos without an embedding for the model. */
  unembedded(model: string): Promise<Photo[]>;
  decisions(query: { encounterId?: number; individualId?: string; offset?: number; limit?: number }): Promise<{ total: number; items: Decision[] }>;
  stats(): Promise<CatalogueStats>;

  addEncounter(encounter: NewEncounter, model: string): Promise<{ encounter: Encounter; photos: Photo[] }>;
  putEmbeddings(model: string, rows: readonly { photoId: number; vector: Float32Array }[]): Promise<void>;
  /** Applies a reviewer's decision with its audit row; throws NotFoundError, ConflictError or InvalidRequestError. */
  decide(request: DecisionRequest, user: string): Promise<Decision>;
  addUser(name: string, tokenHash: string): Promise<void>;
  userByTokenHash(tokenHash: string): Promise<string | null>;
  /** Reviewers' names (who may decide when the review server listens beyond this machine). */
  reviewers(): Promise<string[]>;
  /** Records (or updates) a synced field decision, keyed by its entry id. */
  putProposal(proposal: Proposal): Promise<void>;
  removeProposal(entryId: string): Promise<void>;
  proposalByEntry(entryId: string): Promise<Proposal | null>;
  /** The proposal that came with an encounter, if any. */
  proposalOf(encounterId: number): Promise<Proposal | null>;
  /** Rows that point at nothing (photos without an encounter, embeddings without a photo...). */
  orphanRows(): Promise<string[]>;
}
