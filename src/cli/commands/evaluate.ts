import { join } from 'node:path';
import type { Command } from 'commander';
import { addRunOptions, identifierOptions, resolveRun, type ModelFlags } from './run_options.js';
import { nonNegativeIntArg, shareArg } from './parse.js';

export function register(program: Command): void {
  addRunOptions(
    program
      .command('evaluate')
      .description("MAP@5, top-1/top-5, species accuracy, known/new recall and the open-set metrics (top-1/top-5 on known individuals, mAP, BAKS, BAUS, AUC of new vs known) of a run on its validation split or a labelled test split; writes evaluation.html and evaluation.json in the run folder.")
      .option('--split <split>', 'val (the run\'s validation split; calibrates and stores the new_individual threshold) | test (test_images/ with test_solution.csv)', 'val')
      .option('--protocol <protocol>', 'open (every photo against the gallery, the Kaggle setting) | closed (only photos of individuals the gallery has) | disjoint (only photos of named individuals it lacks, against a reference gallery of one photo per such individual)', 'open')
      .option('--seed <n>', "seed of the disjoint protocol's choice of reference photos", nonNegativeIntArg, 0)
      .option('--new-share <f>', 'choose the threshold whose share of new_individual answers is closest to f, instead of the best MAP@5', shareArg)
      .option('--json', 'print one JSON object'),
    { zeroShot: true },
  )
    .addHelpText('after', '\nExamples:\n  finprint evaluate --run runs/arcface --data demo-data --split test --json\n  finprint evaluate --run runs/arcface --protocol disjoint --seed 1\n  finprint evaluate --model miewid --data demo-data --split test')
    .action(async (flags: ModelFlags & { split: string; protocol: string; seed: number; newShare?: number; json?: boolean }) => {
      const f = await resolveRun(flags);
      const { evaluateRun } = await import('../../runs/evaluate.js');
      const { SPLITS } = await import('../../eval/summary.js');
      const { PROTOCOLS } = await import('../../data/split.js');
      const { writeEvaluationReport } = await import('../../report/evaluation.js');
      const { checkOneOf } = await import('../../util/check.js');
      const { writeFileAtomic } = await import('../../util/fs.js');
      const split = checkOneOf('--split', f.split, SPLITS);
      const protocol = checkOneOf('--protocol', f.protocol, PROTOCOLS);
      const e = await evaluateRun(f.run, { ...identifierOptions(f), split, protocol, seed: f.seed, newShare: f.newShare });
      const report = join(e.summary.run, 'evaluation.html');
      // The figures are printed either way; a run folder that cannot be written (read-only) only loses the files.
      const written = await Promise.all([writeEvaluationReport(report, e), writeFileAtomic(join(e.summary.run, 'evaluation.json'), JSON.stringify(e.summary, null, 2))]).then(
        () => true,
        (err: Error) => {
          process.stderr.write(`evaluate: ${err.message}; the results are printed only\n`);
          return false;
        },
      );
      const s = e.summary;
      if (f.json) {
        console.log(JSON.stringify(s));
        return;
      }
      const pct = (v: number | null): string => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
      const protocolText = s.protocol === 'disjoint' ? `disjoint protocol (seed ${s.protocol_seed}), against ${s.gallery.photos} reference photos` : `${s.protocol} protocol`;
      console.log(`${s.split} split, ${protocolText}, ${s.images} photos (${s.known_images} of known, ${s.new_images} of new individuals):`);
      console.log(`  MAP@5 ${s.map5.toFixed(4)}  top-1 ${pct(s.top1)}  top-5 ${pct(s.top5)}  species accuracy ${pct(s.species_accuracy)}`);
      console.log(`  chance: PCC ${pct(s.pcc)}, 1.25 x PCC ${pct(s.pcc125)} (top-1 ${s.top1 > s.pcc125 ? 'beats' : 'does not beat'} it)`);
      console.log(`  known individuals found (top-1) ${pct(s.known_recall)}  new individuals flagged (top-1) ${pct(s.new_recall)}`);
      console.log(`  new_individual threshold ${s.threshold.toFixed(4)} (${s.threshold_method})`);
      const paths = [['gallery-only', s.open_set.gallery], ['blended', s.open_set.blended]] as const;
      for (const [name, m] of paths) {
        if (!m) continue;
        console.log(`  open-set, ${name} scores: MAP@5 ${m.map5.toFixed(4)}  top-1 known ${pct(m.top1_known)}  top-5 known ${pct(m.top5_known)}  mAP ${pct(m.map)}  BAKS ${pct(m.baks)}  BAUS ${pct(m.baus)}  AUC new vs known ${pct(m.auc)}`);
      }
      for (const [species, v] of Object.entries(s.per_species_map5)) console.log(`  ${species.padEnd(28)} MAP@5 ${v.toFixed(4)}`);
      if (written) console.log(`report: ${report}`);
    });
}
