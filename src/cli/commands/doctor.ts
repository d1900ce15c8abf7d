import type { Command } from 'commander';
import sharp from 'sharp';

export function register(program: Command): void {
  program
    .command('doctor')
    .description('Show the engine set-up: CPU, libtorch version, BLAS in use and its measured speed, threads and how they wait, CUDA, image library; warn about a slow BLAS or oversubscribed threads')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const { currentThreadWarnings, engineEnvironment, matmulGflops } = await import('../../torch/environment.js');
      const env = engineEnvironment();
      const warnings = currentThreadWarnings(env); // before the matmul adds finprint's own load
      const report = {
        node: process.version,
        ...env,
        libvips: sharp.versions.vips,
        matmulGflops: Math.round(matmulGflops() * 10) / 10,
        warnings,
      };
      if (opts.json) {
        console.log(JSON.stringify(report));
        return;
      }
      const rows: [string, string][] = [
        ['CPU', `${report.cpuModel}, ${report.cores} cores`],
        ['node', report.node],
        ['libtorch', report.libtorch],
        ['BLAS', report.blasLibrary ? `${report.blas} — ${report.blasLibrary}` : report.blas],
        ['threads', `${report.intraOpThreads} intra-op, ${report.interOpThreads} inter-op, ${report.cores} cores`],
        ['waiting', report.waitPolicy],
        ['training', report.trainingThreads],
        ['CUDA', report.cuda ? `${report.cudaDevices} device(s)` : 'not available (CPU build)'],
        ['libvips', report.libvips],
        ['matmul 1024²', `${report.matmulGflops} GFLOP/s (float32, ${report.blas}, ${report.intraOpThreads} threads)`],
        ['env', Object.entries(report.env).map(([k, v]) => `${k}=${v}`).join(' ') || '(no thread variables set)'],
      ];
      for (const [k, v] of rows) console.log(`${k.padEnd(13)} ${v}`);
      for (const w of warnings) console.log(`warning: ${w}`);
    });
}
