import type { Command } from 'commander';
import sharp from 'sharp';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Show the engine set-up: libtorch version, BLAS in use, threads, CUDA, image library, matmul speed')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const { engineEnvironment, matmulGflops } = await import('../../torch/environment.js');
      const report = {
        node: process.version,
        ...engineEnvironment(),
        libvips: sharp.versions.vips,
        matmulGflops: Math.round(matmulGflops() * 10) / 10,
      };
      if (opts.json) {
        console.log(JSON.stringify(report));
        return;
      }
      const rows: [string, string][] = [
        ['node', report.node],
        ['libtorch', report.libtorch],
        ['BLAS', report.blasLibrary ? `${report.blas} — ${report.blasLibrary}` : report.blas],
        ['threads', `${report.intraOpThreads} intra-op, ${report.interOpThreads} inter-op, ${report.cores} cores`],
        ['CUDA', report.cuda ? `${report.cudaDevices} device(s)` : 'not available (CPU build)'],
        ['libvips', report.libvips],
        ['matmul 1024²', `${report.matmulGflops} GFLOP/s`],
        ['env', Object.entries(report.env).map(([k, v]) => `${k}=${v}`).join(' ') || '(no thread variables set)'],
      ];
      for (const [k, v] of rows) console.log(`${k.padEnd(13)} ${v}`);
      if (report.blas.startsWith('reference')) console.log('\nwarning: the reference BLAS is ~35x slower; apt-get install libopenblas0-pthread');
    });
}
