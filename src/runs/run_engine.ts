// A run on the inference engine asked for: libtorch (the run's own model) or ONNX Runtime over the
// run's best weights exported once and cached as engine.onnx in the run folder (or its fallback
// folder under FINPRINT_CACHE), keyed by the weights' SHA-256 recorded in the file's metadata.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnxEngine } from '../export/engine.js';
import { ENGINES, type EngineName } from '../identify/model.js';
import { readModelSummary } from '../export/onnx_proto.js';
import { checkExport } from '../export/ort.js';
import { exportTask } from '../export/trained.js';
import { checkOneOf } from '../util/check.js';
import { writeFileAtomic } from '../util/fs.js';
import { weightsDigest } from './gallery_cache.js';
import type { OpenRun } from './open_run.js';
import { runCacheCandidates, writeRunCache } from './run_cache.js';
import { RUN_FILES } from './run_folder.js';

export { ENGINES, type EngineName };

/** Largest ONNX Runtime vs libtorch difference accepted when the export is made (max |diff| / max |ref|, as export onnx). */
const TOLERANCE = 1e-4;
const WEIGHTS_KEY = 'finprint.weights_sha256';

function cachedExport(runDir: string, sha256: string): Uint8Array | undefined {
  for (const file of runCacheCandidates(runDir, RUN_FILES.engine)) {
    if (!existsSync(file)) continue;
    try {
      const bytes = new Uint8Array(readFileSync(file));
      if (readModelSummary(bytes).metadata[WEIGHTS_KEY] === sha256) return bytes;
    } catch {
      // Unreadable: exported again below.
    }
  }
  return undefined;
}

/**
 * The run's best weights as ONNX, exported (and checked with ONNX Runtime) the first time and
 * cached; a cache whose weights digest differs is replaced.
 */
export async function runOnnx(run: OpenRun, options: { quiet?: boolean } = {}): Promise<Uint8Array> {
  const { sha256 } = await weightsDigest(join(run.dir, RUN_FILES.best));
  const cached = cachedExport(run.dir, sha256);
  if (cached) return cached;
  const info = run.info;
  const exported = exportTask(run.task, {
    imageSize: info.imageSize,
    normalization: { mean: info.mean, std: info.std },
    metadata: { 'finprint.backbone': info.backbone, 'finprint.resize': info.mode, 'finprint.flips': String(run.flips), 'finprint.weights': 'best', [WEIGHTS_KEY]: sha256 },
  });
  const diffs = await checkExport(exported);
  for (const [name, d] of Object.entries(diffs)) {
    if (!(d <= TOLERANCE)) throw new Error(`--engine onnx: ONNX Runtime's ${name} differs from libtorch's by ${d.toExponential(2)} (max |diff| / max |ref|) for the run ${run.dir}; use --engine torch`);
  }
  const file = await writeRunCache(run.dir, RUN_FILES.engine, 'engine', (f) => writeFileAtomic(f, exported.bytes));
  if (!options.quiet) process.stderr.write(`engine: exported the run for ONNX Runtime to ${file}\n`);
  return exported.bytes;
}

/** The run with its forward pass on `engine` ('torch': as opened). */
export async function withEngine<T extends OpenRun>(run: T, engine: EngineName = 'torch', options: { quiet?: boolean } = {}): Promise<T> {
  checkOneOf('engine', engine, ENGINES);
  if (engine === 'torch') return run;
  return { ...run, engine: await onnxEngine(run, await runOnnx(run, options)) };
}
