import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { intArg, positiveIntArg } from './parse.js';

function portArg(value: string): number {
  const n = intArg(value);
  if (n < 0 || n > 65535) throw new InvalidArgumentError(`Expected a port from 0 to 65535 but received "${value}".`);
  return n;
}

// Modules are imported inside the action, so `finprint --help` does not load libtorch.
export function register(program: Command): void {
  program
    .command('serve')
    .description("The review server: the catalogue's JSON API (/api, described at /api/openapi.json) and the review page. On 127.0.0.1 (the default) it is reachable from this machine only and needs no token; on any other address every API call needs a reviewer token (finprint catalogue user add).")
    .requiredOption('--catalogue <dir>', 'catalogue folder (finprint catalogue init)')
    .option('--host <address>', 'address to listen on; anything but loopback needs reviewer tokens', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', portArg, 8080)
    .option('--max-photo-mb <n>', 'largest photo an upload may carry, in MiB', positiveIntArg, 50)
    .addHelpText('after', '\nExamples:\n  finprint serve --catalogue catalogue\n  finprint catalogue user add catalogue alice && finprint serve --catalogue catalogue --host 0.0.0.0')
    .action(async (f: { catalogue: string; host: string; port: number; maxPhotoMb: number }) => {
      const { Catalogue } = await import('../../catalogue/catalogue.js');
      const { isLoopback } = await import('../../server/auth.js');
      const { startServer } = await import('../../server/app.js');
      const requireTokens = !isLoopback(f.host);
      const catalogue = await Catalogue.open(f.catalogue);
      try {
        if (requireTokens && (await catalogue.store.reviewers()).length === 0) {
          throw new Error(
            `--host ${f.host} makes the catalogue reachable from other machines, where every API call needs a reviewer token, and ${f.catalogue} has no reviewers yet: add one with finprint catalogue user add ${f.catalogue} NAME (it prints their token), or serve on 127.0.0.1`,
          );
        }
        const { url } = await startServer(catalogue, { host: f.host, port: f.port, requireTokens, limits: { maxBytes: f.maxPhotoMb * 1024 * 1024 } });
        console.log(`finprint review server: ${url} (catalogue ${f.catalogue})`);
        console.log(
          requireTokens
            ? `listening beyond this machine: every API call needs a reviewer token (Authorization: Bearer <token>; finprint catalogue user add ${f.catalogue} NAME prints one)`
            : 'listening on this machine only: no token needed; decisions without one are recorded as user "local"',
        );
      } catch (err) {
        await catalogue.close();
        throw err;
      }
    });
}
