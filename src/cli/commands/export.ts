import type { Command } from 'commander';

interface OnnxFlags {
  run: string;
  out: string;
  weights: 'best' | 'last';
  detector?: string;
  detectorOut?: string;
  force?: boolean;
  check: boolean;
  json?: boolean;
}

/** Largest ONNX Runtime vs finprint difference accepted by the check after writing (max |diff| / max |ref|). */
const TOLERANCE = 1e-4;

export function register(program: Command): void {
  const exp = program.command('export').description('Write trained models in other formats (ONNX)');
  exp
    .command('onnx')
    .description(
      'Write a run (and optionally a detector) as ONNX opset 17 with a dynamic batch: input `pixels` (RGB in [0, 1], channels first, resized by the caller; the mean/std normalisation is in the graph), outputs `embedding`, `species_logits` and, for ArcFace runs, `class_cosines`. Each file is checked with ONNX Runtime against finprint before it is written.',
    )
    .requiredOption('--run <dir>', 'run folder written by finprint train')
    .requiredOption('--out <file.onnx>', 'ONNX file to write')
    .option('--weights <which>', 'best | last', 'best')
    .option('--detector <dir>', 'also export this detector (a folder written by finprint detector train)')
    .option('--detector-out <file.onnx>', "the detector's ONNX file (with --detector)")
    .option('--force', 'replace existing output files')
    .option('--no-check', 'skip the ONNX Runtime check')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  finprint export onnx --run runs/joint --out joint.onnx --detector runs/detector --detector-out detector.onnx')
    .action(async (f: OnnxFlags) => {
      const { join, resolve } = await import('node:path');
      const { checkOutputFile } = await import('../../util/outputs.js');
      const { readRunRecords, runFolderFiles } = await import('../../runs/run_folder.js');
      const { DETECTOR_FILES } = await import('../../detect/detector.js');
      if (f.weights !== 'best' && f.weights !== 'last') throw new Error(`--weights must be best or last, got ${String(f.weights)}`);
      if (!f.detector !== !f.detectorOut) throw new Error('--detector and --detector-out go together');
      const run = readRunRecords(f.run);
      const inputs = [...runFolderFiles(run.dir), ...(f.detector ? Object.values(DETECTOR_FILES).map((n) => join(f.detector!, n)) : [])];
      checkOutputFile(f.out, { flag: '--out', force: f.force ?? false, inputs });
      if (f.detectorOut) {
        checkOutputFile(f.detectorOut, { flag: '--detector-out', force: f.force ?? false, inputs });
        if (resolve(f.detectorOut) === resolve(f.out)) throw new Error('--detector-out must differ from --out');
      }

      const { openRun } = await import('../../runs/open_run.js');
      const { exportTask, exportDetector } = await import('../../export/trained.js');
      const { checkExport } = await import('../../export/ort.js');
      const { writeFileAtomic } = await import('../../util/fs.js');
      const write = async (file: string, exported: Parameters<typeof checkExport>[0], what: string): Promise<Record<string, number> | null> => {
        const diffs = f.check ? await checkExport(exported) : null;
        for (const [name, d] of Object.entries(diffs ?? {})) {
          if (!(d <= TOLERANCE)) throw new Error(`ONNX Runtime's ${name} differs from finprint's by ${d.toExponential(2)} (max |diff| / max |ref|) for ${what}; ${file} not written`);
        }
        await writeFileAtomic(file, exported.bytes);
        return diffs;
      };

      const opened = await openRun(run.dir, { weights: f.weights });
      const info = opened.info;
      const model = exportTask(opened.task, {
        imageSize: info.imageSize,
        normalization: { mean: info.mean, std: info.std },
        metadata: { 'finprint.backbone': info.backbone, 'finprint.resize': info.mode, 'finprint.flips': String(opened.flips), 'finprint.weights': f.weights },
      });
      const modelCheck = await write(f.out, model, `the run ${f.run}`);
      const summary: Record<string, unknown> = { out: f.out, outputs: model.outputNames, bytes: model.bytes.length, check: modelCheck };
      let detectorLine = '';
      if (f.detector && f.detectorOut) {
        const { Detector } = await import('../../detect/detector.js');
        const det = await Detector.open(f.detector);
        const exported = exportDetector(det.model, { normalization: { mean: det.info.mean, std: det.info.std }, metadata: { 'finprint.backbone': det.info.model.backbone } });
        const detCheck = await write(f.detectorOut, exported, `the detector ${f.detector}`);
        summary.detector = { out: f.detectorOut, outputs: exported.outputNames, bytes: exported.bytes.length, check: detCheck };
        detectorLine = `\n${f.detectorOut}: detector ${det.info.model.backbone} ${det.info.model.imageSize}px -> heads${describe(detCheck)}`;
      }
      if (f.json) console.log(JSON.stringify(summary));
      else console.log(`${f.out}: ${info.task} run, ${info.backbone} ${info.imageSize}px -> ${model.outputNames.join(', ')}${describe(modelCheck)}${detectorLine}`);
    });
}

function describe(diffs: Record<string, number> | null): string {
  if (!diffs) return ' (not checked)';
  const worst = Math.max(...Object.values(diffs));
  return ` (ONNX Runtime matches finprint: max rel diff ${worst.toExponential(1)})`;
}
