// The embedded store: one SQLite file (catalogue.db) through better-sqlite3, in WAL mode so the
// review page reads while an import writes. Writes are transactions; a process killed in the
// middle of one leaves the database as it was before it.
import Database from 'better-sqlite3';
import { ConflictError, InvalidRequestError, NotFoundError } from './errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import type { CatalogueStats, CatalogueStore, GalleryRow, IndividualSummary } from './store.js';
import { ENCOUNTER_STATUSES, type Decision, type DecisionRequest, type Encounter, type EncounterStatus, type Individual, type NewEncounter, type Photo, type Proposal, type QueueQuery } from './types.js';

type Row = Record<string, unknown>;

const individualOf = (r: Row): Individual => ({
  id: r.id as string,
  name: (r.name as string | null) ?? null,
  species: (r.species as string | null) ?? null,
  created: r.created as string,
  notes: (r.notes as string | null) ?? null,
  mergedInto: (r.merged_into as string | null) ?? null,
});

const encounterOf = (r: Row): Encounter => ({
  id: r.id as number,
  status: r.status as EncounterStatus,
  individualId: (r.individual_id as string | null) ?? null,
  date: (r.date as string | null) ?? null,
  latitude: (r.latitude as number | null) ?? null,
  longitude: (r.longitude as number | null) ?? null,
  observer: (r.observer as string | null) ?? null,
  species: (r.species as string | null) ?? null,
  notes: (r.notes as string | null) ?? null,
  created: r.created as string,
  version: r.version as number,
});

const photoOf = (r: Row): Photo => ({
  id: r.id as number,
  encounterId: r.encounter_id as number,
  sha256: r.sha256 as string,
  originalName: r.original_name as string,
  format: r.format as string,
  width: r.width as number,
  height: r.height as number,
  exifDate: (r.exif_date as string | null) ?? null,
  exifLatitude: (r.exif_latitude as number | null) ?? null,
  exifLongitude: (r.exif_longitude as number | null) ?? null,
  box: r.box_x0 === null ? null : { x0: r.box_x0 as number, y0: r.box_y0 as number, x1: r.box_x1 as number, y1: r.box_y1 as number },
  boxSource: r.box_source as Photo['boxSource'],
});

const decisionOf = (r: Row): Decision => ({
  id: r.id as number,
  user: r.user as string,
  at: r.at as string,
  action: r.action as Decision['action'],
  encounterId: (r.encounter_id as number | null) ?? null,
  individualId: (r.individual_id as string | null) ?? null,
  before: JSON.parse(r.before as string) as unknown,
  after: JSON.parse(r.after as string) as unknown,
  undoneBy: (r.undone_by as number | null) ?? null,
});

const proposalOf = (r: Row): Proposal => ({
  entryId: r.entry_id as string,
  encounterId: (r.encounter_id as number | null) ?? null,
  kind: r.kind as Proposal['kind'],
  individualId: (r.individual_id as string | null) ?? null,
  proposedIndividualId: (r.proposed_individual_id as string | null) ?? null,
  by: (r.by as string | null) ?? null,
  at: (r.at as string | null) ?? null,
  source: r.source as string,
  synced: r.synced as string,
  outcome: r.outcome as Proposal['outcome'],
});

const vectorOf = (blob: Buffer): Float32Array => new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
const blobOf = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const now = (): string => new Date().toISOString();

/** What an undo needs to put back: the encounters and individuals a decision changed, as they were. */
interface Snapshot {
  encounters: Encounter[];
  individuals: Individual[];
  /** Records the decision created (removed again by an undo). */
  createdIndividual?: string;
  createdEncounter?: number;
  /** move-photo: the photo and the encounter it came from. */
  photo?: { id: number; encounterId: number };
}

export class SqliteStore implements CatalogueStore {
  private readonly db: Database.Database;

  /** Opens (creating and migrating as needed) the database at `file`. */
  constructor(readonly file: string, options: { readonly?: boolean } = {}) {
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.migrate(options.readonly ?? false);
  }

  private migrate(readonly: boolean): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`${this.file} was written by a newer finprint (catalogue schema ${version}; this version knows up to ${SCHEMA_VERSION}): upgrade finprint to open it`);
    if (version === SCHEMA_VERSION) return;
    if (readonly) throw new Error(`${this.file} needs upgrading (schema ${version} -> ${SCHEMA_VERSION}) but was opened read-only`);
    this.db.transaction(() => {
      for (let v = version; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async getMeta(key: string): Promise<string | null> {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
    return (r?.value as string | undefined) ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async individual(id: string): Promise<Individual | null> {
    const r = this.db.prepare('SELECT * FROM individual WHERE id = ?').get(id) as Row | undefined;
    return r ? individualOf(r) : null;
  }

  async individuals(query: { species?: string; offset?: number; limit?: number }): Promise<{ total: number; items: IndividualSummary[] }> {
    const where = query.species !== undefined ? 'WHERE i.merged_into IS NULL AND i.species = @species' : 'WHERE i.merged_into IS NULL';
    const params = { species: query.species, limit: query.limit ?? 100, offset: query.offset ?? 0 };
    const total = (this.db.prepare(`SELECT count(*) AS n FROM individual i ${where}`).get(params) as Row).n as number;
    const rows = this.db
      .prepare(
        `SELECT i.*, count(DISTINCT e.id) AS encounters, count(p.id) AS photos, max(e.date) AS last_seen
         FROM individual i LEFT JOIN encounter e ON e.individual_id = i.id LEFT JOIN photo p ON p.encounter_id = e.id
         ${where} GROUP BY i.id ORDER BY i.id LIMIT @limit OFFSET @offset`,
      )
      .all(params) as Row[];
    return { total, items: rows.map((r) => ({ ...individualOf(r), encounters: r.encounters as number, photos: r.photos as number, lastSeen: (r.last_seen as string | null) ?? null })) };
  }

  async individualsWithPhotos(ids: readonly string[]): Promise<Map<string, { individual: Individual; photos: number[] }>> {
    const list = JSON.stringify([...new Set(ids)]);
    const out = new Map((this.db.prepare('SELECT * FROM individual WHERE id IN (SELECT value FROM json_each(?))').all(list) as Row[]).map((r) => [r.id as string, { individual: individualOf(r), photos: [] as number[] }]));
    const photos = this.db
      .prepare('SELECT e.individual_id, p.id FROM encounter e JOIN photo p ON p.encounter_id = e.id WHERE e.individual_id IN (SELECT value FROM json_each(?)) ORDER BY coalesce(e.date, e.created), e.id, p.id')
      .all(list) as Row[];
    for (const r of photos) out.get(r.individual_id as string)?.photos.push(r.id as number);
    return out;
  }

  async putProposal(p: Proposal): Promise<void> {
    this.db
      .prepare('INSERT OR REPLACE INTO proposal (entry_id, encounter_id, kind, individual_id, proposed_individual_id, by, at, source, synced, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(p.entryId, p.encounterId, p.kind, p.individualId, p.proposedIndividualId, p.by, p.at, p.source, p.synced, p.outcome);
  }

  async removeProposal(entryId: string): Promise<void> {
    this.db.prepare('DELETE FROM proposal WHERE entry_id = ?').run(entryId);
  }

  async proposalByEntry(entryId: string): Promise<Proposal | null> {
    const r = this.db.prepare('SELECT * FROM proposal WHERE entry_id = ?').get(entryId) as Row | undefined;
    return r ? proposalOf(r) : null;
  }

  async proposalOf(encounterId: number): Promise<Proposal | null> {
    const r = this.db.prepare("SELECT * FROM proposal WHERE encounter_id = ? AND outcome != 'pending' ORDER BY synced DESC LIMIT 1").get(encounterId) as Row | undefined;
    return r ? proposalOf(r) : null;
  }

  async encounter(id: number): Promise<Encounter | null> {
    return this.encounterNow(id);
  }

  private encounterNow(id: number): Encounter | null {
    const r = this.db.prepare('SELECT * FROM encounter WHERE id = ?').get(id) as Row | undefined;
    return r ? encounterOf(r) : null;
  }

  async encountersOf(individualId: string): Promise<Encounter[]> {
    return (this.db.prepare('SELECT * FROM encounter WHERE individual_id = ? ORDER BY coalesce(date, created), id').all(individualId) as Row[]).map(encounterOf);
  }

  async queue(query: QueueQuery): Promise<{ total: number; items: Encounter[] }> {
    const conditions = ['status = @status'];
    if (query.species !== undefined) conditions.push('species = @species');
    if (query.from !== undefined) conditions.push('date >= @from');
    if (query.to !== undefined) conditions.push("date <= @to || 'T99'");
    const where = `WHERE ${conditions.join(' AND ')}`;
    const order = { date: 'date, id', species: 'species, id', id: 'id', probability: 'id' }[query.sort ?? 'id'];
    const params = { status: query.status ?? 'unreviewed', species: query.species, from: query.from, to: query.to, limit: query.limit ?? -1, offset: query.offset ?? 0 };
    const total = (this.db.prepare(`SELECT count(*) AS n FROM encounter ${where}`).get(params) as Row).n as number;
    const items = (this.db.prepare(`SELECT * FROM encounter ${where} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all(params) as Row[]).map(encounterOf);
    return { total, items };
  }

  async photo(id: number): Promise<Photo | null> {
    const r = this.db.prepare('SELECT * FROM photo WHERE id = ?').get(id) as Row | undefined;
    return r ? photoOf(r) : null;
  }

  async photoBySha256(sha256: string): Promise<Photo | null> {
    const r = this.db.prepare('SELECT * FROM photo WHERE sha256 = ?').get(sha256) as Row | undefined;
    return r ? photoOf(r) : null;
  }

  async photosOf(encounterIds: readonly number[]): Promise<Photo[]> {
    if (encounterIds.length === 0) return [];
    const list = this.db.prepare('SELECT * FROM photo WHERE encounter_id IN (SELECT value FROM json_each(?)) ORDER BY encounter_id, id');
    return (list.all(JSON.stringify(encounterIds)) as Row[]).map(photoOf);
  }

  async allPhotos(): Promise<Photo[]> {
    return (this.db.prepare('SELECT * FROM photo ORDER BY id').all() as Row[]).map(photoOf);
  }

  async gallery(model: string): Promise<GalleryRow[]> {
    const rows = this.db
      .prepare(
        `SELECT p.id AS photo_id, e.individual_id, coalesce(e.species, i.species) AS species, e.date, e.latitude, e.longitude
         FROM photo p JOIN encounter e ON e.id = p.encounter_id JOIN individual i ON i.id = e.individual_id
         JOIN embedding m ON m.photo_id = p.id AND m.model = ?
         WHERE e.status = 'confirmed' ORDER BY p.id`,
      )
      .all(model) as Row[];
    return rows.map((r) => ({ photoId: r.photo_id as number, individualId: r.individual_id as string, species: (r.species as string | null) ?? null, date: (r.date as string | null) ?? null, latitude: (r.latitude as number | null) ?? null, longitude: (r.longitude as number | null) ?? null }));
  }

  async embeddingCount(model: string): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM embedding WHERE model = ?').get(model) as Row).n as number;
  }

  async othersRevision(): Promise<number> {
    // SQLite's data_version changes when another connection commits, not on this one's own writes.
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  async embeddings(model: string, photoIds?: readonly number[]): Promise<Map<number, Float32Array>> {
    const rows = (photoIds
      ? this.db.prepare('SELECT photo_id, vector FROM embedding WHERE model = ? AND photo_id IN (SELECT value FROM json_each(?))').all(model, JSON.stringify(photoIds))
      : this.db.prepare('SELECT photo_id, vector FROM embedding WHERE model = ?').all(model)) as Row[];
    return new Map(rows.map((r) => [r.photo_id as number, vectorOf(r.vector as Buffer)]));
  }

  async unembedded(model: string): Promise<Photo[]> {
    return (this.db.prepare('SELECT * FROM photo p WHERE NOT EXISTS (SELECT 1 FROM embedding m WHERE m.photo_id = p.id AND m.model = ?) ORDER BY id').all(model) as Row[]).map(photoOf);
  }

  async decisions(query: { encounterId?: number; individualId?: string; offset?: number; limit?: number }): Promise<{ total: number; items: Decision[] }> {
    const conditions: string[] = [];
    if (query.encounterId !== undefined) conditions.push('encounter_id = @encounterId');
    if (query.individualId !== undefined) conditions.push('individual_id = @individualId');
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const params = { encounterId: query.encounterId, individualId: query.individualId, limit: query.limit ?? -1, offset: query.offset ?? 0 };
    const total = (this.db.prepare(`SELECT count(*) AS n FROM decision ${where}`).get(params) as Row).n as number;
    const items = (this.db.prepare(`SELECT * FROM decision ${where} ORDER BY id LIMIT @limit OFFSET @offset`).all(params) as Row[]).map(decisionOf);
    return { total, items };
  }

  async stats(): Promise<CatalogueStats> {
    const count = (sql: string): number => (this.db.prepare(sql).get() as Row).n as number;
    const byStatus = Object.fromEntries(ENCOUNTER_STATUSES.map((s) => [s, 0])) as Record<EncounterStatus, number>;
    for (const r of this.db.prepare('SELECT status, count(*) AS n FROM encounter GROUP BY status').all() as Row[]) byStatus[r.status as EncounterStatus] = r.n as number;
    return { individuals: count('SELECT count(*) AS n FROM individual WHERE merged_into IS NULL'), encounters: byStatus, photos: count('SELECT count(*) AS n FROM photo'), decisions: count('SELECT count(*) AS n FROM decision') };
  }

  async addEncounter(e: NewEncounter, model: string): Promise<{ encounter: Encounter; photos: Photo[] }> {
    return this.db.transaction(() => {
      if (e.individualId !== null && !this.db.prepare('SELECT 1 FROM individual WHERE id = ?').get(e.individualId)) {
        this.db.prepare('INSERT INTO individual (id, species, created) VALUES (?, ?, ?)').run(e.individualId, e.individualSpecies ?? e.species, now());
      }
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO encounter (status, individual_id, date, latitude, longitude, observer, species, notes, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(e.status, e.individualId, e.date, e.latitude, e.longitude, e.observer, e.species, e.notes, now());
      const encounterId = Number(lastInsertRowid);
      const insertPhoto = this.db.prepare(
        `INSERT INTO photo (encounter_id, sha256, original_name, format, width, height, exif_date, exif_latitude, exif_longitude, box_x0, box_y0, box_x1, box_y1, box_source)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const insertEmbedding = this.db.prepare('INSERT INTO embedding (photo_id, model, vector) VALUES (?, ?, ?)');
      for (const p of e.photos) {
        const b = p.box;
        const r = insertPhoto.run(encounterId, p.sha256, p.originalName, p.format, p.width, p.height, p.exifDate, p.exifLatitude, p.exifLongitude, b?.x0 ?? null, b?.y0 ?? null, b?.x1 ?? null, b?.y1 ?? null, p.boxSource);
        insertEmbedding.run(Number(r.lastInsertRowid), model, blobOf(p.embedding));
      }
      const photos = (this.db.prepare('SELECT * FROM photo WHERE encounter_id = ? ORDER BY id').all(encounterId) as Row[]).map(photoOf);
      return { encounter: this.encounterNow(encounterId)!, photos };
    })();
  }

  async putEmbeddings(model: string, rows: readonly { photoId: number; vector: Float32Array }[]): Promise<void> {
    const put = this.db.prepare('INSERT INTO embedding (photo_id, model, vector) VALUES (?, ?, ?) ON CONFLICT (photo_id, model) DO UPDATE SET vector = excluded.vector');
    this.db.transaction(() => {
      for (const r of rows) put.run(r.photoId, model, blobOf(r.vector));
    })();
  }

  async addUser(name: string, tokenHash: string): Promise<void> {
    try {
      this.db.prepare('INSERT INTO reviewer (name, token_hash, created) VALUES (?, ?, ?)').run(name, tokenHash, now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new InvalidRequestError(`a reviewer named ${name} already exists`);
      throw err;
    }
  }

  async userByTokenHash(tokenHash: string): Promise<string | null> {
    const r = this.db.prepare('SELECT name FROM reviewer WHERE token_hash = ?').get(tokenHash) as Row | undefined;
    return (r?.name as string | undefined) ?? null;
  }

  async reviewers(): Promise<string[]> {
    return (this.db.prepare('SELECT name FROM reviewer ORDER BY name').all() as Row[]).map((r) => r.name as string);
  }

  async orphanRows(): Promise<string[]> {
    const checks: [string, string][] = [
      ['SELECT id FROM encounter e WHERE NOT EXISTS (SELECT 1 FROM photo p WHERE p.encounter_id = e.id)', 'encounter without photos'],
      ["SELECT id FROM encounter WHERE status = 'confirmed' AND individual_id IN (SELECT id FROM individual WHERE merged_into IS NOT NULL)", 'encounter confirmed as a merged individual'],
      ['SELECT photo_id AS id FROM embedding m WHERE NOT EXISTS (SELECT 1 FROM photo p WHERE p.id = m.photo_id)', 'embedding of a photo that does not exist'],
      ['SELECT id FROM photo p WHERE NOT EXISTS (SELECT 1 FROM encounter e WHERE e.id = p.encounter_id)', 'photo of an encounter that does not exist'],
    ];
    return checks.flatMap(([sql, what]) => (this.db.prepare(sql).all() as Row[]).map((r) => `${what}: ${String(r.id)}`));
  }

  async decide(request: DecisionRequest, user: string): Promise<Decision> {
    return this.db.transaction(() => {
      const { before, after, encounterId, individualId } = this.apply(request);
      const r = this.db
        .prepare('INSERT INTO decision (user, at, action, encounter_id, individual_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(user, now(), request.action, encounterId, individualId, JSON.stringify(before), JSON.stringify(after));
      const id = Number(r.lastInsertRowid);
      if (request.action === 'undo') this.db.prepare('UPDATE decision SET undone_by = ? WHERE id = ?').run(id, request.decisionId);
      return decisionOf(this.db.prepare('SELECT * FROM decision WHERE id = ?').get(id) as Row);
    })();
  }

  // ---- decisions, inside decide()'s transaction ----

  private apply(req: DecisionRequest): { before: Snapshot; after: Snapshot; encounterId: number | null; individualId: string | null } {
    switch (req.action) {
      case 'confirm':
      case 'new-individual':
      case 'unidentifiable':
      case 'skip':
        return this.review(req);
      case 'merge':
        return this.merge(req.individualId, req.into);
      case 'move-photo':
        return this.movePhoto(req.photoId);
      case 'undo':
        return this.undo(req.decisionId);
    }
  }

  private liveEncounter(id: number, version: number): Encounter {
    const e = this.encounterNow(id);
    if (!e) throw new NotFoundError(`no encounter ${id}`);
    if (e.version !== version) throw new ConflictError(`encounter ${id} changed since version ${version} (another decision was made on it first)`, e);
    return e;
  }

  private liveIndividual(id: string): Individual {
    const r = this.db.prepare('SELECT * FROM individual WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw new NotFoundError(`no individual ${id}`);
    const i = individualOf(r);
    if (i.mergedInto) throw new InvalidRequestError(`individual ${id} was merged into ${i.mergedInto}; use that one`);
    return i;
  }

  private setEncounter(e: Encounter, status: EncounterStatus, individualId: string | null): Encounter {
    this.db.prepare('UPDATE encounter SET status = ?, individual_id = ?, version = version + 1 WHERE id = ?').run(status, individualId, e.id);
    return this.encounterNow(e.id)!;
  }

  private nextIndividualId(): string {
    const used = (this.db.prepare("SELECT value FROM meta WHERE key = 'individual_seq'").get() as Row | undefined)?.value;
    let n = Number(used ?? 0);
    let id: string;
    do id = `FP-${String(++n).padStart(6, '0')}`;
    while (this.db.prepare('SELECT 1 FROM individual WHERE id = ?').get(id));
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('individual_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(n));
    return id;
  }

  private review(req: Extract<DecisionRequest, { encounterId: number }>): ReturnType<SqliteStore['apply']> {
    const e = this.liveEncounter(req.encounterId, req.version);
    const before: Snapshot = { encounters: [e], individuals: [] };
    let changed: Encounter;
    let createdIndividual: string | undefined;
    if (req.action === 'confirm') {
      changed = this.setEncounter(e, 'confirmed', this.liveIndividual(req.individualId).id);
    } else if (req.action === 'new-individual') {
      createdIndividual = this.nextIndividualId();
      this.db.prepare('INSERT INTO individual (id, name, species, created) VALUES (?, ?, ?, ?)').run(createdIndividual, req.name?.trim() || null, e.species, now());
      changed = this.setEncounter(e, 'confirmed', createdIndividual);
    } else {
      changed = this.setEncounter(e, req.action === 'skip' ? 'skipped' : 'unidentifiable', null);
    }
    const after: Snapshot = { encounters: [changed], individuals: [], ...(createdIndividual ? { createdIndividual } : {}) };
    return { before, after, encounterId: e.id, individualId: changed.individualId };
  }

  private merge(id: string, into: string): ReturnType<SqliteStore['apply']> {
    if (id === into) throw new InvalidRequestError(`cannot merge ${id} into itself`);
    const gone = this.liveIndividual(id);
    this.liveIndividual(into);
    const moved = (this.db.prepare('SELECT * FROM encounter WHERE individual_id = ?').all(id) as Row[]).map(encounterOf);
    this.db.prepare('UPDATE encounter SET individual_id = ?, version = version + 1 WHERE individual_id = ?').run(into, id);
    this.db.prepare('UPDATE individual SET merged_into = ? WHERE id = ?').run(into, id);
    const after: Snapshot = { encounters: moved.map((e) => this.encounterNow(e.id)!), individuals: [individualOf(this.db.prepare('SELECT * FROM individual WHERE id = ?').get(id) as Row)] };
    return { before: { encounters: moved, individuals: [gone] }, after, encounterId: null, individualId: into };
  }

  private movePhoto(photoId: number): ReturnType<SqliteStore['apply']> {
    const r = this.db.prepare('SELECT * FROM photo WHERE id = ?').get(photoId) as Row | undefined;
    if (!r) throw new NotFoundError(`no photo ${photoId}`);
    const photo = photoOf(r);
    const from = this.encounterNow(photo.encounterId)!;
    if (from.status !== 'confirmed') throw new InvalidRequestError(`photo ${photoId} is not in a confirmed encounter; decide its encounter instead`);
    // The photo becomes an encounter of its own, back in the queue, with its sighting's details.
    const { lastInsertRowid } = this.db
      .prepare("INSERT INTO encounter (status, individual_id, date, latitude, longitude, observer, species, notes, created) VALUES ('unreviewed', NULL, ?, ?, ?, ?, ?, ?, ?)")
      .run(from.date, from.latitude, from.longitude, from.observer, from.species, from.notes, now());
    const created = Number(lastInsertRowid);
    this.db.prepare('UPDATE photo SET encounter_id = ? WHERE id = ?').run(created, photoId);
    this.db.prepare('UPDATE encounter SET version = version + 1 WHERE id = ?').run(from.id);
    const after: Snapshot = { encounters: [this.encounterNow(from.id)!, this.encounterNow(created)!], individuals: [], createdEncounter: created, photo: { id: photoId, encounterId: from.id } };
    return { before: { encounters: [from], individuals: [] }, after, encounterId: from.id, individualId: from.individualId };
  }

  /** Puts back what a decision changed, if nothing it touched has changed since. */
  private undo(decisionId: number): ReturnType<SqliteStore['apply']> {
    const r = this.db.prepare('SELECT * FROM decision WHERE id = ?').get(decisionId) as Row | undefined;
    if (!r) throw new NotFoundError(`no decision ${decisionId}`);
    const d = decisionOf(r);
    if (d.action === 'undo') throw new InvalidRequestError(`decision ${decisionId} is itself an undo; make the decision again instead`);
    if (d.undoneBy !== null) throw new ConflictError(`decision ${decisionId} was already undone (by decision ${d.undoneBy})`, d);
    const before = d.before as Snapshot;
    const after = d.after as Snapshot;
    for (const e of after.encounters) {
      const current = this.encounterNow(e.id);
      if (!current || current.version !== e.version) throw new ConflictError(`cannot undo decision ${decisionId}: encounter ${e.id} changed since (a later decision); undo that one first`, current);
    }
    const current: Snapshot = { encounters: after.encounters.map((e) => this.encounterNow(e.id)!), individuals: [] };
    if (after.photo) this.db.prepare('UPDATE photo SET encounter_id = ? WHERE id = ?').run(after.photo.encounterId, after.photo.id);
    if (after.createdEncounter !== undefined) this.db.prepare('DELETE FROM encounter WHERE id = ?').run(after.createdEncounter);
    for (const e of before.encounters) {
      this.db.prepare('UPDATE encounter SET status = ?, individual_id = ?, version = version + 1 WHERE id = ?').run(e.status, e.individualId, e.id);
    }
    for (const i of before.individuals) this.db.prepare('UPDATE individual SET merged_into = ? WHERE id = ?').run(i.mergedInto, i.id);
    if (after.createdIndividual !== undefined) {
      const used = this.db.prepare('SELECT 1 FROM encounter WHERE individual_id = ?').get(after.createdIndividual);
      if (used) throw new ConflictError(`cannot undo decision ${decisionId}: individual ${after.createdIndividual} has other encounters now`, null);
      this.db.prepare('DELETE FROM individual WHERE id = ?').run(after.createdIndividual);
    }
    const restored: Snapshot = { encounters: before.encounters.map((e) => this.encounterNow(e.id)!), individuals: before.individuals };
    return { before: current, after: restored, encounterId: d.encounterId, individualId: d.individualId };
  }
}
