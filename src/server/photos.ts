// Photos: their bytes and thumbnails (a photo never changes, so both are cached for good), and
// uploads of new ones. An upload is read whole (each file within the size limit, the number of
// files limited), its fields checked, then taken in by the catalogue: the type decided by decoding
// the header, a decompression bomb refused from the header's pixel count before any decoding, the
// file stored under its hash (the name it came with is metadata, never a path), embedded and added
// as an encounter in one transaction; uploads one at a time.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import type { PhotoIntake } from '../catalogue/catalogue.js';
import type { Photo } from '../catalogue/types.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { errors, idParams, objectSchema, ref } from './schemas.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', tif: 'image/tiff', heic: 'image/heic' };

/** Photos never change (stored by content hash): the browser keeps them. Private: they may need a token. */
const IMMUTABLE = 'private, max-age=31536000, immutable';

/** The metadata fields an upload may carry, applied to each of its photos. */
export const UPLOAD_FIELDS = ['date', 'latitude', 'longitude', 'observer', 'species', 'notes'] as const;
type UploadField = (typeof UPLOAD_FIELDS)[number];

const THUMBNAILS_KEPT = 512;

/** The most recently made thumbnails, by photo hash and size. */
class ThumbnailCache {
  private readonly entries = new Map<string, Buffer>();
  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }
  set(key: string, value: Buffer): void {
    this.entries.set(key, value);
    if (this.entries.size > THUMBNAILS_KEPT) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** An uploaded file's name as metadata: its last path component, printable, at most 200 characters. */
export function uploadName(filename: string | undefined, index: number): string {
  const name = (filename ?? '').split(/[\\/]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return name || `upload-${index + 1}`;
}

const DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;

/** The upload's fields as intake metadata; 400 for a bad one. */
export function uploadMetadata(fields: Partial<Record<UploadField, string>>): Pick<PhotoIntake, 'date' | 'latitude' | 'longitude' | 'observer' | 'species' | 'notes'> {
  const out: Pick<PhotoIntake, 'date' | 'latitude' | 'longitude' | 'observer' | 'species' | 'notes'> = {};
  const text = (name: UploadField): string | undefined => {
    const v = fields[name]?.trim();
    if (!v) return undefined;
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new HttpError(400, `field ${name} has control characters`);
    return v;
  };
  const date = text('date');
  if (date !== undefined) {
    if (!DATE.test(date) || Number.isNaN(Date.parse(date))) throw new HttpError(400, `field date ${JSON.stringify(date)} is not an ISO date (2024-07-31 or 2024-07-31T14:05:00)`);
    out.date = date.replace(' ', 'T');
  }
  const coordinate = (name: 'latitude' | 'longitude', limit: number): number | undefined => {
    const v = text(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || Math.abs(n) > limit) throw new HttpError(400, `field ${name} ${JSON.stringify(v)} is not a number from -${limit} to ${limit}`);
    return n;
  };
  const latitude = coordinate('latitude', 90);
  const longitude = coordinate('longitude', 180);
  if ((latitude === undefined) !== (longitude === undefined)) throw new HttpError(400, 'fields latitude and longitude go together: give both or neither');
  if (latitude !== undefined && longitude !== undefined) Object.assign(out, { latitude, longitude });
  for (const name of ['observer', 'species', 'notes'] as const) {
    const v = text(name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

interface UploadedFile {
  name: string;
  bytes: Buffer;
}

/** Reads a multipart upload: the `file` parts and the metadata fields, within the limits. */
async function readUpload(request: FastifyRequest, ctx: ServerContext): Promise<{ files: UploadedFile[]; fields: Partial<Record<UploadField, string>> }> {
  if (!request.isMultipart()) throw new HttpError(415, `send photos as multipart/form-data: one or more parts named "file", and optional fields ${UPLOAD_FIELDS.join(', ')}`);
  const files: UploadedFile[] = [];
  const fields: Partial<Record<UploadField, string>> = {};
  const { maxBytes, maxFiles } = ctx.limits;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const name = uploadName(part.filename, files.length);
        if (part.fieldname !== 'file') {
          part.file.resume();
          throw new HttpError(400, `upload part ${JSON.stringify(part.fieldname)}: photos go in parts named "file"`);
        }
        let bytes: Buffer;
        try {
          bytes = await part.toBuffer();
        } catch (err) {
          if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw new HttpError(413, `${name}: larger than the ${maxBytes} bytes a photo may have`);
          throw err;
        }
        files.push({ name, bytes });
      } else {
        const field = part.fieldname as UploadField;
        if (!(UPLOAD_FIELDS as readonly string[]).includes(field)) throw new HttpError(400, `unknown upload field ${JSON.stringify(part.fieldname)}; fields are file, ${UPLOAD_FIELDS.join(', ')}`);
        if (fields[field] !== undefined) throw new HttpError(400, `upload field ${field} is given twice`);
        if (part.valueTruncated) throw new HttpError(413, `upload field ${field} is too long`);
        fields[field] = String(part.value);
      }
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') throw new HttpError(413, `more than ${maxFiles} photos in one upload; send them in batches`);
    if (code === 'FST_FIELDS_LIMIT') throw new HttpError(413, 'too many fields in the upload');
    throw err;
  }
  if (files.length === 0) throw new HttpError(400, 'no photo in the upload: send one or more parts named "file"');
  return { files, fields };
}

export function registerPhotos(app: FastifyInstance, ctx: ServerContext): void {
  const { catalogue } = ctx;
  const thumbnails = new ThumbnailCache();

  const photoOr404 = async (id: number): Promise<{ photo: Photo; file: string; size: number }> => {
    const photo = await catalogue.store.photo(id);
    if (!photo) throw new HttpError(404, `no photo ${id}`);
    const file = catalogue.photoFile(photo);
    const s = await stat(file).catch(() => null);
    if (!s?.isFile()) throw new HttpError(404, `photo ${id}'s file is missing from the catalogue folder; run finprint catalogue check`);
    return { photo, file, size: s.size };
  };
  /** 304 when the browser already has these bytes. */
  const notModified = (request: FastifyRequest, reply: FastifyReply, etag: string): boolean => {
    void reply.header('ETag', etag).header('Cache-Control', IMMUTABLE);
    if (request.headers['if-none-match'] !== etag) return false;
    void reply.code(304).send();
    return true;
  };
  const image = (types: string[], description: string) => ({ 200: { description, content: Object.fromEntries(types.map((t) => [t, { type: 'string', format: 'binary' }])) }, 304: { description: 'Not modified (the ETag matches)', content: {} } });

  app.get<{ Params: { id: number } }>(
    '/api/photos/:id',
    {
      schema: { summary: "A photo's bytes as stored (Content-Type from its decoded format)", tags: ['photos'], params: idParams('integer', 'photo id'), response: errors(400, 401, 404) },
      config: { openapi: { responses: image(Object.values(CONTENT_TYPES), 'The photo') } },
    },
    async (request, reply) => {
      const { photo, file, size } = await photoOr404(request.params.id);
      if (notModified(request, reply, `"${photo.sha256}"`)) return reply;
      return reply
        .type(CONTENT_TYPES[photo.format] ?? 'application/octet-stream')
        .header('Content-Length', size)
        .header('Content-Disposition', `inline; filename="photo-${photo.id}.${photo.format}"`)
        .send(createReadStream(file));
    },
  );

  app.get<{ Params: { id: number }; Querystring: { size: number } }>(
    '/api/photos/:id/thumbnail',
    {
      schema: {
        summary: 'A JPEG thumbnail of a photo, turned upright by its EXIF orientation, fitting size x size',
        tags: ['photos'],
        params: idParams('integer', 'photo id'),
        querystring: objectSchema({ size: { type: 'integer', minimum: 64, maximum: 1024, default: 256, description: 'longest side in pixels' } }, []),
        response: errors(400, 401, 404),
      },
      config: { openapi: { responses: image(['image/jpeg'], 'The thumbnail') } },
    },
    async (request, reply) => {
      const { photo, file } = await photoOr404(request.params.id);
      const size = request.query.size;
      if (notModified(request, reply, `"${photo.sha256}-${size}"`)) return reply;
      const key = `${photo.sha256}:${size}`;
      let jpeg = thumbnails.get(key);
      if (!jpeg) {
        try {
          jpeg = await sharp(file, { limitInputPixels: ctx.limits.maxPixels }).rotate().resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 82 }).toBuffer();
        } catch (err) {
          throw new Error(`thumbnail of photo ${photo.id} (${file}): ${(err as Error).message}`);
        }
        thumbnails.set(key, jpeg);
      }
      return reply.type('image/jpeg').send(jpeg);
    },
  );

  app.post(
    '/api/photos',
    {
      schema: {
        summary: 'Upload new photos: each becomes an unreviewed encounter (or is reported as already there, or rejected)',
        description: `multipart/form-data with one or more parts named "file" (at most ${ctx.limits.maxFiles}, each at most ${ctx.limits.maxBytes} bytes and ${ctx.limits.maxPixels} pixels) and optional fields ${UPLOAD_FIELDS.join(', ')} applied to every photo. The type is decided by decoding, never by the name. One photo that is rejected answers 413 (too large) or 415 (not a photo); with several, each result says.`,
        tags: ['photos'],
        response: { 201: objectSchema({ results: { type: 'array', items: ref('UploadResult') } }), ...errors(400, 401, 403, 413, 415, 503) },
      },
      config: {
        openapi: {
          multipart: objectSchema(
            {
              file: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'the photos (JPEG, PNG, WebP, TIFF or HEIF)' },
              date: { type: 'string', description: 'ISO date or date-time of the sighting (else EXIF)' },
              latitude: { type: 'number', minimum: -90, maximum: 90, description: 'with longitude (else EXIF)' },
              longitude: { type: 'number', minimum: -180, maximum: 180 },
              observer: { type: 'string' },
              species: { type: 'string' },
              notes: { type: 'string' },
            },
            ['file'],
          ),
        },
      },
    },
    async (request, reply) => {
      const { files, fields } = await readUpload(request, ctx);
      const metadata = uploadMetadata(fields);
      const embedder = await ctx.embedder();
      const results = await ctx.uploads.run(() => catalogue.intake(files.map((f) => ({ source: { bytes: f.bytes }, name: f.name, ...metadata })), embedder, { limits: ctx.limits }));
      const only = results.length === 1 ? results[0]! : undefined;
      if (only?.status === 'rejected') throw new HttpError(only.kind === 'too-large' ? 413 : 415, only.reason);
      const answers = [];
      for (const r of results) {
        if (r.status === 'added') answers.push({ name: r.name, status: r.status, encounter: r.encounter, photo: r.photo });
        else if (r.status === 'duplicate') {
          const encounter = r.photo ? await catalogue.store.encounter(r.photo.encounterId) : null;
          answers.push({ name: r.name, status: r.status, photo: r.photo, ...(encounter ? { encounter } : {}) });
        } else answers.push({ name: r.name, status: r.status, reason: r.reason, kind: r.kind });
      }
      return reply.code(201).send({ results: answers });
    },
  );
}
