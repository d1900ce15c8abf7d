// Who may do what. On a loopback address (the default) the server is only reachable from this
// machine: reads and writes need no token, and a decision made without one is recorded as user
// 'local'. On any other address every API call needs a reviewer token (reads too: they show the
// photos, and where animals were seen) except /api/openapi.json; the page's own files stay open so
// it can load and ask for a token. Tokens travel in `Authorization: Bearer <token>` (no cookies, so
// no cross-site request can carry one) and are looked up by their hash. A token that is sent must
// be valid, loopback or not.
//
// Loopback is not a boundary of its own for a browser: a web page on another site can post a form
// to 127.0.0.1, and DNS rebinding can give it the same origin. So writes that a browser marks as
// coming from another origin are refused, and on loopback the Host header must name a loopback
// host.
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CatalogueStore } from '../catalogue/store.js';
import { tokenHash } from '../catalogue/tokens.js';
import { HttpError } from './errors.js';

/** The user a decision made without a token on loopback is recorded as. */
export const LOCAL_USER = 'local';

declare module 'fastify' {
  interface FastifyRequest {
    /** The reviewer whose token came with the request, or null. */
    reviewer: string | null;
  }
}

/** Whether an address to listen on is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/** The host name of a Host header ("localhost:8080", "[::1]:8080"), lower case, without the port. */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.replace(/:\d*$/, '');
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The paths anyone may read even when tokens are required: the API description (the page's files are not under /api). */
const OPEN_PATHS = new Set(['/api/openapi.json']);

/** Whether the browser says the request comes from a page of another origin (tools that send no Origin are not browsers on a web page). */
function crossOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    const from = new URL(origin); // "null" (a sandboxed or file page) throws: cross-origin
    return !(from.protocol === 'http:' || from.protocol === 'https:') || from.host !== new URL(`${from.protocol}//${request.headers.host ?? ''}`).host;
  } catch {
    return true;
  }
}

const unauthorized = (message: string): HttpError => new HttpError(401, message, { 'WWW-Authenticate': 'Bearer realm="finprint"' });

/**
 * Sets `request.reviewer` from the token, and refuses what the rule above refuses: 401 without a
 * valid token where one is needed, 403 for a cross-origin write or (on loopback) a foreign Host.
 */
export function installAuth(app: FastifyInstance, store: CatalogueStore, requireTokens: boolean): void {
  app.decorateRequest('reviewer', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const path = request.url.split('?')[0]!;
    if (!requireTokens && request.headers.host !== undefined && !isLoopback(hostName(request.headers.host))) {
      throw new HttpError(403, `this server listens on this machine only, and the request names host ${JSON.stringify(request.headers.host)}; open it as http://127.0.0.1 or http://localhost`);
    }
    if (WRITE_METHODS.has(request.method) && crossOrigin(request)) throw new HttpError(403, 'a write from another web site is refused: use the review page this server serves');
    if (!path.startsWith('/api/')) return; // the page's own files
    const header = request.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) throw unauthorized('the Authorization header must be "Bearer <token>" (a reviewer token from finprint catalogue user add)');
      const name = await store.userByTokenHash(tokenHash(m[1]!));
      if (name === null) throw unauthorized('this reviewer token is not known to the catalogue (finprint catalogue user add prints one)');
      request.reviewer = name;
      return;
    }
    if (requireTokens && !OPEN_PATHS.has(path)) {
      throw unauthorized('this server is reachable from other machines, so every API call needs a reviewer token: send Authorization: Bearer <token> (finprint catalogue user add prints one)');
    }
  });
}

/** The user a decision is recorded as: the token's reviewer, else 'local' (only reachable without a token on loopback). */
export function decidingUser(request: FastifyRequest): string {
  return request.reviewer ?? LOCAL_USER;
}
