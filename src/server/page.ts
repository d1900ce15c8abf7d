// The review page's own files (index.html, app.js, ...), built from web/ into dist/web.
import { resolve } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { sendFrom } from './static_files.js';

export function registerPage(app: FastifyInstance, ctx: ServerContext): void {
  const root = resolve(ctx.webDir);

  const send = (request: FastifyRequest, reply: FastifyReply, relative: string): Promise<boolean> => sendFrom(root, relative, request, reply);


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
