// The sync file (format 1, docs/field-pack.md): the stored decisions with their photos in base64,
// which `finprint catalogue sync CATALOGUE FILE` imports as encounters to review with proposals.
import type { StoredDecision } from './store.js';

export interface SyncFile {
  format: 1;
  pack: { model: string; created: string };
  decisions: {
    id: string;
    photo: { name: string; type: string; data: string };
    date: string | null;
    latitude: number | null;
    longitude: number | null;
    notes: string | null;
    decision: StoredDecision['decision'];
    at: string | null;
    observer: string | null;
  }[];
}

/** A Blob's bytes in base64 (through a data: URL, so large photos need no string building). */
function base64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error ?? new Error('the photo could not be read'));
    r.readAsDataURL(blob);
  });
}

export async function syncFile(pack: { model: string; created: string }, decisions: readonly StoredDecision[]): Promise<SyncFile> {
  const entries: SyncFile['decisions'] = [];
  for (const d of decisions) {
    if (d.pack.model !== pack.model) throw new Error(`a decision (${d.photo.name}, ${d.at}) was made with another pack's model (${d.pack.model.slice(0, 12)}): export it with that pack`);
    entries.push({
      id: d.id,
      photo: { name: d.photo.name, type: d.photo.type, data: await base64(d.photo.blob) },
      date: d.date,
      latitude: d.latitude,
      longitude: d.longitude,
      notes: d.notes,
      decision: d.decision,
      at: d.at,
      observer: d.observer,
    });
  }
  return { format: 1, pack, decisions: entries };
}

/** Offers `text` as a file download. */
export function download(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
