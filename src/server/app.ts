// The review server: a fastify instance over one open catalogue, serving the JSON API under /api,
// its OpenAPI document, and the review page's files (and, with a pack, the field page under /field/). `buildServer` makes it without listening
// (tests drive it with inject); `startServer` listens and says where.
import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { fileURLToPath } from 'node:url';
import type { Catalogue } from '../catalogue/catalogue.js';
import type { PhotoEmbedder } from '../catalogue/embedder.js';
import { DEFAULT_PHOTO_LIMITS, type PhotoLimits } from '../catalogue/photos.js';
import { runEmbedder } from '../runs/catalogue_model.js';
import { serverUrl } from './address.js';
import { installAuth, isLoopback } from './auth.js';
import { HttpError, installErrorHandlers } from './errors.js';
import { collectOpenApi } from './openapi.js';
import { registerDecisions } from './decisions.js';
import { registerIndividuals } from './individuals.js';
import { fieldRoutes, type FieldRoutesOptions } from './pack.js';
import { registerPage } from './page.js';
import { registerPhotos } from './photos.js';
import { registerReview } from './review.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { Serial } from './serial.js';
import type { ServerContext } from './context.js';

export interface ServerOptions {
  /** Every API call needs a reviewer token (any address but loopback). Default false. */
  requireTokens?: boolean;
  /** What embeds uploaded photos; default: the catalogue's run (made on the first upload, then reused). */
  embedder?: () => Promise<PhotoEmbedder>;
  /** Upload limits: bytes and pixels per photo, photos per request. */
  limits?: Partial<PhotoLimits> & { maxFiles?: number };
  /** The built page (index.html, app.js...); default dist/web. */
  webDir?: string;
  /** Where the server's own failures are written (default stderr). */
  log?: (message: string) => void;
  /**
   * Also offer the offline field page over this pack (checked by the caller: of the catalogue's
   * model) under /field/: page, pack (/field/pack/*) and ONNX Runtime Web (/field/ort/*), cross-origin
   * isolated. Loopback only: the pack would otherwise be open to anyone (the page cannot send a
   * token), so it is refused together with requireTokens.
   */
  field?: FieldRoutesOptions;
}

/** Where the review server offers the field page (ServerOptions.field). */
export const FIELD_PATH = '/field/';

/** The page's files, built from web/ into dist/web (this module is dist/src/server/app.js). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** Photos per upload request. */
export const DEFAULT_MAX_FILES = 20;

function onceEmbedder(make: () => Promise<PhotoEmbedder>): () => Promise<PhotoEmbedder> {
  let made: Promise<PhotoEmbedder> | undefined;
  return () => {
    made ??= make().catch((err: unknown) => {
      made = undefined; // the next upload tries again (the run folder may be back)
      throw new HttpError(503, `cannot embed uploaded photos: ${(err as Error).message}`);
    });
    return made;
  };
}

/** The review server over an open catalogue (the caller closes both). */
export async function buildServer(catalogue: Catalogue, options: ServerOptions = {}): Promise<FastifyInstance> {
  const requireTokens = options.requireTokens ?? false;
  if (options.field && requireTokens) throw new Error('the field page is offered on a loopback review server only (its pack would be readable without a reviewer token)');
  const limits = { ...DEFAULT_PHOTO_LIMITS, maxFiles: DEFAULT_MAX_FILES, ...options.limits };
  const ctx: ServerContext = {
    catalogue,
    requireTokens,
    uploads: new Serial(),
    embedder: onceEmbedder(options.embedder ?? (() => runEmbedder(catalogue.setup))),
    limits,
    webDir: options.webDir ?? DEFAULT_WEB_DIR,
    fieldPage: options.field ? FIELD_PATH : null,
  };
  const app = Fastify({
    logger: false,
    // JSON bodies are small (a decision); photos come as multipart, limited per file below
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { discriminator: true } },
    return503OnClosing: true,
  });
  const log = options.log ?? ((m: string) => void process.stderr.write(`${m}\n`));
  installErrorHandlers(app, log);
  for (const [name, schema] of Object.entries(SHARED_SCHEMAS)) app.addSchema({ $id: name, ...schema });
  const openapi = collectOpenApi(app, { requireTokens });
  installAuth(app, catalogue.store, requireTokens);
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('X-Content-Type-Options', 'nosniff');
    void reply.header('X-Frame-Options', 'DENY');
    void reply.header('Referrer-Policy', 'no-referrer');
    if (!reply.hasHeader('Cache-Control')) void reply.header('Cache-Control', 'no-store');
  });
  await app.register(multipart, { limits: { fileSize: limits.maxBytes, files: limits.maxFiles, fields: 16, fieldSize: 1024, parts: limits.maxFiles + 16, headerPairs: 100 } });

  registerReview(app, ctx);
  registerDecisions(app, ctx);
  registerIndividuals(app, ctx);
  registerPhotos(app, ctx);
  app.get(
    '/api/openapi.json',
    {
      schema: { summary: 'This API, as an OpenAPI 3.0 document', tags: ['api'] },
      config: { openapi: { open: true, responses: { 200: { description: 'The OpenAPI document', content: { 'application/json': { type: 'object' } } } } } },
    },
    async () => openapi.document(),
  );
  if (options.field) await app.register(fieldRoutes, { ...options.field, prefix: FIELD_PATH.slice(0, -1) });
  registerPage(app, ctx);
  await app.ready();
  return app;
}


/** Builds the server and listens; resolves to the server and its URL (port 0: any free port). */
export async function startServer(catalogue: Catalogue, options: ServerOptions & { host: string; port: number }): Promise<{ app: FastifyInstance; url: string }> {
  const requireTokens = options.requireTokens ?? !isLoopback(options.host);
  const app = await buildServer(catalogue, { ...options, requireTokens });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { app, url: serverUrl(options.host, port) };
}
