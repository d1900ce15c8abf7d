// Field decisions kept in the browser (IndexedDB, database finprint-field, store decisions) until
// they are exported as a sync file; the photo's bytes are kept as a Blob beside each decision.

export type FieldDecision = { kind: 'match'; individualId: string } | { kind: 'new' } | { kind: 'unsure' };

export interface StoredDecision {
  /** UUID: the sync entry's key (syncing it twice adds nothing). */
  id: string;
  photo: { name: string; type: string; blob: Blob };
  date: string | null;
  latitude: number | null;
  longitude: number | null;
  notes: string | null;
  decision: FieldDecision;
  /** When the decision was made (ISO). */
  at: string;
  observer: string | null;
  /** The pack it was made with. */
  pack: { model: string; created: string };
  /** The candidates shown, best first (for the list on the page). */
  top: { id: string; score: number; probability: number | null }[];
  /** When it was last exported (ISO), or null. */
  exported: string | null;
}

const DB = 'finprint-field';
const STORE = 'decisions';

let opened: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB did not open'));
  });
  return opened;
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

export async function putDecision(d: StoredDecision): Promise<void> {
  const tx = (await db()).transaction(STORE, 'readwrite');
  await done(tx.objectStore(STORE).put(d));
}

/** Every stored decision, oldest first. */
export async function allDecisions(): Promise<StoredDecision[]> {
  const tx = (await db()).transaction(STORE, 'readonly');
  const all = (await done(tx.objectStore(STORE).getAll())) as StoredDecision[];
  return all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

export async function deleteDecision(id: string): Promise<void> {
  const tx = (await db()).transaction(STORE, 'readwrite');
  await done(tx.objectStore(STORE).delete(id));
}
