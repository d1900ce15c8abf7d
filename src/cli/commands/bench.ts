import type { Command } from 'commander';
import { benchData } from '../../bench/data.js';
import { intArg } from './parse.js';

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
      const r = await benchData({
        ...o,
        quiet: o.json ?? false,
        onRound: o.json ? undefined : (i, f, p) => console.error(`  round ${i + 1}: finprint ${f.toFixed(1)} img/s, pytorch ${p.toFixed(1)} img/s`),
      });
      if (o.json) {
        console.log(JSON.stringify(r));
        return;
      }
      console.log(`data pipeline: ${r.images} JPEGs -> batches of ${r.batch} x 3 x ${r.size} x ${r.size} float32, ${r.workers} workers`);
      console.log(`  finprint  ${r.finprint_img_s.toFixed(1)} img/s`);
      console.log(`  pytorch   ${r.pytorch_img_s.toFixed(1)} img/s  (torch ${r.torch})`);
      console.log(`  ratio     ${r.ratio.toFixed(2)}x`);
    });
}
