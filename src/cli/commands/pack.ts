import type { Command } from 'commander';

interface PackFlags {
  catalogue?: string;
  run?: string;
  out: string;
  species?: string[];
  individualsFrom?: string;
  force?: boolean;
  check: boolean;
  json?: boolean;
  quiet?: boolean;
}

// Modules are imported inside the action, so `finprint --help` does not load libtorch.
export function register(program: Command): void {
  program
    .command('pack')
    .description(
      "A field pack for offline identification (docs/field-pack.md): the model as ONNX (checked with ONNX Runtime), the known individuals' embeddings (embeddings.bin), their index (index.json), up to 3 reference thumbnails each, and manifest.json (model version, threshold, calibration, input). From a catalogue, or from a run's training photos when there is no catalogue yet. Served with finprint serve --pack; its field decisions come back with finprint catalogue sync.",
    )
    .option('--catalogue <dir>', 'catalogue folder: its known individuals (confirmed photos)')
    .option('--run <dir>', "run folder, when there is no catalogue: its gallery (training photos) as the known individuals")
    .requiredOption('--out <dir>', 'pack folder to write')
    .option('--species <species...>', 'only individuals of these species')
    .option('--individuals-from <csv>', 'only the individuals listed in this CSV (column individual_id)')
    .option('--force', 'replace an existing pack at --out')
    .option('--no-check', 'skip the ONNX Runtime check of the model')
    .option('--json', 'print the manifest as JSON')
    .option('--quiet', 'only the summary')
    .addHelpText('after', '\nExamples:\n  finprint pack --catalogue catalogue --out field-pack --species humpback_whale\n  finprint pack --run runs/arcface --out field-pack')
    .action(async (f: PackFlags) => {
      if (!f.catalogue === !f.run) throw new Error('give exactly one of --catalogue and --run');
      const { writePack, formatBytes } = await import('../../runs/pack.js');
      const { out, manifest } = await writePack({
        out: f.out,
        ...(f.catalogue ? { catalogue: f.catalogue } : { run: f.run! }),
        ...(f.species ? { species: f.species } : {}),
        ...(f.individualsFrom ? { individualsFrom: f.individualsFrom } : {}),
        force: f.force ?? false,
        check: f.check,
        ...(f.quiet || f.json ? {} : { log: (line: string) => console.error(`pack: ${line}`) }),
      });
      if (f.json) {
        console.log(JSON.stringify(manifest));
        return;
      }
      const b = manifest.bytes;
      console.log(`${out}: ${manifest.counts.individuals} individuals, ${manifest.counts.photos} photos, ${manifest.counts.thumbnails} thumbnails, model ${manifest.model.slice(0, 12)}`);
      console.log(`size ${formatBytes(b.total)} (${b.total} bytes): model ${formatBytes(b.model)}${b.detector ? `, detector ${formatBytes(b.detector)}` : ''}, embeddings ${formatBytes(b.embeddings)}, index ${formatBytes(b.index)}, thumbnails ${formatBytes(b.thumbnails)}, manifest ${formatBytes(b.manifest)}`);
    });
}
