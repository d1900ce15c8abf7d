import { InvalidArgumentError, type Command } from 'commander';
import { printTable } from '../table.js';
import { numberArg } from './parse.js';

// Modules are imported inside the actions, as in doctor.ts, so `finprint --help` does not load libtorch.
export function register(program: Command): void {
  const weights = program.command('weights').description('Pretrained checkpoints: download them from the hub, list the local cache');

  weights
    .command('pull')
    .argument('<name>', "model name, optionally with a tag: 'vgg16' or 'vgg16.tv_in1k'; 'miewid' for conservationxlabs/miewid-msv3")
    .description(
      'Download timm/<name>.<tag> model.safetensors into the cache (resumable; size, sha256 and format checked). ' +
        'A repository with only pytorch_model.bin has it read safely (no code run) and cached as safetensors, a key prefix such as model. stripped. ' +
        'Env: FINPRINT_HUB_URL (a mirror), FINPRINT_CACHE (cache root), FINPRINT_HUB_TIMEOUT (seconds, as --timeout)',
    )
    .option('--tag <tag>', "pretrained tag (default: the model's default, e.g. tv_in1k for vgg16)")
    .option('--sha256 <hex>', "expected sha256 of the file (default: the hub's ETag)")
    .option('--force', 'download again even if the file is cached')
    .option('--timeout <seconds>', 'give up when the hub sends nothing for this long (default: FINPRINT_HUB_TIMEOUT or 30)', secondsArg)
    .option('--quiet', 'no progress bar or messages')
    .action(async (name: string, opts: { tag?: string; sha256?: string; force?: boolean; quiet?: boolean; timeout?: number }) => {
      await import('../../models/index.js'); // registers the families, whose configs name the default tags
      const { hubWeights } = await import('../../models/weights.js');
      const { pullWeights } = await import('../../io/hub.js');
      const { repo, keyRoots } = hubWeights(name, opts.tag);
      const r = await pullWeights(repo, {
        sha256: opts.sha256,
        force: opts.force,
        quiet: opts.quiet,
        ...(keyRoots ? { keyRoots } : {}),
        ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
      });
      const check = r.verifiedAgainst === 'nothing' ? 'sha256 not verified (no hash from the hub; pass --sha256)' : `sha256 ${r.sha256} verified against the ${r.verifiedAgainst === 'hub' ? "hub's ETag" : '--sha256 value'}`;
      const from = r.convertedFrom ? ` (converted from ${r.convertedFrom}, whose ${check})` : `, ${check}`;
      if (!opts.quiet) console.error(r.cached ? `${r.repo}: already cached (use --force to download again)` : `${r.repo}: ${formatBytes(r.size)}${from}`);
      console.log(r.path);
    });

  weights
    .command('list')
    .description('Show the cached checkpoints: repository, size, sha256 (when the download recorded one), path')
    .option('--json', 'print a JSON array')
    .action(async (opts: { json?: boolean }) => {
      const { listCachedWeights, weightsCacheDir } = await import('../../io/hub.js');
      const list = await listCachedWeights();
      if (opts.json) {
        console.log(JSON.stringify(list));
        return;
      }
      if (list.length === 0) {
        console.log(`no weights cached in ${weightsCacheDir()}; download some with: finprint weights pull NAME`);
        return;
      }
      const rows = list.map((w) => [w.repo, formatBytes(w.size), w.sha256?.slice(0, 12) ?? '-', w.path]);
      printTable(['repo', 'size', 'sha256', 'path'], rows);
    });
}

function secondsArg(value: string): number {
  const n = numberArg(value);
  if (!(n > 0)) throw new InvalidArgumentError(`Expected a number of seconds above 0 but received "${value}".`);
  return n;
}

function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
