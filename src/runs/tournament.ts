// The seed's elimination round: every backbone trains with the same recipe and budget on the same
// split; the leaderboard compares parameters (trainable and not), time, speed and the best
// validation score. Optionally the winner then trains further with fine-tuning (the final).
import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { CheckpointSlot } from '../io/checkpoint.js';
import { writeFileAtomic } from '../util/fs.js';
import { writePage, type Section } from '../report/html.js';
import { curveChart } from '../report/training.js';
import { resolveConfig, type TrainConfig } from '../train/config.js';
import type { RunResult } from './run_folder.js';
import { trainRun } from './train_run.js';

export interface TournamentOptions {
  /** Recipe shared by every entrant; backbone and out are set per entrant. */
  recipe: Partial<TrainConfig> & { data: string };
  backbones: string[];
  budgetEpochs: number;
  out: string;
  /** Further fine-tuning epochs for the winner (0: none). */
  finals?: number;
  quiet?: boolean;
  log?: (message: string) => void;
}

export interface LeaderboardRow {
  rank: number;
  backbone: string;
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  seconds: number;
  imgPerSecond: number;
  metric: string;
  best: number;
  bestEpoch: number;
  runDir: string;
}

export interface TournamentResult {
  metric: string;
  leaderboard: LeaderboardRow[];
  winner: string;
  finals?: { runDir: string; best: number; epochs: number };
  report: string;
}

function bestOf(r: RunResult, metric: string): { best: number; epoch: number } {
  let best = -Infinity;
  let epoch = 0;
  for (const h of r.history) {
    const v = h[metric];
    if (v !== undefined && v > best) {
      best = v;
      epoch = h.epoch!;
    }
  }
  return { best, epoch };
}

export async function runTournament(o: TournamentOptions): Promise<TournamentResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (o.backbones.length === 0) throw new Error('tournament: --backbones needs at least one model name');
  const twice = o.backbones.filter((b, i) => o.backbones.indexOf(b) !== i);
  if (twice.length) throw new Error(`tournament: --backbones names ${[...new Set(twice)].join(', ')} more than once; each backbone enters once`);
  const out = resolve(o.out);
  await mkdir(out, { recursive: true });
  const results: { backbone: string; result: RunResult; cfg: TrainConfig }[] = [];
  for (const [i, backbone] of o.backbones.entries()) {
    log(`tournament: ${i + 1}/${o.backbones.length} ${backbone}`);
    const cfg = resolveConfig({ ...o.recipe, backbone, epochs: o.budgetEpochs, fineTuneEpochs: 0, out: join(out, backbone) });
    // An entrant with a checkpoint (a re-run after a crash) is resumed; one that finished is not retrained.
    const result = await trainRun(cfg, { resume: new CheckpointSlot(cfg.out).exists(), quiet: o.quiet ?? false, log });
    results.push({ backbone, result, cfg });
  }
  const metric = o.recipe.task === 'species' || o.recipe.task === undefined ? 'val_accuracy' : 'val_map5';
  const leaderboard = results
    .map(({ backbone, result }) => {
      const { best, epoch } = bestOf(result, metric);
      return {
        rank: 0,
        backbone,
        totalParams: result.parameters.total,
        trainableParams: result.parameters.trainable,
        nonTrainableParams: result.parameters.nonTrainable,
        seconds: result.seconds,
        imgPerSecond: result.imagesPerSecond,
        metric,
        best,
        bestEpoch: epoch,
        runDir: result.runDir,
      };
    })
    .sort((a, b) => b.best - a.best)
    .map((row, i) => ({ ...row, rank: i + 1 }));
  const winner = leaderboard[0]!;
  const tournament: TournamentResult = { metric, leaderboard, winner: winner.backbone, report: join(out, 'tournament.html') };
  if ((o.finals ?? 0) > 0) {
    log(`finals: ${winner.backbone} trains ${o.finals} more epoch(s) with fine-tuning`);
    const entrant = results.find((r) => r.backbone === winner.backbone)!;
    // Resuming the winner's run with fine-tuning epochs added continues it as its second phase.
    const cfg = resolveConfig({ ...entrant.cfg, fineTuneEpochs: o.finals });
    const r = await trainRun(cfg, { resume: true, quiet: o.quiet ?? false, log });
    tournament.finals = { runDir: r.runDir, best: bestOf(r, metric).best, epochs: r.history.length };
    results.find((x) => x.backbone === winner.backbone)!.result = r;
  }
  await writeFileAtomic(join(out, 'tournament.json'), JSON.stringify(tournament, null, 2));
  await writeTournamentReport(tournament, results, o.budgetEpochs);
  return tournament;
}

async function writeTournamentReport(t: TournamentResult, results: { backbone: string; result: RunResult }[], budget: number): Promise<void> {
  const epochs = Array.from({ length: Math.max(...results.map((r) => r.result.history.length)) }, (_, i) => i + 1);
  const series = (key: string): { label: string; points: (number | undefined)[] }[] => results.map((r) => ({ label: r.backbone, points: epochs.map((e) => r.result.history[e - 1]?.[key]) }));
  const sections: Section[] = [
    {
      title: `Leaderboard (${budget} epoch budget each, ranked by best ${t.metric})`,
      blocks: [
        {
          kind: 'table',
          columns: ['rank', 'backbone', 'parameters', 'trainable', 'non-trainable', 'time (s)', 'img/s', `best ${t.metric}`, 'at epoch'],
          rows: t.leaderboard.map((r) => [r.rank, r.backbone, r.totalParams, r.trainableParams, r.nonTrainableParams, +r.seconds.toFixed(1), +r.imgPerSecond.toFixed(1), +r.best.toFixed(4), r.bestEpoch]),
        },
        ...(t.finals ? [{ kind: 'text' as const, text: `Final: ${t.winner} trained to ${t.finals.epochs} epochs with fine-tuning, best ${t.metric} ${t.finals.best.toFixed(4)} (${t.finals.runDir}).` }] : []),
      ],
    },
    {
      title: 'Learning curves per backbone',
      blocks: [curveChart(`Validation ${t.metric}`, series(t.metric), epochs), curveChart('Validation loss', series('val_loss'), epochs), curveChart('Training loss', series('loss'), epochs)],
    },
  ];
  await writePage(t.report, { title: 'finprint backbone tournament', subtitle: `winner: ${t.winner}`, sections });
}

/** The leaderboard as header and text rows, for a terminal table. */
export function leaderboardTable(t: TournamentResult): { header: string[]; rows: string[][] } {
  const header = ['rank', 'backbone', 'params', 'trainable', 'non-trainable', 'time s', 'img/s', `best ${t.metric}`, 'epoch'];
  const rows = t.leaderboard.map((r) => [String(r.rank), r.backbone, r.totalParams.toLocaleString('en'), r.trainableParams.toLocaleString('en'), r.nonTrainableParams.toLocaleString('en'), r.seconds.toFixed(1), r.imgPerSecond.toFixed(1), r.best.toFixed(4), String(r.bestEpoch)]);
  return { header, rows };
}
