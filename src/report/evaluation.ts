// evaluation.html of a run: the headline metrics, the open-set metrics, the new_individual
// threshold curve it was chosen from, MAP@5 per species, known vs new recall and the species
// confusion matrix.
import type { ReliabilityBin } from '../eval/calibration.js';
import type { OpenSetMetrics } from '../eval/open_set.js';
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

const PROTOCOL_TEXT = {
  open: 'open protocol: every photo against the gallery, new_individual where it lacks the animal (the Kaggle setting)',
  closed: 'closed protocol: only photos of individuals the gallery has',
  disjoint: 'disjoint protocol: only photos of individuals the training split lacks, against a reference gallery of one photo (seeded choice) per such individual; an individual with a single photo is a query whose answer is new_individual',
} as const;

/** The open-set metrics of each way the photos were scored, one row each; n/a where a metric has nothing to measure. */
function openSetSection(e: Evaluation): Section {
  const s = e.summary;
  const cell = (v: number | null): string | number => v ?? 'n/a';
  const paths: [string, OpenSetMetrics | null][] = [['gallery similarity only', s.open_set.gallery], [`blended (weight ${s.blend})`, s.open_set.blended]];
  return {
    title: 'Open-set metrics',
    blocks: [
      {
        kind: 'table',
        columns: ['scores', 'threshold', 'known / unknown queries', 'MAP@5', 'top-1 known', 'top-5 known', 'mAP', 'BAKS', 'BAUS', 'AUC new vs known'],
        rows: paths.flatMap(([name, m]) => (m ? [[name, m.threshold, `${m.known_queries} / ${m.unknown_queries}`, m.map5, cell(m.top1_known), cell(m.top5_known), cell(m.map), cell(m.baks), cell(m.baus), cell(m.auc)]] : [])),
      },
      {
        kind: 'text',
        text: 'Known: the searched gallery has photos of the individual; unknown: it has none, so the right answer is new_individual. MAP@5: Kaggle\'s score of these scores alone, new_individual placed by the row\'s threshold. Top-1/top-5 known: the gallery ranking alone (no threshold). mAP: average precision of each query over all gallery photos ranked by similarity, queries without a gallery match left out. BAKS/BAUS (as wildlife-datasets defines them): the first answer, threshold applied, right for known queries / new_individual for unknown ones, averaged per individual and then over individuals. AUC: how well the best gallery similarity tells known queries from unknown ones (0.5 is chance, ties count half).',
      },
    ],
  };
}

export async function writeEvaluationReport(path: string, e: Evaluation): Promise<void> {
  const s = e.summary;
  const m = e.metrics;
  const sections: Section[] = [
    {
      title: `Result (${s.split === 'val' ? 'validation split' : 'test split, test_solution.csv'}, ${s.protocol} protocol)`,
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
          text: `${PROTOCOL_TEXT[s.protocol]}${s.protocol_seed !== null ? ` (seed ${s.protocol_seed})` : ''}. Threshold: ${s.threshold_method}. Scores: best cosine similarity to ${s.gallery.photos} ${s.gallery.reference ? 'reference' : 'gallery'} photos${s.gallery.with_validation ? ' (the training split and the validation photos)' : ''}${s.gallery.mirrors ? ' and their mirrors' : ''}${s.blend > 0 ? `, blended with the ArcFace class-centre cosine at weight ${s.blend}` : ''}.${s.split === 'val' ? ' The threshold was tuned on these same photos, so this MAP@5 is optimistic.' : ''}`,
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
    openSetSection(e),
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
