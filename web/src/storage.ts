// What the page keeps in localStorage: the reviewer's token, their place (where they were, the
// queue's filters and sort, the search settings) and their decisions this far, to undo.

const PREFIX = 'finprint.';

export function load<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    if (raw === null) return fallback;
    const value = JSON.parse(raw) as unknown;
    if (fallback !== null && typeof fallback === 'object' && !Array.isArray(fallback)) {
      return typeof value === 'object' && value !== null ? { ...fallback, ...(value as object) } : fallback;
    }
    return value as T;
  } catch {
    return fallback;
  }
}

export function save(key: string, value: unknown): void {
  try {
    localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the page still works, it just forgets on reload.
  }
}

export function loadToken(): string {
  return load<string>('token', '');
}

export function saveToken(token: string): void {
  save('token', token.trim());
}

export interface QueuePrefs {
  status: string;
  species: string;
  from: string;
  to: string;
  sort: 'probability' | 'date' | 'species' | 'id';
  offset: number;
  limit: number;
  /** Row selected on the page. */
  selected: number;
}

export const QUEUE_DEFAULTS: QueuePrefs = { status: 'unreviewed', species: '', from: '', to: '', sort: 'probability', offset: 0, limit: 50, selected: 0 };

export interface SearchPrefs {
  top: number;
  per: 'individual' | 'photo';
  species: string;
  from: string;
  to: string;
  withinKm: string;
  lat: string;
  lon: string;
}

export const SEARCH_DEFAULTS: SearchPrefs = { top: 10, per: 'individual', species: '', from: '', to: '', withinKm: '', lat: '', lon: '' };

export interface Place {
  /** The last page shown (its hash), reopened when the page loads without one. */
  route: string;
  /** The open encounter's position in the queue, to carry on from after a decision. */
  queueIndex: number;
}

export const PLACE_DEFAULTS: Place = { route: '#/queue', queueIndex: 0 };

/** A decision made from this page, to undo with z. */
export interface MadeDecision {
  id: number;
  /** When the server recorded it: with the id, tells it apart from a decision of another catalogue served here later. */
  at: string;
  label: string;
  encounterId: number | null;
  individualId: string | null;
}
