// The OpenAPI 3.0 document of the API, written from the routes' own schemas as fastify registers
// them (so a route cannot be served without being described), plus what fastify does not see: the
// multipart upload's fields and the responses that are bytes rather than JSON.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { SHARED_SCHEMAS, type JsonSchema } from './schemas.js';

/** What a route adds to its document entry beyond its schema. */
export interface RouteDoc {
  /** Left out of the document (the page's own files). */
  hide?: boolean;
  /** The body of a multipart/form-data request, as a schema of its parts. */
  multipart?: JsonSchema;
  /** Responses fastify does not serialize (image bytes, this document): status -> content type -> schema. */
  responses?: Record<number, { description: string; content: Record<string, JsonSchema> }>;
  /** No token needed even when the server requires them. */
  open?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDoc;
  }
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
}

interface RouteSchema {
  summary?: string;
  description?: string;
  tags?: string[];
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  response?: Record<string | number, JsonSchema>;
}

const STATUS_TEXT: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  304: 'Not modified (the ETag matches)',
  400: 'The request cannot be carried out as asked',
  401: 'A reviewer token is needed, or the one sent is not known',
  403: 'Refused: a write from another web site, or a foreign Host on a loopback server',
  404: 'No such record',
  409: 'Someone changed the record first: the current state comes with the error',
  413: 'Too large (bytes or pixels)',
  415: 'Not a photo finprint can read',
  503: 'The server cannot do this now',
};

/** A schema in the document's dialect: shared records referenced as components, fastify's ids dropped. */
export function toOpenApi(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApi);
  if (schema === null || typeof schema !== 'object') return schema;
  const { $ref, ...siblings } = schema as Record<string, unknown>;
  // OpenAPI 3.0 ignores whatever stands beside a $ref: put the reference in an allOf
  if ($ref !== undefined && Object.keys(siblings).length) return toOpenApi({ allOf: [{ $ref }], ...siblings });
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$id') continue;
    if (key === '$ref' && typeof value === 'string') out.$ref = `#/components/schemas/${value.replace(/#$/, '')}`;
    // draft-07's numeric bounds are OpenAPI 3.0's boolean flags
    else if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
    } else out[key] = toOpenApi(value);
  }
  return out;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

type Operation = Record<string, unknown>;

function operationOf(route: { method: string; url: string; schema: RouteSchema; doc: RouteDoc }): Operation {
  const { schema, doc } = route;
  const parameters: unknown[] = [];
  for (const [where, s] of [['path', schema.params], ['query', schema.querystring]] as const) {
    const props = (s?.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((s?.required as string[] | undefined) ?? []);
    for (const [name, p] of Object.entries(props)) {
      const { description, ...rest } = p;
      parameters.push({ name, in: where, required: where === 'path' || required.has(name), ...(description ? { description } : {}), schema: toOpenApi(rest) });
    }
  }
  const responses: Record<string, unknown> = {};
  for (const [status, s] of Object.entries(schema.response ?? {})) {
    responses[status] = { description: (s.description as string | undefined) ?? STATUS_TEXT[status] ?? 'Response', content: { 'application/json': { schema: toOpenApi(s) } } };
  }
  for (const [status, r] of Object.entries(doc.responses ?? {})) {
    const content = Object.entries(r.content);
    responses[status] = { description: r.description, ...(content.length ? { content: Object.fromEntries(content.map(([type, s]) => [type, { schema: toOpenApi(s) }])) } : {}) };
  }
  const operation: Operation = {
    operationId: `${route.method.toLowerCase()}${route.url.replace(/\/:(\w+)/g, 'By/$1').replace(/[^a-zA-Z0-9]+(\w)/g, (_, c: string) => c.toUpperCase())}`,
    ...(schema.summary ? { summary: schema.summary } : {}),
    ...(schema.description ? { description: schema.description } : {}),
    ...(schema.tags ? { tags: schema.tags } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: toOpenApi(schema.body) } } } } : {}),
    ...(doc.multipart ? { requestBody: { required: true, content: { 'multipart/form-data': { schema: toOpenApi(doc.multipart) } } } } : {}),
    responses,
  };
  if (doc.open) operation.security = [];
  return operation;
}

/** Collects the routes as they are registered; `document()` writes them out (after the server is ready). */
export function collectOpenApi(app: FastifyInstance, options: { requireTokens: boolean }): { document(): Record<string, unknown> } {
  const routes: { method: string; url: string; schema: RouteSchema; doc: RouteDoc }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const doc = route.config?.openapi ?? {};
    if (doc.hide || !route.url.startsWith('/api/')) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      routes.push({ method, url: route.url, schema: (route.schema ?? {}) as RouteSchema, doc });
    }
  });
  let built: Record<string, unknown> | undefined;
  return {
    document() {
      if (built) return built;
      const paths: Record<string, Record<string, Operation>> = {};
      for (const r of [...routes].sort((a, b) => a.url.localeCompare(b.url))) {
        const path = r.url.replace(/:(\w+)/g, '{$1}');
        (paths[path] ??= {})[r.method.toLowerCase()] = operationOf(r);
      }
      built = {
        openapi: '3.0.3',
        info: {
          title: 'finprint review server',
          version: packageVersion(),
          description: [
            'The JSON API of the photo-ID review page: the queue of encounters to review, ranked candidates with filters, decisions (audited, undoable), individuals, photos and uploads.',
            'Errors are JSON {error} with the status that says what happened; a 409 also carries {current}, the record as it is now.',
            options.requireTokens
              ? 'This server listens beyond this machine: every API call except this document needs a reviewer token (Authorization: Bearer <token>; finprint catalogue user add prints one).'
              : 'This server listens on this machine only: no token is needed; one sent must be valid, and decisions are recorded as its reviewer (else as user "local"). Served on another address, every API call except this document needs a token.',
          ].join('\n\n'),
        },
        servers: [{ url: '/' }],
        security: options.requireTokens ? [{ reviewerToken: [] }] : [{}, { reviewerToken: [] }],
        paths,
        components: {
          schemas: Object.fromEntries(Object.entries(SHARED_SCHEMAS).map(([name, s]) => [name, toOpenApi(s)])),
          securitySchemes: { reviewerToken: { type: 'http', scheme: 'bearer', description: 'a reviewer token from finprint catalogue user add' } },
        },
      };
      return built;
    },
  };
}
