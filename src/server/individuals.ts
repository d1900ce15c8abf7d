// The known individuals: a page of them with their counts, and one with its encounters and photos.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from './context.js';
import { encounterProperties, errors, idParams, objectSchema, page, pagingQuery, ref } from './schemas.js';

export function registerIndividuals(app: FastifyInstance, ctx: ServerContext): void {
  const { catalogue } = ctx;

  app.get<{ Querystring: { species?: string; offset: number; limit: number } }>(
    '/api/individuals',
    {
      schema: {
        summary: 'Individuals (not merged away), with their encounter and photo counts',
        tags: ['individuals'],
        querystring: objectSchema({ species: { type: 'string', minLength: 1, maxLength: 200 }, ...pagingQuery }, []),
        response: { 200: page(ref('IndividualSummary')), ...errors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      return catalogue.store.individuals({ offset: q.offset, limit: q.limit, ...(q.species !== undefined ? { species: q.species } : {}) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/individuals/:id',
    {
      schema: {
        summary: 'An individual, its encounters (oldest first) and their photos',
        tags: ['individuals'],
        params: idParams('string', 'individual id'),
        response: {
          200: objectSchema({ individual: ref('Individual'), encounters: { type: 'array', items: objectSchema({ ...encounterProperties, photos: { type: 'array', items: ref('Photo') } }) } }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => catalogue.individual(request.params.id),
  );
}
