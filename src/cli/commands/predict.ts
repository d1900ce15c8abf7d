import type { Command } from 'commander';
import { addRunOptions, checkRunOutput, identifierOptions, resolveRun, type ModelFlags } from './run_options.js';
import { shareArg } from './parse.js';

export function register(program: Command): void {
  addRunOptions(
    program
      .command('predict')
      .description('Write the Kaggle submission (image,predictions: five ids per test photo, new_individual placed by the stored threshold).')
      .requiredOption('--out <file.csv>', 'submission file to write (checked before it is written)')
      .option('--force', 'replace --out if it exists')
      .option('--new-share <f>', 'use (or calibrate) the threshold whose share of new_individual answers on validation is closest to f', shareArg),
    { zeroShot: true },
  )
    .addHelpText('after', '\nExamples:\n  finprint predict --run runs/arcface --data demo-data --out submission.csv\n  finprint predict --model miewid --data demo-data --out submission.csv   # zero-shot')
    .action(async (flags: ModelFlags & { out: string; newShare?: number; force?: boolean }) => {
      const f = await resolveRun(flags);
      await checkRunOutput(f, '--out', f.out);
      const { predictSubmission } = await import('../../runs/predict.js');
      const r = await predictSubmission(f.run, f.out, { ...identifierOptions(f), newShare: f.newShare });
      console.log(`${f.out}: ${r.images} test photos, new_individual first for ${r.newFirst} (threshold ${r.threshold.toFixed(4)})`);
    });
}
