// finprint catalogue sync: a sync file from the offline page into a catalogue, embedded by the
// catalogue's run (src/catalogue/sync.ts does the work; this opens the catalogue and its model).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Catalogue } from '../catalogue/catalogue.js';
import { parseSyncFile, syncDecisions, type SyncSummary } from '../catalogue/sync.js';
import { runEmbedder } from './catalogue_model.js';
import type { EngineName } from './run_engine.js';

export async function runCatalogueSync(dir: string, file: string, options: { engine?: EngineName } = {}): Promise<SyncSummary> {
  const parsed = parseSyncFile(await readFile(file, 'utf8'), file);
  const catalogue = await Catalogue.open(dir);
  try {
    // The model version is checked before the model is loaded: a wrong file fails fast.
    const { checkPackModel } = await import('../catalogue/pack.js');
    checkPackModel(parsed.pack.model, catalogue, `${file} (a sync file)`);
    const embedder = await runEmbedder(catalogue.setup, { ...(options.engine ? { engine: options.engine } : {}) });
    return await syncDecisions(catalogue, parsed, embedder, { source: basename(file) });
  } finally {
    await catalogue.close();
  }
}

/** One line per entry that needs a word, then the counts. */
export function describeSync(s: SyncSummary): string {
  const lines: string[] = [];
  for (const o of s.outcomes) {
    if (o.status === 'merged') lines.push(`${o.name} (${o.id}): encounter ${o.encounter}; the field match ${o.mergedFrom} has been merged into ${o.mergedInto}: proposed as ${o.mergedInto}`);
    else if (o.status === 'duplicate') lines.push(`${o.name} (${o.id}): already in the catalogue${o.encounter === null ? '' : ` (photo ${o.photo}, encounter ${o.encounter})`}; its field decision (${o.proposal.kind}${o.proposal.individualId ? ` ${o.proposal.individualId}` : ''}) is kept, attached to no encounter`);
    else if (o.status === 'rejected') lines.push(`${o.name} (${o.id}): not imported: ${o.reason}`);
  }
  const c = s.counts;
  lines.push(`${c.added + c.merged} new encounters to review with their field decisions${c.merged ? ` (${c.merged} matched to merged individuals)` : ''}, ${c.duplicate} already in the catalogue, ${c.already} synced before, ${c.rejected} not imported`);
  return lines.join('\n');
}
