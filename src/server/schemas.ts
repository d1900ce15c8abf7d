// The API's records as JSON Schema: fastify validates requests and serializes responses with them,
// and the OpenAPI document (openapi.ts) is written from the same objects, so what is served, what
// is checked and what is documented cannot drift apart. Written to be both JSON Schema (Ajv,
// fast-json-stringify) and OpenAPI 3.0: `nullable: true` rather than a 'null' type, shared records
// by `$ref: 'Name#'` (components in the document).
import { DECISION_ACTIONS, ENCOUNTER_STATUSES, BOX_SOURCES } from '../catalogue/types.js';

export type JsonSchema = Record<string, unknown>;

const integer = { type: 'integer' } as const;
const number = { type: 'number' } as const;
const string = { type: 'string' } as const;
const nullableString = { type: 'string', nullable: true } as const;
const nullableNumber = { type: 'number', nullable: true } as const;
const nullableInteger = { type: 'integer', nullable: true } as const;
/** Any JSON value (a decision's before/after snapshots, a conflict's current state). */
const anything = {} as const;

/** The shared records' names. */
export type SchemaName = 'Error' | 'Conflict' | 'Encounter' | 'Photo' | 'Individual' | 'IndividualSummary' | 'Decision' | 'QueueItem' | 'Candidate' | 'Candidates' | 'DecisionRequest' | 'UploadResult';

/** A reference to a shared record, in fastify's form ('Name#'); openapi.ts rewrites it. */
export const ref = (name: SchemaName): JsonSchema => ({ $ref: `${name}#` });
/** A shared record or null. */
export const nullableRef = (name: SchemaName): JsonSchema => ({ type: 'object', nullable: true, allOf: [ref(name)] });

const object = (properties: Record<string, unknown>, required: readonly string[] = Object.keys(properties), extra: JsonSchema = {}): JsonSchema => ({
  type: 'object',
  properties,
  required: [...required],
  ...extra,
});

const encounterProperties = {
  id: integer,
  status: { type: 'string', enum: [...ENCOUNTER_STATUSES] },
  individualId: { ...nullableString, description: 'the individual it was confirmed as (confirmed encounters only)' },
  date: { ...nullableString, description: 'ISO date or date-time of the sighting' },
  latitude: nullableNumber,
  longitude: nullableNumber,
  observer: nullableString,
  species: nullableString,
  notes: nullableString,
  created: string,
  version: { ...integer, description: 'raised by every change; a decision names the version it was made on' },
};

const individualProperties = {
  id: string,
  name: nullableString,
  species: nullableString,
  created: string,
  notes: nullableString,
  mergedInto: { ...nullableString, description: 'set when merged into another individual' },
};

const box = object({ x0: number, y0: number, x1: number, y1: number }, undefined, { nullable: true, description: "the animal's box in pixels, or null for the whole photo" });

/** Shared records, added to fastify with addSchema and listed as the document's components. */
export const SHARED_SCHEMAS: Record<SchemaName, JsonSchema> = {
  Error: object({ error: string }, ['error'], { description: 'what went wrong, in words' }),
  Conflict: object({ error: string, current: { ...anything, description: 'the record as it is now (the encounter another reviewer changed first)' } }, ['error', 'current']),
  Encounter: object(encounterProperties),
  Photo: object({
    id: integer,
    encounterId: integer,
    sha256: { ...string, description: "sha256 of the file's bytes" },
    originalName: { ...string, description: 'the name it came with (metadata only)' },
    format: { ...string, description: 'jpg, png, webp, tif or heic, from decoding' },
    width: integer,
    height: integer,
    exifDate: nullableString,
    exifLatitude: nullableNumber,
    exifLongitude: nullableNumber,
    box,
    boxSource: { type: 'string', enum: [...BOX_SOURCES] },
  }),
  Individual: object(individualProperties),
  IndividualSummary: object({ ...individualProperties, encounters: integer, photos: integer, lastSeen: { ...nullableString, description: 'date of its latest dated encounter' } }),
  Decision: object({
    id: integer,
    user: string,
    at: string,
    action: { type: 'string', enum: [...DECISION_ACTIONS] },
    encounterId: nullableInteger,
    individualId: nullableString,
    before: { ...anything, description: 'the records it changed, as they were' },
    after: { ...anything, description: 'the same records after it' },
    undoneBy: { ...nullableInteger, description: 'the undo decision that reversed this one' },
  }),
  QueueItem: object({
    ...encounterProperties,
    bestProbability: { ...nullableNumber, description: 'P(same individual) of its best candidate' },
    bestScore: nullableNumber,
    photos: { type: 'array', items: integer, description: 'photo ids' },
  }),
  Candidate: object({
    individual: object({ id: string, name: nullableString, species: nullableString }),
    score: number,
    probability: { ...nullableNumber, description: 'P(same individual | score); null when the catalogue has no calibration' },
    bestPhoto: { ...integer, description: "the individual's photo that matched best" },
    queryPhoto: { ...integer, description: "the encounter's photo it matched" },
    mirrored: { type: 'boolean' },
    photos: { type: 'array', items: integer, description: 'a few more of its photos' },
  }),
  Candidates: object({
    encounter: ref('Encounter'),
    searched: { ...integer, description: 'gallery photos that passed the filters' },
    total: { ...integer, description: 'gallery photos' },
    description: string,
    per: { type: 'string', enum: ['individual', 'photo'] },
    candidates: { type: 'array', items: ref('Candidate') },
    suggestion: { ...nullableString, description: '"likely new individual" when even the best candidate scores under the threshold' },
    threshold: nullableNumber,
  }),
  DecisionRequest: {
    description: "A reviewer's decision; `version` is the encounter's version they saw (409 if it changed since).",
    type: 'object',
    required: ['action'],
    discriminator: { propertyName: 'action' },
    oneOf: [
      object({ action: { type: 'string', enum: ['confirm'] }, encounterId: integer, version: integer, individualId: { type: 'string', minLength: 1, maxLength: 200 } }),
      object({ action: { type: 'string', enum: ['new-individual'] }, encounterId: integer, version: integer, name: { type: 'string', maxLength: 200 } }, ['action', 'encounterId', 'version']),
      object({ action: { type: 'string', enum: ['unidentifiable', 'skip'] }, encounterId: integer, version: integer }),
      object({ action: { type: 'string', enum: ['merge'] }, individualId: { type: 'string', minLength: 1, maxLength: 200 }, into: { type: 'string', minLength: 1, maxLength: 200 } }),
      object({ action: { type: 'string', enum: ['move-photo'] }, photoId: integer }),
      object({ action: { type: 'string', enum: ['undo'] }, decisionId: integer }),
    ],
  },
  UploadResult: object(
    {
      name: { ...string, description: "the file's name as sent (metadata only)" },
      status: { type: 'string', enum: ['added', 'duplicate', 'rejected'] },
      encounter: { ...ref('Encounter'), description: 'added: the new encounter; duplicate: the encounter already holding the photo' },
      photo: nullableRef('Photo'),
      reason: string,
      kind: { type: 'string', enum: ['too-large', 'not-a-photo', 'unreadable'] },
    },
    ['name', 'status'],
  ),
};

/** A page of a listing. */
export const page = (item: JsonSchema): JsonSchema => object({ total: integer, items: { type: 'array', items: item } });

export const pagingQuery = {
  offset: { type: 'integer', minimum: 0, default: 0 },
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
};

export const dateQuery = (what: string): JsonSchema => ({ type: 'string', format: 'date', description: `${what} (YYYY-MM-DD, inclusive)` });

export const idParams = (type: 'integer' | 'string', description: string): JsonSchema => object({ id: type === 'integer' ? { type: 'integer', minimum: 1, description } : { type: 'string', minLength: 1, maxLength: 200, description } });

/** The error answers a route may give, by status. */
export function errors(...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 415 | 503)[]): Record<number, JsonSchema> {
  return Object.fromEntries(statuses.map((s) => [s, s === 409 ? ref('Conflict') : ref('Error')]));
}

export { object as objectSchema, encounterProperties };
