import type { Command } from 'commander';
import { createRequire } from 'node:module';
import type { CompetitorSession } from '../../bench/competitors.js';
import { benchData } from '../../bench/data.js';
import type { ModelRow } from '../../bench/models.js';
import type { OnRound, SideBySide } from '../../bench/pytorch_side.js';
import { intArg, numberArg, positiveIntArg } from './parse.js';

/** Prints each round's rates to stderr as it ends. */
const roundLogger = (unit: string, digits: number): OnRound => (i, f, p) => console.error(`  round ${i + 1}: finprint ${f.toFixed(digits)} ${unit}, pytorch ${p.toFixed(digits)} ${unit}`);
const logRound = roundLogger('img/s', 1);

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter(Boolean);
// 'none' empties a list: no models at their default size, or no resolution table.
const modelList = (value: string): string[] => (value === 'none' ? [] : list(value));
const sizeList = (value: string): number[] => (value === 'none' ? [] : list(value).map(intArg));

/** What the figures depend on: each side's build, BLAS and threads. */
const finprintBuild = (f: SideBySide['finprint']): string => `libtorch ${f.libtorch}, ${f.blas}, ${f.threads} intra-op / ${f.interopThreads} inter-op threads, waiting: ${f.waitPolicy}`;
const pytorchBuild = (p: SideBySide['pytorch']): string => `torch ${p.torch}, ${p.blas}, ${p.threads} intra-op thread${p.threads === 1 ? '' : 's'}`;

interface Sides {
  unit: string;
  digits: number;
  finprint: number;
  pytorch: number;
  ratio: number;
  builds: Pick<SideBySide, 'finprint' | 'pytorch' | 'machine'> & Partial<Pick<SideBySide, 'rounds'>>;
  /** Added after finprint's rate, e.g. the total time. */
  note?: string;
  /** Added in brackets after PyTorch's rate, e.g. how it ran. */
  pytorchNote?: string;
  /** Lines printed after the ratio. */
  more?: string[];
}

const imagesPerSecond = (r: SideBySide): Sides => ({ unit: 'img/s', digits: 1, finprint: r.finprint_img_s, pytorch: r.pytorch_img_s, ratio: r.ratio, builds: r });

/** How far the paired rounds' ratios ranged around the median printed, when there were several. */
function roundSpread(rounds: SideBySide['rounds'] | undefined): string {
  if (!rounds || rounds.finprint.length < 2) return '';
  const ratios = rounds.finprint.map((f, i) => f / rounds.pytorch[i]!);
  return `  (median of ${ratios.length} paired rounds, ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)})`;
}

/** The result as one JSON object (--json), or a title and both sides' rates with their builds and the ratio. */
function show(json: boolean | undefined, result: object, title: string, s: Sides): void {
  if (json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(title);
  console.log(`  machine   ${s.builds.machine.cpu}, ${s.builds.machine.cores} cores, matmul 1024² ${s.builds.machine.matmulGflops} GFLOP/s`);
  console.log(`  finprint  ${s.finprint.toFixed(s.digits)} ${s.unit}  (${s.note ? `${s.note}; ` : ''}${finprintBuild(s.builds.finprint)})`);
  console.log(`  pytorch   ${s.pytorch.toFixed(s.digits)} ${s.unit}  (${s.pytorchNote ? `${s.pytorchNote}; ` : ''}${pytorchBuild(s.builds.pytorch)})`);
  console.log(`  ratio     ${s.ratio.toFixed(2)}x${roundSpread(s.builds.rounds)}`);
  for (const line of s.more ?? []) console.log(line);
}

/** The onnxruntime-node package's version. */
function onnxRuntimeVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}

function printModelTable(title: string, rows: ModelRow[], engine: 'libtorch' | 'onnx' = 'libtorch'): void {
  console.log(title);
  const ours = engine === 'onnx' ? 'finprint+ORT img/s' : 'finprint img/s';
  console.log(`  ${'model'.padEnd(18)} ${'size'.padStart(5)} ${ours.padStart(15)} ${'pytorch img/s'.padStart(14)} ${'ratio'.padStart(6)}`);
  for (const r of rows) {
    // libtorch: on a par with PyTorch; ONNX Runtime: the point is to be faster (efficientnet_b0 >= 1.5x).
    const target = engine === 'onnx' ? (r.model === 'efficientnet_b0' ? 1.5 : 0) : 0.95;
    const flag = r.ratio < target ? `  below the ${target} target` : '';
    console.log(`  ${r.model.padEnd(18)} ${String(r.size).padStart(5)} ${r.finprint_img_s.toFixed(1).padStart(15)} ${r.pytorch_img_s.toFixed(1).padStart(14)} ${r.ratio.toFixed(2).padStart(6)}${flag}`);
  }
}

/** `finprint bench <subject>`: benchmarks against PyTorch on this machine, one subcommand per subject. */
export function register(program: Command): void {
  const bench = program.command('bench').description('Benchmarks against PyTorch on this machine, side by side in one run.');

  bench
    .command('data')
    .description('Decode + resize + normalise JPEGs into batches: finprint loader vs PyTorch DataLoader.')
    .option('--json', 'print one JSON object')
    .option('--workers <n>', 'photos decoding at once / DataLoader workers', intArg, 2)
    .option('--images <n>', 'synthetic JPEGs to generate (long side ~1600-2500 px)', intArg, 200)
    .option('--batch <n>', 'batch size', intArg, 16)
    .option('--size <px>', 'output side', intArg, 224)
    .option('--rounds <n>', 'timed rounds per side (median reported)', intArg, 3)
    .action(async (o: { json?: boolean; workers: number; images: number; batch: number; size: number; rounds: number }) => {
      const r = await benchData({ ...o, quiet: o.json ?? false, onRound: o.json ? undefined : logRound });
      show(o.json, r, `data pipeline: ${r.images} JPEGs -> batches of ${r.batch} x 3 x ${r.size} x ${r.size} float32, ${r.workers} workers`, imagesPerSecond(r));
    });

  bench
    .command('engine')
    .description('One ResNet-18 training step (forward, backward, AdamW): finprint engine vs PyTorch.')
    .option('--json', 'print one JSON object')
    .option('--batch <n>', 'batch size', intArg, 16)
    .option('--size <px>', 'input side', intArg, 224)
    .option('--steps <n>', 'training steps per round', intArg, 3)
    .option('--rounds <n>', 'timed rounds per side (median reported)', intArg, 3)
    .option('--threads <n>', 'intra-op threads, both sides (default: the cores)', intArg)
    .action(async (o: { json?: boolean; batch: number; size: number; steps: number; rounds: number; threads?: number }) => {
      const { benchEngine } = await import('../../bench/engine.js');
      const r = await benchEngine({ ...o, onRound: o.json ? undefined : logRound });
      show(o.json, r, `engine: ${r.model}, batch ${r.batch} x 3 x ${r.size} x ${r.size}, ${r.steps} steps per round`, imagesPerSecond(r));
    });

  bench
    .command('models')
    .description('Inference img/s of each backbone at its default input size (eval, no grad): finprint vs the same architecture in PyTorch.')
    .option('--json', 'print one JSON object')
    .option('--models <list>', "comma-separated models (default: all; 'none': only the resolution table)", modelList)
    .option('--sizes <list>', "input sizes for the resolution table of --model ('none': no table)", sizeList, [224, 384, 512])
    .option('--model <name>', 'the model of the resolution table', 'efficientnet_b0')
    .option('--batch <n>', 'batch size', intArg, 16)
    .option('--rounds <n>', 'timed rounds per side (median reported)', intArg, 3)
    .option('--round-seconds <s>', 'repeat batches until a round lasts about this long', numberArg, 2)
    .option('--threads <n>', 'intra-op threads, both sides (default: the cores)', intArg)
    .option('--engine <name>', "finprint's side: libtorch (its own engine) or onnx (the model exported to ONNX, run by ONNX Runtime)", 'libtorch')
    .addHelpText('after', '\nExamples:\n  finprint bench models --models levit_192,coatnet_0_rw_224 --sizes none\n  finprint bench models --models none --sizes 224,384,512 --model efficientnet_b0 --json\n  finprint bench models --engine onnx --sizes none')
    .action(async (o: { json?: boolean; models?: string[]; sizes: number[]; model: string; batch: number; rounds: number; roundSeconds: number; threads?: number; engine: string }) => {
      if (o.engine !== 'libtorch' && o.engine !== 'onnx') throw new Error(`--engine must be libtorch or onnx, got ${o.engine}`);
      const engine = o.engine;
      const { benchModels } = await import('../../bench/models.js');
      const r = await benchModels({
        ...o,
        engine,
        sizeModel: o.model,
        onStart: o.json ? undefined : (m, size) => console.error(`${m} at ${size}x${size}`),
        onRound: o.json ? undefined : (_m, _s, i, f, p) => logRound(i, f, p),
      });
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      const on = engine === 'onnx' ? ', finprint exported to ONNX and run by ONNX Runtime' : '';
      if (r.results.length) printModelTable(`inference, batch ${r.batch}, eval mode, no grad, default input sizes${on}:`, r.results, engine);
      if (r.resolution.length) printModelTable(`${r.resolution[0]!.model} by input size${on}:`, r.resolution, engine);
      console.log(`machine:  ${r.machine.cpu}, ${r.machine.cores} cores, matmul 1024² ${r.machine.matmulGflops} GFLOP/s`);
      console.log(`finprint: ${engine === 'onnx' ? `ONNX Runtime ${onnxRuntimeVersion()} (CPU, ${r.finprint.threads} threads)` : finprintBuild(r.finprint)}`);
      console.log(`pytorch:  ${pytorchBuild(r.pytorch)}`);
    });

  bench
    .command('train')
    .description('One training epoch of efficientnet_b0 on synthetic JPEGs, decoding included: finprint loader + train step vs PyTorch DataLoader + loop.')
    .option('--json', 'print one JSON object')
    .option('--images <n>', 'synthetic photos in the epoch (~512 px, 8 species)', intArg, 128)
    .option('--workers <n>', "PyTorch's DataLoader workers (default: as many as libuv's pool, which decodes finprint's photos)", intArg)
    .option('--batch <n>', 'batch size', intArg, 16)
    .option('--size <px>', 'input side', intArg, 224)
    .option('--rounds <n>', 'timed epochs per side (median reported)', intArg, 3)
    .option('--threads <n>', 'intra-op threads, both sides (default: the cores)', intArg)
    .option('--competitor <k>', 'run the rounds again beside K competing PyTorch training jobs and report each side\'s slowdown', intArg, 0)
    .option('--competitor-threads <n>', 'intra-op threads of each competing job', positiveIntArg, 2)
    .option('--competitor-session <where>', "own (each job in a session of its own, as another user's or terminal's job) | shared (in the bench's, as jobs one script starts)", 'own')
    .addHelpText('after', '\nExamples:\n  finprint bench train --threads 1\n  finprint bench train --competitor 1 --rounds 3\n  finprint bench train --competitor 1 --competitor-session shared')
    .action(async (o: { json?: boolean; images: number; workers?: number; batch: number; size: number; rounds: number; threads?: number; competitor: number; competitorThreads: number; competitorSession: CompetitorSession }) => {
      const { benchTrain, PHASES } = await import('../../bench/train.js');
      const r = await benchTrain({ ...o, competitors: o.competitor, quiet: o.json ?? false, onRound: o.json ? undefined : logRound });
      const more = [
        '  where an epoch goes (seconds):',
        `    ${'phase'.padEnd(11)} ${'finprint'.padStart(9)} ${'pytorch'.padStart(9)}`,
        ...PHASES.map((p) => `    ${p.padEnd(11)} ${(r.phases.finprint[p] ?? 0).toFixed(2).padStart(9)} ${(r.phases.pytorch[p] ?? 0).toFixed(2).padStart(9)}`),
      ];
      const c = r.competition;
      if (c) {
        more.push(
          `  beside ${c.competitors} competing PyTorch job${c.competitors > 1 ? 's' : ''} of ${c.competitorThreads} threads (${c.competitorSession === 'own' ? 'each in its own session' : "in the bench's session"}):`,
          `    finprint ${c.finprint_img_s.toFixed(1)} img/s, ${c.finprint_slowdown.toFixed(2)}x slower than idle`,
          `    pytorch  ${c.pytorch_img_s.toFixed(1)} img/s, ${c.pytorch_slowdown.toFixed(2)}x slower than idle`,
        );
      }
      show(o.json, r, `training: ${r.model}, ${r.images} JPEGs per epoch, batch ${r.batch} x 3 x ${r.size} x ${r.size}, ${r.workers} photos decoding at once on each side`, { ...imagesPerSecond(r), more });
    });

  bench
    .command('identify')
    .description("Exact gallery search (random unit vectors): finprint searchGallery vs PyTorch's blocked matmul + topk, and vs PyTorch running finprint's chunked top-k.")
    .option('--json', 'print one JSON object')
    .option('--queries <n>', 'query embeddings (the test photos)', intArg, 28000)
    .option('--gallery <n>', 'gallery embeddings (the training photos)', intArg, 51000)
    .option('--dim <n>', 'embedding width', intArg, 512)
    .option('--block <n>', 'queries per matmul block, both sides', intArg, 1024)
    .option('--neighbours <n>', 'gallery neighbours per query (topk k), both sides', intArg, 50)
    .option('--seed <n>', 'random seed of the vectors', intArg, 0)
    .option('--rounds <n>', 'timed rounds per side (median reported)', intArg, 1)
    .addHelpText('after', '\nExample:\n  finprint bench identify --queries 5000 --json')
    .action(async (o: { json?: boolean; queries: number; gallery: number; dim: number; block: number; neighbours: number; seed: number; rounds: number }) => {
      const { benchIdentify } = await import('../../bench/identify.js');
      const r = await benchIdentify({ ...o, onRound: o.json ? undefined : roundLogger('queries/s', 0) });
      show(o.json, r, `gallery search: ${r.queries} queries x ${r.gallery} gallery embeddings of ${r.dim} dims, blocks of ${r.block}, top ${r.neighbours} neighbours`, {
        unit: 'queries/s', digits: 0, finprint: r.finprint_queries_s, pytorch: r.pytorch_queries_s, ratio: r.ratio, builds: r, note: `${r.seconds.toFixed(1)} s`, pytorchNote: 'matmul + topk',
        more: [`  pytorch with finprint's chunked top-k: ${r.same_algorithm.pytorch_queries_s.toFixed(0)} queries/s, ratio ${r.same_algorithm.ratio.toFixed(2)}x`],
      });
    });

  bench
    .command('catalogue')
    .description("The review server under load (candidates for stored photos, concurrent clients over HTTP, on a catalogue of Happywhale's size), and photo import speed against the backbone's bare inference rate")
    .option('--json', 'print one JSON object')
    .option('--photos <n>', 'catalogue photos (random unit embeddings)', positiveIntArg, 51033)
    .option('--individuals <n>', 'individuals they belong to', positiveIntArg, 15587)
    .option('--clients <n>', 'concurrent clients', positiveIntArg, 8)
    .option('--requests <n>', 'candidate requests in all', positiveIntArg, 1000)
    .option('--import-photos <n>', 'photos imported for the import rate', positiveIntArg, 96)
    .option('--backbone <name>', 'backbone that embeds imported photos', 'efficientnet_b0')
    .option('--image-size <n>', "its input size (default: the backbone's)", positiveIntArg)
    .addHelpText('after', '\nExample:\n  finprint bench catalogue --requests 2000')
    .action(async (o: { json?: boolean; photos: number; individuals: number; clients: number; requests: number; importPhotos: number; backbone: string; imageSize?: number }) => {
      const { benchCatalogue } = await import('../../bench/catalogue.js');
      const r = await benchCatalogue({ ...o, log: o.json ? undefined : (m) => console.error(m) });
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      console.log(`review server: candidates for one photo among ${r.photos} photos of ${r.individuals} individuals, ${r.clients} concurrent clients, ${r.requests} requests`);
      console.log(`  ${r.requests_per_s.toFixed(0)} requests/s, latency p50 ${r.p50_ms.toFixed(1)} ms, p95 ${r.p95_ms.toFixed(1)} ms${r.p95_ms < 50 ? '' : '  (above the 50 ms target)'}`);
      const i = r.import;
      console.log(`import: ${i.photos} photos with ${i.backbone} at ${i.size} px (decode, crop, embed, store)`);
      console.log(`  ${i.photos_per_s.toFixed(1)} photos/s; bare inference ${i.inference_img_s.toFixed(1)} img/s; ratio ${i.ratio.toFixed(2)}${i.ratio >= 0.8 ? '' : '  (below the 0.8 target)'}`);
    });
}
