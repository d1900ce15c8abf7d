// The review page's own files (index.html, app.js, ...), built from web/ into dist/web: served as
// they are, revalidated on every load (Cache-Control: no-cache, with an ETag) so a rebuilt page is
// picked up. Only regular files inside that folder are served; a name cannot climb out of it.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

export function registerPage(app: FastifyInstance, ctx: ServerContext): void {
  const root = resolve(ctx.webDir);

  /** Sends `relative` from the page folder; false when there is no such file. */
  const send = async (request: FastifyRequest, reply: FastifyReply, relative: string): Promise<boolean> => {
    const parts = relative.split('/');
    if (relative.includes('\0') || relative.includes('\\') || parts.some((p) => p === '..' || p.startsWith('.'))) return false;
    const file = resolve(root, ...parts.filter(Boolean));
    if (!file.startsWith(root + sep)) return false;
    const s = await stat(file).catch(() => null);
    if (!s?.isFile()) return false;
    const etag = `W/"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`;
    void reply.header('Cache-Control', 'no-cache').header('ETag', etag);
    if (request.headers['if-none-match'] === etag) {
      await reply.code(304).send();
      return true;
    }
    await reply.type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream').header('Content-Length', s.size).send(createReadStream(file));
    return true;
  };

  app.get('/', { config: { openapi: { hide: true } } }, async (request, reply) => {
    if (!(await send(request, reply, 'index.html'))) throw new HttpError(503, 'the review page is not built (no index.html in dist/web): run npm run build');
    return reply;
  });

  app.get<{ Params: { '*': string } }>('/*', { config: { openapi: { hide: true } } }, async (request, reply) => {
    const path = request.params['*'];
    if (path.startsWith('api/') || path === 'api' || !(await send(request, reply, path))) return reply.callNotFound();
    return reply;
  });
}
