import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { OpenSetMetrics } from '../../eval/open_set.js';
import type { EvaluationSummary } from '../../eval/summary.js';
import { formatDuration } from '../../util/progress.js';

const CLI = fileURLToPath(new URL('../../../../bin/finprint.js', import.meta.url));
/** The identification recipe measured in the README ("The embedding on its own"). */
const RECIPE = fileURLToPath(new URL('../../../../recipes/joint-crops.yaml', import.meta.url));

/**
 * The demo is a script of the same commands a user would type, each printed before it runs, so
 * its output doubles as a tutorial. The sizes keep the whole demo under 15 minutes on 2 cores.
 * With no pretrained weights offline, the backbones train from scratch: the winner's species
 * model is the starting point ("pretrained" weights) of both identification models, so they
 * compare on the same data, start and budget.
 */
function steps(out: string, quick: boolean): { title: string; args: string[] }[] {
  const data = join(out, 'data');
  const runs = join(out, 'runs');
  // 96 px: small enough for 2 CPU cores, and an input size every backbone can take. The quick
  // smoke test uses the reduced-width fixture variants of three families.
  const size = quick ? '64' : '96';
  const backbones = quick ? ['--backbones', 'vgg16_tiny,levit_192_tiny,coatnet_0_rw_tiny'] : [];
  const common = ['--image-size', size, '--batch-size', '16', '--quiet'];
  // After the tournament every model trains on the animals' boxes (the synthetic set's true boxes)
  // with the identification recipe: every block training, lr 0.002, on a demo-sized budget (the
  // recipe's 100 epochs take 26 minutes; a flag given here wins over the recipe file).
  const boxes = join(data, 'boxes.csv');
  const recipe = ['--config', RECIPE, '--crops', boxes, ...common];
  const species = ['--epochs', quick ? '1' : '4'];
  const identify = ['--epochs', quick ? '2' : '10'];
  const synth = quick ? ['--species', '4', '--individuals', '40', '--mean-images', '5', '--size', '128'] : [];
  return [
    { title: 'Generate the synthetic Happywhale-style dataset', args: ['synth', '--out', data, ...synth] },
    { title: 'Look at the data: counts, images per individual, chance benchmark (PCC)', args: ['eda', data, '--report', join(out, 'eda.html')] },
    {
      title: 'Elimination round: the five backbones on the same budget (species task)',
      args: ['tournament', '--data', data, ...backbones, '--budget-epochs', '1', ...common, '--limit', quick ? '120' : '300', '--out', join(out, 'tournament'), '--lr', '0.001', '--head-lr-mult', '2'],
    },
    {
      title: 'Final round: the winner learns species on all training photos (cut to their boxes from here on), from its tournament weights',
      args: ['train', '--data', data, '--task', 'species', '--backbone', 'winner', '--weights', 'winner-run', ...recipe, ...species, '--out', join(runs, 'species')],
    },
    {
      title: "The seed's approach for individuals: softmax over individual ids",
      args: ['train', '--data', data, '--task', 'individual-softmax', '--backbone', 'winner', '--weights', join(runs, 'species'), ...recipe, ...identify, '--out', join(runs, 'softmax')],
    },
    {
      title: "The winners' approach: embedding + ArcFace + species head (joint), nearest neighbours, tuned new_individual threshold",
      args: ['train', '--data', data, '--task', 'joint', '--backbone', 'winner', '--weights', join(runs, 'species'), ...recipe, ...identify, '--out', join(runs, 'arcface')],
    },
    { title: 'Evaluate both on the held-out test photos (MAP@5 against 1.25 x PCC)', args: ['evaluate', '--run', join(runs, 'softmax'), '--data', data, '--split', 'test'] },
    { title: '', args: ['evaluate', '--run', join(runs, 'arcface'), '--data', data, '--split', 'test', ...BLEND] },
    { title: 'Write the Kaggle submission and score it against the answers', args: ['predict', '--run', join(runs, 'arcface'), '--data', data, '--out', join(out, 'submission.csv'), ...BLEND] },
    { title: '', args: ['score', join(data, 'test_solution.csv'), join(out, 'submission.csv')] },
    {
      title: 'Identify a few test photos (blended scores, and the gallery alone) and show them beside the gallery photos they matched',
      args: ['identify', '--run', join(runs, 'arcface'), '--data', data, ...BLEND, '--quiet', '--report', join(out, 'matches.html'), 'test-photos'],
    },
    {
      title: 'A catalogue of the known individuals (the training photos), embedded with the ArcFace model',
      args: ['catalogue', 'init', join(out, 'catalogue'), '--run', join(runs, 'arcface'), '--quiet'],
    },
    {
      title: 'A survey arrives: the test photos become encounters to review, each ranked against the catalogue',
      args: ['catalogue', 'import', join(out, 'catalogue'), join(data, 'test_images'), '--boxes', boxes, '--quiet'],
    },
  ];
}

// Gallery similarity blended with the ArcFace class centres: with a few photos per individual the
// centres, trained on all of them, are steadier than any single gallery photo.
const BLEND = ['--blend', '0.5'];

/** The two identification approaches side by side, from the evaluation.json files evaluate wrote. */
function comparison(out: string): string {
  const read = (name: string): EvaluationSummary => JSON.parse(readFileSync(join(out, 'runs', name, 'evaluation.json'), 'utf8')) as EvaluationSummary;
  const softmax = read('softmax');
  const arcface = read('arcface');
  const pct = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3)).padStart(7);
  const row = (name: string, m: OpenSetMetrics | null): string[] =>
    m ? [`  ${name.padEnd(36)}${pct(m.map5)}${pct(m.top1_known)}${pct(m.top5_known)}${pct(m.map)}${pct(m.baks)}${pct(m.baus)}${pct(m.auc)}`] : [];
  return [
    'test MAP@5, same data, starting weights and epochs:',
    `  softmax over individuals (the seed)   ${softmax.map5.toFixed(4)}`,
    `  ArcFace embedding + gallery search    ${arcface.map5.toFixed(4)}`,
    `  bar to beat, 1.25 x PCC               ${arcface.pcc125.toFixed(4)}`,
    '',
    'open-set metrics on the test photos (known: the gallery has the individual):',
    `  ${'scores'.padEnd(36)}${['MAP@5', 'top-1', 'top-5', 'mAP', 'BAKS', 'BAUS', 'AUC'].map((h) => h.padStart(7)).join('')}`,
    ...row('softmax run, gallery only', softmax.open_set.gallery),
    ...row('ArcFace run, gallery only', arcface.open_set.gallery),
    ...row(`ArcFace run, blended (${arcface.blend})`, arcface.open_set.blended),
  ].join('\n');
}

/** The first few test photos, by name: enough to look through in matches.html. */
function testPhotos(out: string): string[] {
  const dir = join(out, 'data', 'test_images');
  return readdirSync(dir).sort().slice(0, 8).map((f) => join(dir, f));
}

function winnerOf(out: string): string {
  const file = join(out, 'tournament', 'tournament.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { winner: string }).winner;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('Run the whole workflow on the built-in synthetic dataset: data, tournament, training, evaluation, submission')
    .option('--out <dir>', 'folder for the data, runs and reports', 'demo-out')
    .option('--quick', 'a much smaller version (about a minute), as a smoke test')
    .addHelpText('after', '\nExample:\n  finprint demo --out demo-out')
    .action((o: { out: string; quick?: boolean }) => {
      const out = resolve(o.out);
      const started = performance.now();
      const list = steps(out, o.quick ?? false);
      let winner = '';
      for (const [i, step] of list.entries()) {
        if (step.args[0] === 'synth' && existsSync(join(out, 'data', 'train.csv'))) {
          console.log(`\n[${i + 1}/${list.length}] dataset already in ${join(out, 'data')}, kept`);
          continue;
        }
        const args = step.args.flatMap((a) => (a === 'winner' ? winner : a === 'winner-run' ? join(out, 'tournament', winner) : a === 'test-photos' ? testPhotos(out) : a));
        if (step.title) console.log(`\n[${i + 1}/${list.length}] ${step.title}  (${formatDuration((performance.now() - started) / 1000)} so far)`);
        console.log(`$ finprint ${args.join(' ')}`);
        const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'inherit' });
        if (r.status !== 0) throw new Error(`demo step failed: finprint ${args.join(' ')} (exit ${r.status ?? r.signal})`);
        if (args[0] === 'tournament') winner = winnerOf(out);
      }
      console.log(`\n${comparison(out)}`);
      console.log(`\nreview the new encounters in your browser:\n$ finprint serve --catalogue ${join(out, 'catalogue')}`);
      console.log(`\ndemo finished in ${formatDuration((performance.now() - started) / 1000)}. Open:`);
      for (const f of ['eda.html', 'tournament/tournament.html', 'runs/species/report.html', 'runs/softmax/report.html', 'runs/arcface/report.html', 'runs/arcface/evaluation.html', 'submission.csv', 'matches.html']) console.log(`  ${join(out, f)}`);
    });
}
