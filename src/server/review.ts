// What a reviewer looks at: the catalogue's figures, the queue of encounters, one encounter with its
// photos, and its ranked candidates within the filters they set.
import type { FastifyInstance } from 'fastify';
import { ENCOUNTER_STATUSES, type EncounterStatus, type SearchFilter } from '../catalogue/types.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { dateQuery, errors, idParams, objectSchema, page, pagingQuery, ref } from './schemas.js';

interface QueueQueryString {
  status: EncounterStatus;
  species?: string;
  from?: string;
  to?: string;
  sort: 'probability' | 'date' | 'species' | 'id';
  offset: number;
  limit: number;
}

interface CandidatesQueryString {
  top: number;
  per: 'individual' | 'photo';
  species?: string;
  from?: string;
  to?: string;
  withinKm?: number;
  lat?: number;
  lon?: number;
}

/** A field decision synced from a field pack (finprint catalogue sync), shown to the reviewer as a proposal. */
const PROPOSAL_SCHEMA = {
  type: 'object',
  nullable: true,
  description: 'the field decision synced with this encounter (finprint catalogue sync), or null',
  properties: {
    entryId: { type: 'string' },
    encounterId: { type: 'integer', nullable: true },
    kind: { type: 'string', enum: ['match', 'new', 'unsure'] },
    individualId: { type: 'string', nullable: true, description: 'proposed individual (the one it was merged into, when merged since the pack was made)' },
    proposedIndividualId: { type: 'string', nullable: true, description: 'the individual as the field decision named it' },
    by: { type: 'string', nullable: true },
    at: { type: 'string', nullable: true },
    source: { type: 'string' },
    synced: { type: 'string' },
    outcome: { type: 'string', enum: ['attached', 'duplicate', 'merged'] },
  },
  required: ['entryId', 'encounterId', 'kind', 'individualId', 'proposedIndividualId', 'by', 'at', 'source', 'synced', 'outcome'],
};

const speciesQuery = { type: 'string', minLength: 1, maxLength: 200, description: 'only this species' };

export function registerReview(app: FastifyInstance, ctx: ServerContext): void {
  const { catalogue } = ctx;

  app.get(
    '/api/stats',
    {
      schema: {
        summary: "The catalogue's figures, its model, and whether writes need a token",
        tags: ['review'],
        response: {
          200: objectSchema({
            individuals: { type: 'integer' },
            encounters: objectSchema(Object.fromEntries(ENCOUNTER_STATUSES.map((s) => [s, { type: 'integer' }]))),
            photos: { type: 'integer' },
            decisions: { type: 'integer' },
            model: { type: 'string', description: "the model version (its weights' digest)" },
            run: { type: 'string', description: 'the run folder whose model embeds photos' },
            writesNeedToken: { type: 'boolean', description: 'true when the server listens beyond this machine: then every API call needs a token' },
            user: { type: 'string', nullable: true, description: 'the reviewer whose token came with the request' },
            fieldPage: { type: 'string', nullable: true, description: "where this server offers the offline field page ('/field/', serve --catalogue --pack on loopback), or null" },
          }),
          ...errors(401),
        },
      },
    },
    async (request) => ({ ...(await catalogue.store.stats()), model: catalogue.setup.model, run: catalogue.setup.run, writesNeedToken: ctx.requireTokens, user: request.reviewer, fieldPage: ctx.fieldPage }),
  );

  app.get<{ Querystring: QueueQueryString }>(
    '/api/queue',
    {
      schema: {
        summary: 'Encounters by status (the review queue), with their best candidate probability and photo ids',
        tags: ['review'],
        querystring: objectSchema(
          {
            status: { type: 'string', enum: [...ENCOUNTER_STATUSES], default: 'unreviewed' },
            species: speciesQuery,
            from: dateQuery('sighted on or after'),
            to: dateQuery('sighted on or before'),
            sort: { type: 'string', enum: ['probability', 'date', 'species', 'id'], default: 'probability', description: 'probability: most likely matches first' },
            ...pagingQuery,
          },
          [],
        ),
        response: {
          200: page(ref('QueueItem')),
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const result = await catalogue.queue({ status: q.status, sort: q.sort, offset: q.offset, limit: q.limit, ...(q.species !== undefined ? { species: q.species } : {}), ...(q.from !== undefined ? { from: q.from } : {}), ...(q.to !== undefined ? { to: q.to } : {}) });
      const photos = await catalogue.store.photosOf(result.items.map((e) => e.id));
      return { total: result.total, items: result.items.map((e) => ({ ...e, photos: photos.filter((p) => p.encounterId === e.id).map((p) => p.id) })) };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/encounters/:id',
    {
      schema: {
        summary: 'An encounter, its photos, and the field decision that came with it',
        tags: ['review'],
        params: idParams('integer', 'encounter id'),
        response: { 200: objectSchema({ encounter: ref('Encounter'), photos: { type: 'array', items: ref('Photo') }, proposal: PROPOSAL_SCHEMA }), ...errors(400, 401, 404) },
      },
    },
    async (request) => catalogue.encounter(request.params.id),
  );

  app.get<{ Params: { id: number }; Querystring: CandidatesQueryString }>(
    '/api/encounters/:id/candidates',
    {
      schema: {
        summary: 'Ranked candidate individuals (or photos) for an encounter, within the filters',
        description: 'withinKm measures from lat/lon, else from the encounter\'s own position; without either it is a 400.',
        tags: ['review'],
        params: idParams('integer', 'encounter id'),
        querystring: objectSchema(
          {
            top: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
            per: { type: 'string', enum: ['individual', 'photo'], default: 'individual', description: 'best photo per individual, or every photo' },
            species: speciesQuery,
            from: dateQuery('gallery photos sighted on or after'),
            to: dateQuery('gallery photos sighted on or before'),
            withinKm: { type: 'number', exclusiveMinimum: 0, maximum: 40075, description: 'only gallery photos sighted within this many km' },
            lat: { type: 'number', minimum: -90, maximum: 90, description: 'measure withinKm from here (with lon)' },
            lon: { type: 'number', minimum: -180, maximum: 180 },
          },
          [],
        ),
        response: { 200: ref('Candidates'), ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      if ((q.lat === undefined) !== (q.lon === undefined)) throw new HttpError(400, 'lat and lon go together: give both or neither');
      const filter: SearchFilter = {
        ...(q.species !== undefined ? { species: q.species } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
        ...(q.withinKm !== undefined ? { withinKm: q.withinKm } : {}),
        ...(q.lat !== undefined && q.lon !== undefined ? { near: { latitude: q.lat, longitude: q.lon } } : {}),
      };
      if (filter.withinKm !== undefined && !filter.near) {
        const { encounter } = await catalogue.encounter(request.params.id);
        if (encounter.latitude === null || encounter.longitude === null) {
          throw new HttpError(400, `withinKm needs a position to measure from, and encounter ${encounter.id} has none: give lat and lon`);
        }
      }
      try {
        // not queued behind other requests: the catalogue answers searches asked for at once in one batch
        return await catalogue.candidates(request.params.id, filter, { top: q.top, per: q.per });
      } catch (err) {
        if (err instanceof RangeError) throw new HttpError(400, err.message);
        throw err;
      }
    },
  );
}
