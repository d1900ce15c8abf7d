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
    .description("The review server: the catalogue's JSON API (/api, described at /api/openapi.json) and the review page. On 127.0.0.1 (the default) it is reachable from this machine only and needs no token; on any other address every API call needs a reviewer token (finprint catalogue user add). With --pack alone: the field server instead, serving a field pack (finprint pack) under /pack/, ONNX Runtime Web under /ort/ and the offline page at /, cross-origin isolated. With --catalogue and --pack: the review server, also offering the offline page under /field/ (pack at /field/pack/, ONNX Runtime Web at /field/ort/) on loopback only; on any other address the field page is left out, since the page cannot send a reviewer token (serve the pack on its own for that).")
    .option('--catalogue <dir>', 'catalogue folder (finprint catalogue init)')
    .option('--pack <dir>', 'serve this field pack (finprint pack) for the offline page: alone, at /; with --catalogue, under /field/ on loopback only, and the pack must be of the catalogue\'s model')
    .option('--host <address>', 'address to listen on; anything but loopback needs reviewer tokens', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', portArg, 8080)
    .option('--max-photo-mb <n>', 'largest photo an upload may carry, in MiB', positiveIntArg, 50)
    .option('--engine <engine>', "inference engine embedding uploads: torch (libtorch) or onnx (ONNX Runtime over the catalogue's run)", 'torch')
    .addHelpText('after', '\nExamples:\n  finprint serve --catalogue catalogue\n  finprint catalogue user add catalogue alice && finprint serve --catalogue catalogue --host 0.0.0.0\n  finprint serve --pack field-pack\n  finprint serve --catalogue catalogue --pack field-pack   (review page at /, field page at /field/)')
    .action(async (f: { catalogue?: string; pack?: string; host: string; port: number; maxPhotoMb: number; engine: string }) => {
      if (f.pack && !f.catalogue) {
        await servePack(f.pack, f);
        return;
      }
      if (!f.catalogue) throw new Error('give --catalogue (the review server) or --pack (the field server)');
      const { checkOneOf } = await import('../../util/check.js');
      const { ENGINES } = await import('../../identify/model.js');
      const engine = checkOneOf('--engine', f.engine, ENGINES);
      const { Catalogue } = await import('../../catalogue/catalogue.js');
      const { isLoopback } = await import('../../server/auth.js');
      const { startServer } = await import('../../server/app.js');
      const requireTokens = !isLoopback(f.host);
      const catalogue = await Catalogue.open(f.catalogue);
      try {
        // The field page beside the review page: a pack of the catalogue's model, on loopback only.
        let field: { packDir: string } | undefined;
        let fieldNote = '';
        if (f.pack) {
          const { readPackManifest, checkPackModel } = await import('../../catalogue/pack.js');
          checkPackModel(readPackManifest(f.pack).model, catalogue, `the pack ${f.pack}`);
          if (requireTokens) fieldNote = `the field page (--pack ${f.pack}) is not offered: on an address beyond this machine its pack would be readable without a reviewer token; serve it on 127.0.0.1, or with finprint serve --pack alone`;
          else field = { packDir: f.pack };
        }
        if (requireTokens && (await catalogue.store.reviewers()).length === 0) {
          throw new Error(
            `--host ${f.host} makes the catalogue reachable from other machines, where every API call needs a reviewer token, and ${f.catalogue} has no reviewers yet: add one with finprint catalogue user add ${f.catalogue} NAME (it prints their token), or serve on 127.0.0.1`,
          );
        }
        const { runEmbedder } = await import('../../runs/catalogue_model.js');
        const embedder = () => runEmbedder(catalogue.setup, { engine });
        const { url } = await startServer(catalogue, { host: f.host, port: f.port, requireTokens, limits: { maxBytes: f.maxPhotoMb * 1024 * 1024 }, embedder, field });
        console.log(`finprint review server: ${url} (catalogue ${f.catalogue})`);
        if (field) console.log(`finprint field page: ${url}field/ (pack ${f.pack}; loopback only)`);
        if (fieldNote) console.log(fieldNote);
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

/** The field server over a pack alone. */
async function servePack(pack: string, f: { host: string; port: number }): Promise<void> {
  const { readPackManifest } = await import('../../catalogue/pack.js');
  const manifest = readPackManifest(pack);
  const { isLoopback } = await import('../../server/auth.js');
  const { startPackServer } = await import('../../server/pack.js');
  const { url } = await startPackServer(pack, { host: f.host, port: f.port });
  console.log(`finprint field server: ${url} (pack ${pack}: ${manifest.counts.individuals} individuals, ${manifest.counts.photos} photos, model ${manifest.model.slice(0, 12)})`);
  if (!isLoopback(f.host)) console.log(`listening beyond this machine: anyone who can reach ${url} can download the pack (its thumbnails and embeddings); there are no tokens on the field server`);
}
