// Decisions: a reviewer's confirm / new individual / unidentifiable / skip on an encounter (made on
// the version they saw: if someone decided first, 409 with the encounter as it is now), merges,
// photo moves and undos; each one audited with the user who made it, and seen by the next search.
import type { FastifyInstance } from 'fastify';
import type { DecisionRequest } from '../catalogue/types.js';
import type { ServerContext } from './context.js';
import { decidingUser } from './auth.js';
import { errors, nullableRef, objectSchema, page, pagingQuery, ref } from './schemas.js';

export function registerDecisions(app: FastifyInstance, ctx: ServerContext): void {
  const { catalogue } = ctx;

  app.post<{ Body: DecisionRequest }>(
    '/api/decisions',
    {
      schema: {
        summary: 'Make a decision (recorded with the reviewer, undoable)',
        description: 'confirm, new-individual, unidentifiable and skip name the encounter version the reviewer saw: if it changed since, the answer is 409 with {error, current}, current being the encounter now.',
        tags: ['decisions'],
        body: ref('DecisionRequest'),
        response: {
          201: objectSchema({
            decision: ref('Decision'),
            encounter: { ...nullableRef('Encounter'), description: "the decision's encounter as it is now (null for a merge)" },
            individual: { ...nullableRef('Individual'), description: "the decision's individual as it is now (the new one, for new-individual)" },
          }),
          ...errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      // one SQLite transaction with its audit row; the encounter's version decides who was first
      const decision = await catalogue.decide(request.body, decidingUser(request));
      const encounter = decision.encounterId === null ? null : await catalogue.store.encounter(decision.encounterId);
      const individual = decision.individualId === null ? null : await catalogue.store.individual(decision.individualId);
      return reply.code(201).send({ decision, encounter, individual });
    },
  );

  app.get<{ Querystring: { encounterId?: number; individualId?: string; offset: number; limit: number } }>(
    '/api/decisions',
    {
      schema: {
        summary: 'The decision log, oldest first',
        tags: ['decisions'],
        querystring: objectSchema({ encounterId: { type: 'integer', minimum: 1 }, individualId: { type: 'string', minLength: 1, maxLength: 200 }, ...pagingQuery }, []),
        response: { 200: page(ref('Decision')), ...errors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      return catalogue.store.decisions({ offset: q.offset, limit: q.limit, ...(q.encounterId !== undefined ? { encounterId: q.encounterId } : {}), ...(q.individualId !== undefined ? { individualId: q.individualId } : {}) });
    },
  );
}
