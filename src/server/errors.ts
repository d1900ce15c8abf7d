// Every error the API gives is JSON {error: message} with the status that says what happened: 400
// a request that cannot be carried out as asked (schema validation included), 401 no or a wrong
// reviewer token, 403 a cross-site write, 404 no such record or route, 409 someone decided first
// ({error, current}), 413 too large, 415 not a photo, 503 the server cannot do it now. A 500 says
// only that the server failed; the details go to its log, never a stack trace to the client.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, InvalidRequestError, NotFoundError } from '../catalogue/errors.js';
import { PhotoRejected } from '../catalogue/photos.js';
import { DECISION_ACTIONS } from '../catalogue/types.js';

/** An error with the status the client gets and a message fit to show them. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** A schema validation failure in words: where, and what is expected. */
export function validationMessage(context: string, issues: readonly ValidationIssue[]): string {
  const first = issues[0];
  if (!first) return `${context} is not valid`;
  const where = `${context}${first.instancePath}`;
  if (first.keyword === 'discriminator') {
    const tag = String(first.params.tag);
    if (first.params.error === 'mapping') return `${where}/${tag} must be one of: ${DECISION_ACTIONS.join(', ')}`;
    return `${where}/${tag} is required (one of: ${DECISION_ACTIONS.join(', ')})`;
  }
  if (first.keyword === 'enum') return `${where} must be one of: ${(first.params.allowedValues as unknown[]).join(', ')}`;
  if (first.keyword === 'additionalProperties') return `${where} has an unknown property ${String(first.params.additionalProperty)}`;
  return `${where} ${first.message ?? 'is not valid'}`;
}

/** The status and body of an error thrown anywhere in a request. */
export function errorAnswer(err: unknown): { status: number; body: { error: string; current?: unknown }; headers?: Record<string, string>; internal: boolean } {
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message }, headers: err.headers, internal: false };
  if (err instanceof ConflictError) return { status: 409, body: { error: err.message, current: err.current ?? null }, internal: false };
  if (err instanceof NotFoundError) return { status: 404, body: { error: err.message }, internal: false };
  if (err instanceof InvalidRequestError) return { status: 400, body: { error: err.message }, internal: false };
  if (err instanceof PhotoRejected) return { status: err.kind === 'too-large' ? 413 : 415, body: { error: err.message }, internal: false };
  const e = err as Partial<FastifyError> & { validationContext?: string };
  if (e.validation) return { status: 400, body: { error: validationMessage(e.validationContext ?? 'request', e.validation as ValidationIssue[]) }, internal: false };
  if (e.code === 'FST_REQ_FILE_TOO_LARGE') return { status: 413, body: { error: 'an uploaded file is larger than the server accepts' }, internal: false };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // fastify's and its plugins' own client errors (bad JSON, wrong content type, limits reached)
    return { status: e.statusCode, body: { error: e.message ?? 'bad request' }, internal: false };
  }
  return { status: 500, body: { error: "internal error: the request failed on the server; the server's log has the details" }, internal: true };
}

/** JSON errors for every route and unknown paths; `log` receives the failures that are the server's fault. */
export function installErrorHandlers(app: FastifyInstance, log: (message: string) => void): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = errorAnswer(err);
    if (answer.internal) log(`finprint serve: ${request.method} ${request.url} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (answer.headers) void reply.headers(answer.headers);
    return reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!;
    return reply.code(404).type('application/json; charset=utf-8').send({ error: `no such ${path.startsWith('/api/') ? 'API route' : 'page'}: ${request.method} ${path}` });
  });
}
