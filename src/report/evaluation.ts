// evaluation.html of a run: the headline metrics, the new_individual threshold curve it was
// chosen from, MAP@5 per species, known vs new recall and the species confusion matrix.
import type { ReliabilityBin } from '../eval/calibration.js';
import type { Evaluation } from '../eval/summary.js';
import { writePage, type Section } from './html.js';
import { thresholdChart } from './training.js';

/** Predicted P(same individual) against how often the candidates were the same individual; the diagonal is perfect calibration. */
function reliabilitySection(bins: readonly ReliabilityBin[], split: string): Section {
  const points = bins.map((b) => ({ x: b.predicted, y: b.observed }));
  return {
    title: 'Calibrated probability: reliability',
    blocks: [
      {
        kind: 'chart',
        config: {
          type: 'scatter',
          data: {
            datasets: [
              { label: 'candidates (binned)', data: points, backgroundColor: '#2563eb', showLine: true, borderColor: '#2563eb' },
              { label: 'perfect calibration', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: '#9ca3af', borderDash: [4, 4], pointRadius: 0 },
            ],
          },
          options: { scales: { x: { min: 0, max: 1, title: { display: true, text: 'predicted P(same individual)' } }, y: { min: 0, max: 1, title: { display: true, text: 'observed share' } } } },
        },
      },
      {
        kind: 'text',
        text: `P(same individual | score) is fitted by isotonic regression on the validation split's candidates and shown to reviewers in the catalogue. ${split === 'val' ? 'These are the candidates it was fitted on, so the fit looks better than it will on new photos.' : 'These test photos were not used to fit it.'}`,
      },
      { kind: 'table', columns: ['predicted', 'observed', 'candidates'], rows: bins.map((b) => [b.predicted, b.observed, b.count]) },
    ],
  };
}

export async function writeEvaluationReport(path: string, e: Evaluation): Promise<void> {
  const s = e.summary;
  const m = e.metrics;
  const sections: Section[] = [
    {
      title: `Result (${s.split === 'val' ? 'validation split' : 'test split, test_solution.csv'})`,
      blocks: [
        {
          kind: 'stats',
          items: [
            ['MAP@5', s.map5],
            ['top-1', s.top1],
            ['top-5', s.top5],
            ['species accuracy', s.species_accuracy ?? 'n/a'],
            ['photos', s.images],
            ['new_individual threshold', s.threshold],
          ],
        },
        {
          kind: 'text',
          text: `Threshold: ${s.threshold_method}. Scores: best cosine similarity to ${s.gallery.photos} gallery photos${s.gallery.with_validation ? ' (the training split and the validation photos)' : ''}${s.gallery.mirrors ? ' and their mirrors' : ''}${s.blend > 0 ? `, blended with the ArcFace class-centre cosine at weight ${s.blend}` : ''}.${s.split === 'val' ? ' The threshold was tuned on these same photos, so this MAP@5 is optimistic.' : ''}`,
        },
        {
          kind: 'table',
          columns: ['photos of', 'count', 'top-1 found', 'top-5 found'],
          rows: [
            ['known individuals (right id)', m.known.images, m.known.top1, m.known.top5],
            ['new individuals (new_individual)', m.new.images, m.new.top1, m.new.top5],
          ],
        },
      ],
    },
    { title: 'new_individual threshold', blocks: [thresholdChart(e.calibration.curve)] },
    ...(e.reliability ? [reliabilitySection(e.reliability, s.split)] : []),
    {
      title: 'MAP@5 by species',
      blocks: [
        {
          kind: 'chart',
          config: {
            type: 'bar',
            data: { labels: m.perSpecies.map((g) => g.group), datasets: [{ label: 'MAP@5', data: m.perSpecies.map((g) => g.map5), backgroundColor: '#2563eb' }] },
            options: { indexAxis: 'y', scales: { x: { min: 0, max: 1 } } },
          },
          height: Math.max(160, 28 * m.perSpecies.length),
        },
        { kind: 'table', columns: ['species', 'photos', 'MAP@5'], rows: m.perSpecies.map((g) => [g.group, g.images, g.map5]) },
      ],
    },
  ];
  if (e.confusion) {
    const c = e.confusion;
    sections.push({
      title: 'Species confusion matrix (rows: truth, columns: predicted)',
      blocks: [{ kind: 'table', columns: ['truth \\ predicted', ...c.labels], rows: c.matrix.map((row, i) => [c.labels[i]!, ...row]) }],
    });
  }
  await writePage(path, { title: `finprint evaluation: ${s.task} run`, subtitle: s.run, sections });
}
