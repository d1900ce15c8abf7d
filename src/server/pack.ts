// The field server: serves a field pack and what an offline page needs to use it, from this
// machine, never a CDN: the pack's files under /pack/, onnxruntime-web's wasm and module files
// under /ort/, and the offline page (dist/web-field) at / (serve --pack); or the same under /field/
// beside the review page (serve --catalogue --pack, see fieldRoutes). Every field response is
// cross-origin isolated (COOP same-origin, COEP require-corp, CORP same-origin), so the page may
// use onnxruntime-web's threaded wasm (SharedArrayBuffer).
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import { createRequire } from 'node:module';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPackManifest, type PackManifest } from '../catalogue/pack.js';
import { serverUrl } from './address.js';
import { sendFrom } from './static_files.js';
import { isLoopback } from './auth.js';

/** Where the offline page is built (this module is dist/src/server/pack.js). */
export const DEFAULT_FIELD_WEB_DIR = fileURLToPath(new URL('../../web-field/', import.meta.url));

/** onnxruntime-web's dist folder (its wasm binaries and .mjs loaders). */
export function ortWebDir(): string {
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>finprint field pack</title></head>
<body><h1>finprint field pack</h1>
<p>The offline identification page is not built yet (no dist/web-field). The pack is served under <a href="pack/manifest.json">pack/</a> and ONNX Runtime Web under ort/.</p>
</body></html>
`;

export interface PackServerOptions {
  /** The offline page's folder (default dist/web-field); absent: a placeholder page. */
  webDir?: string;
  /** onnxruntime-web's dist folder (default: the installed package's). */
  ortDir?: string;
  /**
   * Listening on loopback: refuse requests naming another host (DNS rebinding would let a web
   * site read the pack). Default true; startPackServer sets it from the address.
   */
  loopbackOnly?: boolean;
}


export interface FieldRoutesOptions {
  /** The pack folder (already checked by the caller). */
  packDir: string;
  /** The offline page's folder (default dist/web-field); absent: a placeholder page. */
  webDir?: string;
  /** onnxruntime-web's dist folder (default: the installed package's). */
  ortDir?: string;
}

/** Sets the cross-origin isolation headers (and no-store where nothing else was said). */
export async function isolate(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  for (const [k, v] of Object.entries(ISOLATION_HEADERS)) void reply.header(k, v);
  void reply.header('X-Content-Type-Options', 'nosniff');
  void reply.header('Referrer-Policy', 'no-referrer');
  if (!reply.hasHeader('Cache-Control')) void reply.header('Cache-Control', 'no-store');
}

/**
 * The field page's routes, as a fastify plugin: the pack under pack/, onnxruntime-web under ort/
 * and the page itself, below the prefix it is registered with ('' for serve --pack, '/field' on
 * the review server), every response cross-origin isolated (the hook stays inside this plugin, so
 * the review page's own routes keep their headers). The page uses URLs relative to itself, so the
 * same page works at either place.
 */
export const fieldRoutes: FastifyPluginAsync<FieldRoutesOptions> = async (app, options) => {
  const pack = resolve(options.packDir);
  const ort = resolve(options.ortDir ?? ortWebDir());
  const web = resolve(options.webDir ?? DEFAULT_FIELD_WEB_DIR);
  const hide = { openapi: { hide: true } };
  app.addHook('onSend', isolate);
  app.get<{ Params: { '*': string } }>('/pack/*', { config: hide }, async (request, reply) => ((await sendFrom(pack, request.params['*'], request, reply)) ? reply : reply.callNotFound()));
  app.get<{ Params: { '*': string } }>('/ort/*', { config: hide }, async (request, reply) =>
    (await sendFrom(ort, request.params['*'], request, reply, (f) => /\.(wasm|mjs|js)$/.test(f) && !f.includes(`${sep}node${sep}`))) ? reply : reply.callNotFound(),
  );
  const home = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (await sendFrom(web, 'index.html', request, reply)) return reply;
    return reply.type('text/html; charset=utf-8').send(PLACEHOLDER);
  };
  if (app.prefix === '') {
    app.get('/', { config: hide }, home);
  } else {
    // Only PREFIX/ is the page: at PREFIX its relative URLs would resolve one folder up.
    app.get('/', { config: hide, prefixTrailingSlash: 'slash' }, home);
    app.get('/', { config: hide, prefixTrailingSlash: 'no-slash' }, async (request, reply) => reply.redirect(`${request.url.split('?')[0]}/`, 301));
  }
  app.get<{ Params: { '*': string } }>('/*', { config: hide }, async (request, reply) => ((await sendFrom(web, request.params['*'], request, reply)) ? reply : reply.callNotFound()));
};

/** The field server over a pack folder (checked: a manifest of a known format). */
export async function buildPackServer(packDir: string, options: PackServerOptions = {}): Promise<{ app: FastifyInstance; manifest: PackManifest }> {
  const manifest = readPackManifest(packDir);
  const app = Fastify({ logger: false, bodyLimit: 1024, return503OnClosing: true });
  // Every response, refusals and 404s included, is isolated here (fieldRoutes isolates its own).
  app.addHook('onSend', isolate);
  if (options.loopbackOnly ?? true) {
    app.addHook('onRequest', async (request, reply) => {
      const host = (request.headers.host ?? '').toLowerCase();
      const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
      if (request.headers.host !== undefined && !isLoopback(name)) {
        return reply.code(403).send({ error: `this server listens on this machine only, and the request names host ${JSON.stringify(request.headers.host)}; open it as http://127.0.0.1 or http://localhost` });
      }
      return undefined;
    });
  }
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send({ error: `not found: ${request.url.split('?')[0]}` }));
  await app.register(fieldRoutes, { packDir, webDir: options.webDir, ortDir: options.ortDir });
  await app.ready();
  return { app, manifest };
}

/** Builds the field server and listens; resolves to it and its URL. */
export async function startPackServer(packDir: string, options: PackServerOptions & { host: string; port: number }): Promise<{ app: FastifyInstance; url: string; manifest: PackManifest }> {
  const { app, manifest } = await buildPackServer(packDir, { loopbackOnly: isLoopback(options.host), ...options });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { app, url: serverUrl(options.host, port), manifest };
}
