// evaluation.html: the open-set metrics table, one row per way of scoring, n/a where a metric has
// nothing to measure, and the protocol named.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenSetMetrics } from '../../src/eval/open_set.js';
import type { Evaluation } from '../../src/eval/summary.js';
import { writeEvaluationReport } from '../../src/report/evaluation.js';
import { tempDir } from '../data/helpers.js';

const openSet = (over: Partial<OpenSetMetrics>): OpenSetMetrics => ({
  queries: 10, known_queries: 10, unknown_queries: 0, threshold: 0.5, map5: 0.8, top1_known: 0.8, top5_known: 0.9, map: 0.75, baks: 0.7, baus: null, auc: null, ...over,
});

function evaluation(blended: OpenSetMetrics | null, protocol: 'closed' | 'disjoint'): Evaluation {
  const recall = { images: 10, top1: 0.8, top5: 0.9 };
  return {
    summary: {
      run: '/runs/r', split: 'val', protocol, protocol_seed: protocol === 'disjoint' ? 4 : null, task: 'individual', images: 10, map5: 0.8, top1: 0.8, top5: 0.9,
      species_accuracy: null, threshold: 0.5, threshold_method: 'best MAP@5 on validation', known_recall: 0.8, new_recall: null, known_images: 10, new_images: 0,
      per_species_map5: { beluga: 0.8 }, pcc: 0.1, pcc125: 0.125, blend: blended ? 0.3 : 0,
      gallery: { photos: 20, rows: 20, mirrors: false, cached: true, with_validation: false, reference: protocol === 'disjoint' },
      open_set: { gallery: openSet({}), blended },
    },
    metrics: { images: 10, map5: 0.8, top1: 0.8, top5: 0.9, known: recall, new: { images: 0, top1: 0, top5: 0 }, perSpecies: [{ group: 'beluga', images: 10, map5: 0.8 }] },
    calibration: { threshold: 0.5, map5: 0.8, curve: [{ threshold: 0.4, map5: 0.7, newShare: 0 }, { threshold: 0.5, map5: 0.8, newShare: 0.1 }] },
  };
}

/** The open-set table's rows as text cells. */
function openSetRows(html: string): string[][] {
  const table = html.split('Open-set metrics')[1]!.split('</table>')[0]!;
  return [...table.matchAll(/<tr>(.*?)<\/tr>/gs)].slice(1).map((m) => [...m[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((c) => c[1]!.trim()));
}

describe('writeEvaluationReport: open-set metrics', () => {
  it('shows the gallery-only row, n/a for metrics without anything to measure, and the protocol', async () => {
    const out = join(await tempDir(), 'evaluation.html');
    await writeEvaluationReport(out, evaluation(null, 'closed'));
    const html = readFileSync(out, 'utf8');
    const rows = openSetRows(html);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]![0], 'gallery similarity only');
    assert.equal(rows[0]![2], '10 / 0');
    assert.equal(rows[0]![3], '0.8000', 'MAP@5');
    assert.deepEqual(rows[0]!.slice(8), ['n/a', 'n/a'], 'BAUS and AUC without unknown queries');
    assert.match(html, /closed protocol: only photos of individuals the gallery has/);
    assert.match(html, /BAKS\/BAUS \(as wildlife-datasets defines them\)/);
  });

  it('adds the blended row when the run blends, and names the disjoint reference gallery and seed', async () => {
    const out = join(await tempDir(), 'evaluation.html');
    await writeEvaluationReport(out, evaluation(openSet({ map: null, baus: 0.25, auc: 0.6, unknown_queries: 2, queries: 12 }), 'disjoint'));
    const html = readFileSync(out, 'utf8');
    const rows = openSetRows(html);
    assert.deepEqual(rows.map((r) => r[0]), ['gallery similarity only', 'blended (weight 0.3)']);
    assert.equal(rows[1]![6], 'n/a', 'no mAP for blended scores');
    assert.equal(rows[1]![2], '10 / 2');
    assert.match(html, /disjoint protocol[^<]*\(seed 4\)[^<]*20 reference photos/);
  });
});
