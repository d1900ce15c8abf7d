import type { Command } from 'commander';
import { printTable } from '../table.js';

export function register(program: Command): void {
  program
    .command('models')
    .description('List the models: Keras-style parameter counts (non-trainable = BatchNorm running statistics), input size, normalisation, hub id')
    .option('--json', 'print a JSON array')
    .action(async (opts: { json?: boolean }) => {
      // Imported here, as in doctor.ts, so `finprint --help` does not load libtorch.
      const { createModel, listModels, modelEntry } = await import('../../models/index.js');
      const { countParameters } = await import('../../train/transfer.js');
      const rows = listModels().map((name) => {
        const cfg = modelEntry(name).pretrainedCfg;
        // Built rather than read from a manifest, so the counts are those of the code that runs.
        const model = createModel(name);
        try {
          return { name, ...countParameters(model), inputSize: cfg.inputSize, mean: cfg.mean, std: cfg.std, interpolation: cfg.interpolation, cropPct: cfg.cropPct, hfHubId: cfg.hfHubId };
        } finally {
          model.dispose();
        }
      });
      if (opts.json) {
        console.log(JSON.stringify(rows));
        return;
      }
      if (rows.length === 0) {
        console.log('no models registered');
        return;
      }
      const n = (v: number): string => v.toLocaleString('en-US');
      printTable(
        ['model', 'params', 'trainable', 'non-trainable', 'input', 'interp', 'crop', 'mean', 'std', 'hub id'],
        rows.map((r) => [r.name, n(r.total), n(r.trainable), n(r.nonTrainable), r.inputSize.join('x'), r.interpolation, String(r.cropPct), r.mean.join(','), r.std.join(','), r.hfHubId]),
      );
    });
}
