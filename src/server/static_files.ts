// Files served as they are (the pages, a field pack, ONNX Runtime Web): only regular files inside
// the given folder (a name cannot climb out of it or reach a dot file), revalidated on every load
// (Cache-Control: no-cache, with an ETag) so a rebuilt page or pack is picked up.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Sends `relative` from `root` when it is a regular file inside it (no climbing out, no dot files). */
export async function sendFrom(root: string, relative: string, request: FastifyRequest, reply: FastifyReply, allowed?: (file: string) => boolean): Promise<boolean> {
  const parts = relative.split('/');
  if (relative.includes('\0') || relative.includes('\\') || parts.some((p) => p === '..' || p.startsWith('.'))) return false;
  const file = resolve(root, ...parts.filter(Boolean));
  if (!file.startsWith(root + sep) || (allowed && !allowed(file))) return false;
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
}
