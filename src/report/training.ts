// report.html of a training run: learning curves, learning rate, species confusion matrix,
// the new_individual threshold curve, the resolved config and timing.
import type { CropCounts } from '../data/crop.js';
import type { Logs } from '../train/callbacks/index.js';
import type { Evaluation, Labels } from '../train/tasks.js';
import { writePage, type Block, type Section } from './html.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4d7c0f', '#be185d'];

/** A line chart of some history columns against the epoch. */
export function curveChart(title: string, series: { label: string; points: (number | undefined)[] }[], epochs: number[]): Block {
  return {
    kind: 'chart',
    title,
    config: {
      type: 'line',
      data: { labels: epochs, datasets: series.map((s, i) => ({ label: s.label, data: s.points, borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length], spanGaps: true })) },
      options: { responsive: true, maintainAspectRatio: false, scales: { x: { title: { display: true, text: 'epoch' } } } },
    },
  };
}

/** MAP@5 and the share of new_individual answers against the threshold (a validation sweep). */
export function thresholdChart(curve: readonly { threshold: number; map5: number; newShare: number }[]): Block {
  return {
    kind: 'chart',
    title: 'MAP@5 and share of new_individual answers by threshold (validation)',
    config: {
      type: 'line',
      data: {
        labels: curve.map((p) => p.threshold.toFixed(3)),
        datasets: [
          { label: 'MAP@5', data: curve.map((p) => p.map5), borderColor: COLORS[0] },
          { label: 'new_individual share', data: curve.map((p) => p.newShare), borderColor: COLORS[1] },
        ],
      },
      options: { responsive: true, maintainAspectRatio: false, scales: { x: { title: { display: true, text: 'cosine threshold' } } } },
    },
  };
}

/** What the page shows of a finished training run (a run's result.json holds the same fields). */
export interface ReportedRun {
  runDir: string;
  history: Logs[];
  final: Evaluation;
  stopReason: string | undefined;
  seconds: number;
  imagesPerSecond: number;
  parameters: { total: number };
  bestEpoch: number;
  crops: { train: CropCounts; val: CropCounts } | null;
}

export interface RunReportInput {
  config: Record<string, unknown>;
  result: ReportedRun;
  labels: Labels;
  task: string;
  /** Rows and photos left out of training (folder check, or pixels that did not decode), and why. */
  leftOut?: readonly { what: string; why: string }[];
}

export async function writeRunReport(path: string, input: RunReportInput): Promise<void> {
  const { result, labels } = input;
  const h = result.history;
  const epochs = h.map((r) => r.epoch!);
  const metricNames = [...new Set(h.flatMap((r) => Object.keys(r)))].filter((k) => !['epoch', 'lr', 'seconds', 'step'].includes(k));
  const losses = metricNames.filter((k) => k.includes('loss'));
  const scores = metricNames.filter((k) => !k.includes('loss'));
  const sections: Section[] = [
    {
      title: 'Result',
      blocks: [
        {
          kind: 'stats',
          items: [
            ...Object.entries(result.final.logs).map(([k, v]) => [k, v] as const),
            ['best epoch', result.bestEpoch],
            ['time', `${result.seconds.toFixed(1)} s`],
            ['training img/s', result.imagesPerSecond.toFixed(1)],
            ['parameters', result.parameters.total],
            ...(result.final.threshold !== undefined ? [['new_individual threshold', result.final.threshold] as const] : []),
            ...(result.crops ? [['photos cut to their box (train / val)', `${result.crops.train.cropped} / ${result.crops.val.cropped}`] as const, ['photos used whole, no usable box (train / val)', `${result.crops.train.whole} / ${result.crops.val.whole}`] as const] : []),
          ],
        },
        ...(result.stopReason ? [{ kind: 'text' as const, text: result.stopReason }] : []),
      ],
    },
    {
      title: 'Learning curves',
      blocks: [
        curveChart('Loss', losses.map((k) => ({ label: k, points: h.map((r) => r[k]) })), epochs),
        curveChart('Metrics', scores.map((k) => ({ label: k, points: h.map((r) => r[k]) })), epochs),
        curveChart('Learning rate (first parameter group, at epoch end)', [{ label: 'lr', points: h.map((r) => r.lr) }], epochs),
      ],
    },
  ];
  if (result.final.thresholdCurve?.length) {
    sections.push({ title: 'new_individual threshold', blocks: [thresholdChart(result.final.thresholdCurve)] });
  }
  sections.push({
    title: 'Species confusion matrix (validation; rows: truth, columns: predicted)',
    blocks: [{ kind: 'table', columns: ['truth \\ predicted', ...labels.species], rows: result.final.confusion.map((row, i) => [labels.species[i]!, ...row]) }],
  });
  sections.push({ title: 'Epochs', blocks: [{ kind: 'table', columns: ['epoch', ...metricNames, 'lr', 'seconds'], rows: h.map((r) => [r.epoch!, ...metricNames.map((k) => r[k] ?? ''), r.lr ?? '', r.seconds ?? '']) }] });
  if (input.leftOut?.length) sections.push({ title: `Left out of training (${input.leftOut.length})`, blocks: [{ kind: 'table', columns: ['row or photo', 'why'], rows: input.leftOut.map((l) => [l.what, l.why]) }] });
  sections.push({ title: 'Configuration', blocks: [{ kind: 'table', columns: ['option', 'value'], rows: Object.entries(input.config).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]) }] });
  await writePage(path, { title: `finprint training run: ${input.task}, ${String(input.config.backbone)}`, subtitle: result.runDir, sections });
}
