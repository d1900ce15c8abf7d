// Field decisions back into the catalogue: the offline page (built on a field pack) exports a sync
// file of the photos taken in the field with the decision made there. Each photo becomes an
// encounter to review, embedded by the catalogue's own model, carrying the field decision as a
// proposal the reviewer sees; nothing is decided for them. Entries are keyed by their id, so a
// file synced twice adds nothing the second time; an entry that cannot be imported is listed with
// why (and is tried again by the next sync).
//
// The sync file (format 1, docs/field-pack.md):
//   { format: 1, pack: { model, created },
//     decisions: [{ id (uuid), photo: { name, type, data (base64) }, date, latitude, longitude, notes,
//                   decision: { kind: 'match', individualId } | { kind: 'new' } | { kind: 'unsure' },
//                   at, observer }] }
import { createHash } from 'node:crypto';
import type { Catalogue } from './catalogue.js';
import type { PhotoEmbedder } from './embedder.js';
import { InvalidRequestError } from './errors.js';
import { checkPackModel } from './pack.js';
import type { PhotoLimits } from './photos.js';
import type { Proposal } from './types.js';

export const SYNC_FORMAT = 1;

export type FieldDecision = { kind: 'match'; individualId: string } | { kind: 'new' } | { kind: 'unsure' };

export interface SyncEntry {
  id: string;
  photo: { name: string; type: string; data: string };
  date: string | null;
  latitude: number | null;
  longitude: number | null;
  notes: string | null;
  decision: FieldDecision;
  at: string | null;
  observer: string | null;
}

export interface SyncFile {
  format: typeof SYNC_FORMAT;
  pack: { model: string; created: string };
  decisions: SyncEntry[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/tiff', 'image/heic', 'image/heif', 'image/avif'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalString(where: string, value: unknown, max = 2000): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max) throw new InvalidRequestError(`${where} must be a string of at most ${max} characters`);
  return value;
}

function optionalNumber(where: string, value: unknown, lo: number, hi: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) throw new InvalidRequestError(`${where} must be a number from ${lo} to ${hi}, got ${JSON.stringify(value)}`);
  return value;
}

function optionalDate(where: string, value: unknown): string | null {
  const s = optionalString(where, value, 40);
  if (s !== null && (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(Date.parse(s)))) throw new InvalidRequestError(`${where} must be an ISO date or date-time, got ${JSON.stringify(s)}`);
  return s;
}

/** One entry checked; errors name it by its position and id. */
function checkEntry(e: unknown, i: number, seen: Set<string>): SyncEntry {
  const at = (id?: string): string => `decisions[${i}]${id ? ` (${id})` : ''}`;
  if (!isObject(e)) throw new InvalidRequestError(`${at()} is not an object`);
  if (typeof e.id !== 'string' || !UUID.test(e.id)) throw new InvalidRequestError(`${at()}: id must be a UUID, got ${JSON.stringify(e.id)}`);
  const where = at(e.id);
  if (seen.has(e.id.toLowerCase())) throw new InvalidRequestError(`${where}: the id appears twice in the file`);
  seen.add(e.id.toLowerCase());
  const photo = e.photo;
  if (!isObject(photo)) throw new InvalidRequestError(`${where}: photo must be an object { name, type, data }`);
  if (typeof photo.name !== 'string' || photo.name.length === 0 || photo.name.length > 255) throw new InvalidRequestError(`${where}: photo.name must be a non-empty string of at most 255 characters`);
  if (typeof photo.type !== 'string' || !PHOTO_TYPES.includes(photo.type.toLowerCase())) throw new InvalidRequestError(`${where}: photo.type must be one of ${PHOTO_TYPES.join(', ')}, got ${JSON.stringify(photo.type)}`);
  if (typeof photo.data !== 'string' || photo.data.length === 0 || photo.data.length % 4 !== 0 || !BASE64.test(photo.data)) throw new InvalidRequestError(`${where}: photo.data must be the photo's bytes in base64`);
  const d = e.decision;
  if (!isObject(d) || !['match', 'new', 'unsure'].includes(d.kind as string)) throw new InvalidRequestError(`${where}: decision must be { kind: 'match', individualId } | { kind: 'new' } | { kind: 'unsure' }, got ${JSON.stringify(d)}`);
  let decision: FieldDecision;
  if (d.kind === 'match') {
    if (typeof d.individualId !== 'string' || d.individualId.length === 0 || d.individualId.length > 200) throw new InvalidRequestError(`${where}: a match decision needs an individualId`);
    decision = { kind: 'match', individualId: d.individualId };
  } else decision = { kind: d.kind as 'new' | 'unsure' };
  return {
    id: e.id.toLowerCase(),
    photo: { name: photo.name, type: photo.type, data: photo.data },
    date: optionalDate(`${where}: date`, e.date),
    latitude: optionalNumber(`${where}: latitude`, e.latitude, -90, 90),
    longitude: optionalNumber(`${where}: longitude`, e.longitude, -180, 180),
    notes: optionalString(`${where}: notes`, e.notes),
    decision,
    at: optionalDate(`${where}: at`, e.at),
    observer: optionalString(`${where}: observer`, e.observer, 200),
  };
}

/** Parses and checks a sync file's text; the first problem is an error naming the entry. */
export function parseSyncFile(text: string, name = 'the sync file'): SyncFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new InvalidRequestError(`${name} is not a JSON object`);
  if (raw.format !== SYNC_FORMAT) throw new InvalidRequestError(`${name} is a sync file of format ${JSON.stringify(raw.format)}; this finprint reads format ${SYNC_FORMAT}`);
  const pack = raw.pack;
  if (!isObject(pack) || typeof pack.model !== 'string' || pack.model.length === 0 || typeof pack.created !== 'string') throw new InvalidRequestError(`${name}: pack must be { model, created } (the field pack it was made with)`);
  if (!Array.isArray(raw.decisions)) throw new InvalidRequestError(`${name}: decisions must be an array`);
  const seen = new Set<string>();
  const decisions = raw.decisions.map((e, i) => {
    try {
      return checkEntry(e, i, seen);
    } catch (err) {
      throw new InvalidRequestError(`${name}: ${(err as Error).message}`);
    }
  });
  return { format: SYNC_FORMAT, pack: { model: pack.model, created: pack.created }, decisions };
}

export type SyncOutcome =
  | { id: string; name: string; status: 'added'; encounter: number; proposal: Proposal }
  /** The proposal points at the individual the proposed one was merged into since the pack was made. */
  | { id: string; name: string; status: 'merged'; encounter: number; proposal: Proposal; mergedFrom: string; mergedInto: string }
  /** The photo was already in the catalogue: the proposal is kept, attached to nothing. */
  | { id: string; name: string; status: 'duplicate'; photo: number | null; encounter: number | null; proposal: Proposal }
  /** Synced before (same entry id). */
  | { id: string; name: string; status: 'already'; encounter: number | null }
  /** Not imported (nothing stored): syncing again tries it again. */
  | { id: string; name: string; status: 'rejected'; reason: string };

export interface SyncSummary {
  source: string;
  outcomes: SyncOutcome[];
  counts: Record<SyncOutcome['status'], number>;
}

/** The individual a decision's id stands for now: followed along merges. Null when unknown. */
async function currentIndividual(catalogue: Catalogue, id: string): Promise<{ id: string; merged: boolean } | null> {
  let current = await catalogue.store.individual(id);
  if (!current) return null;
  const seen = new Set<string>();
  while (current.mergedInto && !seen.has(current.id)) {
    seen.add(current.id);
    const next = await catalogue.store.individual(current.mergedInto);
    if (!next) break;
    current = next;
  }
  return { id: current.id, merged: current.id !== id };
}

/** Entries imported per Catalogue.intake call: one embedding pass each. */
export const SYNC_BATCH = 32;

/** An entry whose photo is to be imported, its proposal recorded as pending. */
interface PendingEntry {
  index: number;
  entry: SyncEntry;
  before: Proposal | null;
  target: { id: string; merged: boolean } | null;
  proposal: Proposal;
  bytes: Buffer;
  sha256: string;
}

/**
 * Imports a sync file's entries into the catalogue as encounters to review with their proposals.
 * `source` names the file (kept with each proposal). Photos are imported in batches of `batch`
 * entries (one embedding pass each); each entry's proposal is recorded as pending before its
 * batch is imported, so a sync stopped part way finishes the batch next time.
 */
export async function syncDecisions(catalogue: Catalogue, file: SyncFile, embedder: PhotoEmbedder, options: { source: string; limits?: PhotoLimits; batch?: number }): Promise<SyncSummary> {
  checkPackModel(file.pack.model, catalogue, `${options.source} (a sync file)`);
  const batchSize = Math.max(1, options.batch ?? SYNC_BATCH);
  const outcomes: (SyncOutcome | undefined)[] = new Array(file.decisions.length);
  const source = `${options.source} (pack ${file.pack.created})`;
  let pending: PendingEntry[] = [];

  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    if (!batch.length) return;
    const results = await catalogue.intake(
      batch.map(({ entry: e, bytes }) => ({ source: { bytes }, name: e.photo.name, date: e.date, latitude: e.latitude, longitude: e.longitude, observer: e.observer, notes: e.notes })),
      embedder,
      { ...(options.limits ? { limits: options.limits } : {}), quiet: true },
    );
    // In file order, one at a time: an entry's proposal is stored before the next one looks.
    for (const [k, { index, entry: e, before, target, proposal }] of batch.entries()) {
      const name = e.photo.name;
      const result = results[k];
      if (!result || result.status === 'rejected') {
        await catalogue.store.removeProposal(e.id);
        outcomes[index] = { id: e.id, name, status: 'rejected', reason: result?.status === 'rejected' ? result.reason : 'not imported' };
        continue;
      }
      let encounterId = result.status === 'added' ? result.encounter.id : null;
      if (result.status === 'duplicate' && before && result.photo) {
        // A sync stopped after importing this entry's photo: the encounter made then is its own.
        const made = await catalogue.store.encounter(result.photo.encounterId);
        if (made && made.status === 'unreviewed' && made.created >= before.synced && !(await catalogue.store.proposalOf(made.id))) encounterId = made.id;
      }
      proposal.encounterId = encounterId;
      proposal.outcome = encounterId === null ? 'duplicate' : target?.merged ? 'merged' : 'attached';
      await catalogue.store.putProposal(proposal);
      if (encounterId === null) outcomes[index] = { id: e.id, name, status: 'duplicate', photo: result.status === 'duplicate' ? (result.photo?.id ?? null) : null, encounter: result.status === 'duplicate' ? (result.photo?.encounterId ?? null) : null, proposal };
      else if (target?.merged && e.decision.kind === 'match') outcomes[index] = { id: e.id, name, status: 'merged', encounter: encounterId, proposal, mergedFrom: e.decision.individualId, mergedInto: target.id };
      else outcomes[index] = { id: e.id, name, status: 'added', encounter: encounterId, proposal };
    }
  };

  for (const [index, e] of file.decisions.entries()) {
    const name = e.photo.name;
    const before = await catalogue.store.proposalByEntry(e.id);
    if (before && before.outcome !== 'pending') {
      outcomes[index] = { id: e.id, name, status: 'already', encounter: before.encounterId };
      continue;
    }
    let target: { id: string; merged: boolean } | null = null;
    if (e.decision.kind === 'match') {
      target = await currentIndividual(catalogue, e.decision.individualId);
      if (!target) {
        if (before) await catalogue.store.removeProposal(e.id);
        outcomes[index] = { id: e.id, name, status: 'rejected', reason: `the field decision matches individual ${e.decision.individualId}, which the catalogue does not know` };
        continue;
      }
    }
    const bytes = Buffer.from(e.photo.data, 'base64');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // The same photo twice in one batch would be a duplicate of nothing: the earlier one is imported first,
    // so the later is reported as a duplicate of it (or tried again when it was not imported), as one by one.
    if (pending.length >= batchSize || pending.some((p) => p.sha256 === sha256)) await flush();
    const proposal: Proposal = {
      entryId: e.id,
      encounterId: null,
      kind: e.decision.kind,
      individualId: target?.id ?? null,
      proposedIndividualId: e.decision.kind === 'match' ? e.decision.individualId : null,
      by: e.observer,
      at: e.at,
      source,
      synced: before?.synced ?? new Date().toISOString(),
      outcome: 'pending',
    };
    // Recorded before the photo is imported: a sync stopped between the two finds it next time.
    if (!before) await catalogue.store.putProposal(proposal);
    pending.push({ index, entry: e, before, target, proposal, bytes, sha256 });
  }
  await flush();
  const counts = { added: 0, merged: 0, duplicate: 0, already: 0, rejected: 0 };
  const done = outcomes.filter((o): o is SyncOutcome => o !== undefined);
  for (const o of done) counts[o.status]++;
  return { source, outcomes: done, counts };
}
