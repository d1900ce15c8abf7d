// The review server's JSON API, driven in-process with fastify's inject over a real catalogue (a
// vgg16_tiny run trained once): every route, every error status, concurrent decisions and uploads,
// the OpenAPI document, the page's files and the loopback rules.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import sharp from 'sharp';
import { Catalogue } from '../../src/catalogue/catalogue.js';
import { checkCatalogue } from '../../src/catalogue/check.js';
import { newToken } from '../../src/catalogue/tokens.js';
import type { Decision, Encounter, Photo } from '../../src/catalogue/types.js';
import { buildServer } from '../../src/server/app.js';
import { bandsImage, tempDir } from '../data/helpers.js';
import { pngBomb, trainedCatalogue, type Fixture } from './helpers.js';

let fx: Fixture;
let catalogue: Catalogue;
let app: FastifyInstance;
let logged: string[] = [];
let token = '';

interface Answer<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
  raw: Buffer;
}

async function call<T = any>(options: InjectOptions | string, server: FastifyInstance = app): Promise<Answer<T>> {
  const r = await server.inject(options);
  const type = String(r.headers['content-type'] ?? '');
  return { status: r.statusCode, body: (type.startsWith('application/json') ? r.json() : r.body) as T, headers: r.headers, raw: r.rawPayload };
}

const post = <T = any>(url: string, payload: unknown, headers: Record<string, string> = {}, server?: FastifyInstance): Promise<Answer<T>> => call<T>({ method: 'POST', url, payload: payload as InjectOptions['payload'], headers }, server);

/** A photo no other test uses: vertical bands in colours picked by `seed`. */
async function photo(seed: number, format: 'png' | 'jpeg' = 'jpeg'): Promise<Buffer> {
  const colours = Array.from({ length: 6 }, (_, i) => [(seed * 53 + i * 97) % 256, (seed * 29 + i * 151) % 256, (seed * 71 + i * 37) % 256] as [number, number, number]);
  return bandsImage(16, 64, colours, format);
}

function form(files: { bytes: Buffer; name: string }[], fields: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const file of files) f.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
  return f;
}

const upload = (files: { bytes: Buffer; name: string }[], fields: Record<string, string> = {}, server?: FastifyInstance, headers: Record<string, string> = {}): Promise<Answer> =>
  call({ method: 'POST', url: '/api/photos', payload: form(files, fields) as unknown as InjectOptions['payload'], headers }, server);

async function unreviewed(): Promise<Encounter> {
  const q = await call<{ items: Encounter[] }>('/api/queue?sort=id&limit=500');
  const e = q.body.items.at(-1);
  assert.ok(e, 'an unreviewed encounter left');
  return (await call<{ encounter: Encounter }>(`/api/encounters/${e.id}`)).body.encounter;
}

before(async () => {
  fx = await trainedCatalogue('finprint-server-api-', { importTest: true });
  catalogue = await Catalogue.open(fx.catalogue);
  const t = newToken();
  await catalogue.store.addUser('alice', t.hash);
  token = t.token;
  app = await buildServer(catalogue, { log: (m) => logged.push(m), webDir: join(fx.work, 'no-page') });
});

after(async () => {
  await app?.close();
  await catalogue?.close();
});

describe('reading', () => {
  test('GET /api/stats: the figures, the model, whether writes need a token, who is asking', async () => {
    const r = await call('/api/stats');
    assert.equal(r.status, 200);
    const stats = await catalogue.store.stats();
    assert.deepEqual(r.body, { ...stats, model: catalogue.setup.model, run: catalogue.setup.run, writesNeedToken: false, user: null, fieldPage: null });
    assert.ok(r.body.encounters.unreviewed > 0 && r.body.encounters.confirmed > 0);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const alice = await call({ url: '/api/stats', headers: { authorization: `Bearer ${token}` } });
    assert.equal(alice.body.user, 'alice');
  });

  test('GET /api/queue: encounters with their best probability and photo ids, sorted and filtered', async () => {
    const r = await call('/api/queue');
    assert.equal(r.status, 200);
    const stats = await catalogue.store.stats();
    assert.equal(r.body.total, stats.encounters.unreviewed);
    const items = r.body.items as (Encounter & { bestProbability: number | null; bestScore: number | null; photos: number[] })[];
    assert.ok(items.length > 0);
    for (const item of items) {
      assert.equal(item.status, 'unreviewed');
      assert.ok(item.photos.length >= 1 && item.photos.every(Number.isInteger));
      assert.equal(typeof item.bestScore, 'number');
      assert.ok(item.bestProbability === null || (item.bestProbability >= 0 && item.bestProbability <= 1));
    }
    for (let i = 1; i < items.length; i++) assert.ok(items[i - 1]!.bestScore! >= items[i]!.bestScore!, 'most likely matches first');
    const paged = await call('/api/queue?sort=id&offset=1&limit=2');
    assert.equal(paged.body.items.length, 2);
    assert.deepEqual(paged.body.items.map((e: Encounter) => e.id), [...items].map((e) => e.id).sort((a, b) => a - b).slice(1, 3));
    const confirmed = await call('/api/queue?status=confirmed&sort=species&limit=5');
    assert.equal(confirmed.body.total, stats.encounters.confirmed);
    assert.ok(confirmed.body.items.every((e: Encounter) => e.status === 'confirmed'));
    const none = await call('/api/queue?species=narwhal');
    assert.deepEqual(none.body, { total: 0, items: [] });
    const dated = await call('/api/queue?from=2030-01-01&to=2030-12-31');
    assert.equal(dated.body.total, 0);
  });

  test('GET /api/queue: bad parameters are 400 with a clear message', async () => {
    for (const [url, message] of [
      ['/api/queue?sort=bogus', /querystring\/sort must be one of: probability, date, species, id/],
      ['/api/queue?status=done', /querystring\/status must be one of: unreviewed, confirmed, unidentifiable, skipped/],
      ['/api/queue?limit=0', /querystring\/limit must be >= 1/],
      ['/api/queue?limit=501', /querystring\/limit must be <= 500/],
      ['/api/queue?offset=-1', /querystring\/offset must be >= 0/],
      ['/api/queue?from=yesterday', /querystring\/from must match format "date"/],
    ] as const) {
      const r = await call(url);
      assert.equal(r.status, 400, url);
      assert.match(r.body.error, message);
      assert.deepEqual(Object.keys(r.body), ['error']);
    }
  });

  test('GET /api/encounters/:id: the encounter, its photos, no proposal; 404; 400', async () => {
    const e = await unreviewed();
    const r = await call(`/api/encounters/${e.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, await catalogue.encounter(e.id));
    assert.equal(r.body.photos.length, 1);
    assert.equal(r.body.proposal, null, 'an encounter not synced from the field has no proposal');
    const missing = await call('/api/encounters/999999');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'no encounter 999999' });
    const bad = await call('/api/encounters/abc');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /params\/id must be integer/);
  });

  test('GET /api/encounters/:id/candidates: what Catalogue.candidates gives, with filters', async () => {
    const e = await unreviewed();
    const r = await call(`/api/encounters/${e.id}/candidates?top=3`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, JSON.parse(JSON.stringify(await catalogue.candidates(e.id, {}, { top: 3 }))));
    assert.ok(r.body.candidates.length > 0 && r.body.candidates.length <= 3);
    const c = r.body.candidates[0];
    assert.deepEqual(Object.keys(c).sort(), ['bestPhoto', 'individual', 'mirrored', 'photos', 'probability', 'queryPhoto', 'score']);
    assert.deepEqual(Object.keys(c.individual).sort(), ['id', 'name', 'species']);
    assert.equal(r.body.per, 'individual');
    assert.ok('suggestion' in r.body && 'threshold' in r.body);

    const species = c.individual.species as string;
    const filtered = await call(`/api/encounters/${e.id}/candidates?species=${species}&per=photo&top=50`);
    assert.equal(filtered.status, 200);
    assert.equal(filtered.body.per, 'photo');
    assert.ok(filtered.body.searched < filtered.body.total, 'the species filter restricts the gallery');
    assert.ok(filtered.body.candidates.every((x: { individual: { species: string } }) => x.individual.species === species));
    assert.match(filtered.body.description, new RegExp(`species ${species}`));

    const near = await call(`/api/encounters/${e.id}/candidates?withinKm=10&lat=10&lon=20`);
    assert.equal(near.status, 200);
    assert.match(near.body.description, /within 10 km/);
    assert.equal(near.body.searched, 0, 'no gallery photo has a position');
  });

  test('GET /api/encounters/:id/candidates: withinKm without a position, lat without lon, bad values, no encounter', async () => {
    const e = await unreviewed();
    const noPosition = await call(`/api/encounters/${e.id}/candidates?withinKm=10`);
    assert.equal(noPosition.status, 400);
    assert.match(noPosition.body.error, /withinKm needs a position .* encounter \d+ has none: give lat and lon/);
    const half = await call(`/api/encounters/${e.id}/candidates?withinKm=10&lat=10`);
    assert.equal(half.status, 400);
    assert.match(half.body.error, /lat and lon go together/);
    for (const q of ['top=0', 'top=101', 'per=both', 'withinKm=0', 'lat=91&lon=0', 'lon=181&lat=0', 'withinKm=abc']) {
      const r = await call(`/api/encounters/${e.id}/candidates?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.error, /^querystring\//, q);
    }
    const missing = await call('/api/encounters/999999/candidates');
    assert.equal(missing.status, 404);
  });

  test('GET /api/individuals and /api/individuals/:id', async () => {
    const r = await call('/api/individuals?limit=5');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, await catalogue.store.individuals({ limit: 5, offset: 0 }));
    assert.equal(r.body.items.length, 5);
    const first = r.body.items[0];
    assert.ok(first.encounters >= 1 && first.photos >= 1);
    const species = await call(`/api/individuals?species=${first.species}&limit=500`);
    assert.ok(species.body.items.every((i: { species: string }) => i.species === first.species));
    const one = await call(`/api/individuals/${first.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, await catalogue.individual(first.id));
    assert.equal(one.body.encounters.length, first.encounters);
    assert.ok(one.body.encounters.every((e: { photos: Photo[] }) => e.photos.length >= 1));
    const missing = await call('/api/individuals/nobody');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'no individual nobody' });
    assert.equal((await call('/api/individuals?limit=abc')).status, 400);
  });

  test('GET /api/photos/:id: the bytes with their type, cached for good; 404', async () => {
    const p = (await catalogue.store.allPhotos())[0]!;
    const r = await call(`/api/photos/${p.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.deepEqual(r.raw, readFileSync(catalogue.photoFile(p)));
    assert.match(String(r.headers['cache-control']), /immutable/);
    const etag = String(r.headers.etag);
    assert.equal(etag, `"${p.sha256}"`);
    const again = await call({ url: `/api/photos/${p.id}`, headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.raw.length, 0);
    const missing = await call('/api/photos/999999');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { error: 'no photo 999999' });
  });

  test('GET /api/photos/:id/thumbnail: a JPEG within size, turned upright by EXIF; 400 out of range', async () => {
    const p = (await catalogue.store.allPhotos())[0]!;
    const r = await call(`/api/photos/${p.id}/thumbnail?size=64`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/jpeg');
    assert.match(String(r.headers['cache-control']), /immutable/);
    const meta = await sharp(r.raw).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(Math.max(meta.width!, meta.height!), Math.min(64, Math.max(p.width, p.height)));
    assert.equal((await call(`/api/photos/${p.id}/thumbnail?size=32`)).status, 400);
    assert.equal((await call(`/api/photos/${p.id}/thumbnail?size=2048`)).status, 400);
    assert.equal((await call('/api/photos/999999/thumbnail')).status, 404);

    // a landscape JPEG whose EXIF says "rotate 90°": stored as is, shown (and measured) upright
    const sideways = await sharp(await photo(901)).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const up = await upload([{ bytes: sideways, name: 'sideways.jpg' }]);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const stored = up.body.results[0].photo as Photo;
    assert.deepEqual([stored.width, stored.height], [64, 96]);
    const thumb = await sharp((await call(`/api/photos/${stored.id}/thumbnail?size=64`)).raw).metadata();
    assert.ok(thumb.height! > thumb.width!, `upright: ${thumb.width} x ${thumb.height}`);
  });
});

describe('deciding', () => {
  test('POST /api/decisions: confirm, new individual, skip, merge, undo; 201 with the decision and the encounter now', async () => {
    const e = await unreviewed();
    const candidates = await call(`/api/encounters/${e.id}/candidates?top=1`);
    const individualId = candidates.body.candidates[0].individual.id as string;
    const r = await post('/api/decisions', { action: 'confirm', encounterId: e.id, version: e.version, individualId });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const decision = r.body.decision as Decision;
    assert.equal(decision.action, 'confirm');
    assert.equal(decision.user, 'local', 'loopback without a token: user local');
    assert.equal(decision.encounterId, e.id);
    assert.deepEqual(r.body.encounter, { ...e, status: 'confirmed', individualId, version: e.version + 1 });
    assert.equal(r.body.individual.id, individualId);
    const log = await call(`/api/decisions?encounterId=${e.id}`);
    assert.deepEqual(log.body, { total: 1, items: [decision] });
    const byIndividual = await call(`/api/decisions?individualId=${individualId}&limit=500`);
    assert.ok(byIndividual.body.items.some((d: Decision) => d.id === decision.id));

    // the very next search sees it: the encounter is now a gallery photo
    const other = await unreviewed();
    const after = await call(`/api/encounters/${other.id}/candidates?per=photo&top=100`);
    assert.equal(after.body.total, candidates.body.total + 1, 'the gallery grew by the confirmed photo');

    const undo = await post('/api/decisions', { action: 'undo', decisionId: decision.id }, { authorization: `Bearer ${token}` });
    assert.equal(undo.status, 201);
    assert.equal(undo.body.decision.user, 'alice', 'a token names the user');
    assert.equal(undo.body.encounter.status, 'unreviewed');
    const twice = await post('/api/decisions', { action: 'undo', decisionId: decision.id });
    assert.equal(twice.status, 409);
    assert.match(twice.body.error, /already undone/);
    assert.ok('current' in twice.body);

    const fresh = (await call(`/api/encounters/${e.id}`)).body.encounter as Encounter;
    const created = await post('/api/decisions', { action: 'new-individual', encounterId: e.id, version: fresh.version, name: '  Notch  ' });
    assert.equal(created.status, 201);
    assert.match(created.body.individual.id, /^FP-\d{6}$/);
    assert.equal(created.body.individual.name, 'Notch');
    assert.equal(created.body.encounter.individualId, created.body.individual.id);
    const merged = await post('/api/decisions', { action: 'merge', individualId: created.body.individual.id, into: individualId });
    assert.equal(merged.status, 201);
    assert.equal(merged.body.encounter, null, 'a merge has no encounter of its own');
    assert.equal((await call(`/api/individuals/${created.body.individual.id}`)).body.individual.mergedInto, individualId);
    const self = await post('/api/decisions', { action: 'merge', individualId, into: individualId });
    assert.equal(self.status, 400);
    assert.match(self.body.error, /cannot merge .* into itself/);

    const s = await unreviewed();
    const skipped = await post('/api/decisions', { action: 'skip', encounterId: s.id, version: s.version });
    assert.equal(skipped.status, 201);
    assert.equal(skipped.body.encounter.status, 'skipped');
    assert.equal((await post('/api/decisions', { action: 'undo', decisionId: skipped.body.decision.id })).status, 201);
  });

  test('POST /api/decisions: 409 with the current state, 404, 400 for a malformed body', async () => {
    const e = await unreviewed();
    const stale = await post('/api/decisions', { action: 'unidentifiable', encounterId: e.id, version: e.version + 5 });
    assert.equal(stale.status, 409);
    assert.match(stale.body.error, /changed since version/);
    assert.deepEqual(stale.body.current, e);
    const noEncounter = await post('/api/decisions', { action: 'skip', encounterId: 999999, version: 1 });
    assert.equal(noEncounter.status, 404);
    const noIndividual = await post('/api/decisions', { action: 'confirm', encounterId: e.id, version: e.version, individualId: 'nobody' });
    assert.equal(noIndividual.status, 404);
    assert.deepEqual(noIndividual.body, { error: 'no individual nobody' });
    const noDecision = await post('/api/decisions', { action: 'undo', decisionId: 999999 });
    assert.equal(noDecision.status, 404);
    const noPhoto = await post('/api/decisions', { action: 'move-photo', photoId: 999999 });
    assert.equal(noPhoto.status, 404);
    const notConfirmed = await post('/api/decisions', { action: 'move-photo', photoId: (await call(`/api/encounters/${e.id}`)).body.photos[0].id });
    assert.equal(notConfirmed.status, 400);

    for (const [body, message] of [
      [{ action: 'approve', encounterId: e.id, version: 1 }, /body\/action must be one of: confirm, new-individual, unidentifiable, skip, merge, move-photo, undo/],
      [{ encounterId: e.id, version: 1 }, /body must have required property 'action'/],
      [{ action: 'confirm', encounterId: e.id, version: 1 }, /body must have required property 'individualId'/],
      [{ action: 'skip', encounterId: 'seven', version: 1 }, /body\/encounterId must be integer/],
      [{ action: 'merge', individualId: 'a' }, /body must have required property 'into'/],
    ] as const) {
      const r = await post('/api/decisions', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, message);
    }
    const notJson = await call({ method: 'POST', url: '/api/decisions', payload: '{"action": ', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.ok(typeof notJson.body.error === 'string' && !/\n\s+at /.test(notJson.body.error), 'no stack trace');
    const tooBig = await post('/api/decisions', { action: 'new-individual', encounterId: e.id, version: e.version, name: 'x'.repeat(100_000) });
    assert.equal(tooBig.status, 413);
    assert.equal((await call(`/api/encounters/${e.id}`)).body.encounter.version, e.version, 'nothing changed');
  });

  test('two reviewers deciding the same encounter at once: one 201, the other 409 with the current state', async () => {
    const e = await unreviewed();
    const decided = (await call(`/api/decisions?encounterId=${e.id}`)).body.total as number;
    const [a, b] = await Promise.all([
      post('/api/decisions', { action: 'skip', encounterId: e.id, version: e.version }),
      post('/api/decisions', { action: 'unidentifiable', encounterId: e.id, version: e.version }, { authorization: `Bearer ${token}` }),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [201, 409]);
    const [won, lost] = a.status === 201 ? [a, b] : [b, a];
    assert.deepEqual(lost.body.current, won.body.encounter, 'the loser sees what the winner decided');
    assert.equal(lost.body.current.version, e.version + 1);
    assert.equal((await call(`/api/decisions?encounterId=${e.id}`)).body.total, decided + 1, 'one decision recorded');
    await post('/api/decisions', { action: 'undo', decisionId: won.body.decision.id });
  });

  test('GET /api/decisions: paged, filtered; 400 for bad filters', async () => {
    const all = await call('/api/decisions?limit=500');
    assert.equal(all.status, 200);
    assert.equal(all.body.total, (await catalogue.store.stats()).decisions);
    const page = await call('/api/decisions?offset=1&limit=2');
    assert.deepEqual(page.body.items, all.body.items.slice(1, 3));
    assert.equal((await call('/api/decisions?encounterId=abc')).status, 400);
  });
});

describe('uploading', () => {
  test('POST /api/photos: a photo becomes an encounter to review, with the metadata; again: duplicate', async () => {
    const bytes = await photo(1);
    const r = await upload([{ bytes, name: '../../etc/passwd/../survey photo.jpg' }], { date: '2024-07-31', latitude: '-33.5', longitude: '151.25', observer: 'Ana', species: 'humpback_whale' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const [result] = r.body.results;
    assert.equal(result.status, 'added');
    assert.equal(result.name, 'survey photo.jpg', 'only the last part of the name, kept as metadata');
    assert.equal(result.photo.originalName, 'survey photo.jpg');
    assert.equal(result.photo.format, 'jpg');
    assert.equal(result.encounter.status, 'unreviewed');
    assert.deepEqual([result.encounter.date, result.encounter.latitude, result.encounter.longitude, result.encounter.observer, result.encounter.species], ['2024-07-31', -33.5, 151.25, 'Ana', 'humpback_whale']);
    const file = catalogue.photoFile(result.photo);
    assert.deepEqual(readFileSync(file), bytes);
    assert.match(file, new RegExp(`photos/${result.photo.sha256.slice(0, 2)}/${result.photo.sha256}\\.jpg$`));
    assert.ok(!existsSync(join(fx.catalogue, 'etc')) && !readdirSync(fx.catalogue).some((n) => n.includes('survey')), 'the name never becomes a path');
    assert.equal((await call(`/api/encounters/${result.encounter.id}/candidates`)).status, 200, 'searchable at once');

    const again = await upload([{ bytes, name: 'copy.jpg' }]);
    assert.equal(again.status, 201);
    assert.equal(again.body.results[0].status, 'duplicate');
    assert.equal(again.body.results[0].photo.id, result.photo.id);
    assert.equal(again.body.results[0].encounter.id, result.encounter.id);
  });

  test('POST /api/photos: the type is decided by decoding, never by the name', async () => {
    const png = await photo(2, 'png');
    const r = await upload([{ bytes: png, name: 'actually-a-png.jpg' }]);
    assert.equal(r.status, 201);
    assert.equal(r.body.results[0].photo.format, 'png');
    assert.equal((await call(`/api/photos/${r.body.results[0].photo.id}`)).headers['content-type'], 'image/png');
    const text = await upload([{ bytes: Buffer.from('<html><script>alert(1)</script></html>'), name: 'photo.jpg' }]);
    assert.equal(text.status, 415);
    assert.match(text.body.error, /photo\.jpg: not a photo finprint can read/);
  });

  test('POST /api/photos: too many bytes (the request-level fileSize limit) or pixels is 413; a decompression bomb is refused from its header', async () => {
    const small = await buildServer(catalogue, { limits: { maxBytes: 4000, maxPixels: 200_000 }, log: (m) => logged.push(m) });
    try {
      const big = await upload([{ bytes: Buffer.alloc(10_000, 1), name: 'big.jpg' }], {}, small);
      assert.equal(big.status, 413);
      assert.deepEqual(big.body, { error: 'big.jpg: larger than the 4000 bytes a photo may have' });
      const bomb = pngBomb(60_000, 60_000); // 3.6 gigapixels in a few hundred bytes
      assert.ok(bomb.length < 200);
      const t0 = Date.now();
      const refused = await upload([{ bytes: bomb, name: 'bomb.png' }], {}, small);
      assert.equal(refused.status, 413);
      assert.match(refused.body.error, /bomb\.png: 60000 x 60000 pixels, more than the 200000 allowed/);
      assert.ok(Date.now() - t0 < 2000, 'refused from the header, not by decoding');
      const mixed = await upload([{ bytes: await photo(3), name: 'fine.jpg' }, { bytes: bomb, name: 'bomb.png' }, { bytes: Buffer.from('no'), name: 'no.png' }], {}, small);
      assert.equal(mixed.status, 201);
      assert.deepEqual(mixed.body.results.map((x: { status: string; kind?: string }) => [x.status, x.kind]), [['added', undefined], ['rejected', 'too-large'], ['rejected', 'not-a-photo']]);
      const tooMany = await buildServer(catalogue, { limits: { maxFiles: 2 } });
      const many = await upload([0, 1, 2].map((i) => ({ bytes: Buffer.from([i]), name: `${i}.jpg` })), {}, tooMany);
      assert.equal(many.status, 413);
      assert.match(many.body.error, /more than 2 photos in one upload/);
      await tooMany.close();
    } finally {
      await small.close();
    }
    // the default limit: a bomb is refused without decoding too
    const refused = await upload([{ bytes: pngBomb(100_000, 100_000), name: 'bomb.png' }]);
    assert.equal(refused.status, 413);
  });

  test('POST /api/photos: malformed uploads are 400 or 415', async () => {
    const bytes = await photo(4);
    for (const [fields, message] of [
      [{ date: 'last tuesday' }, /field date "last tuesday" is not an ISO date/],
      [{ latitude: '95', longitude: '0' }, /field latitude "95" is not a number from -90 to 90/],
      [{ latitude: '10' }, /latitude and longitude go together/],
      [{ colour: 'grey' }, /unknown upload field "colour"/],
    ] as const) {
      const r = await upload([{ bytes, name: 'a.jpg' }], fields);
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.match(r.body.error, message);
    }
    const noFile = await call({ method: 'POST', url: '/api/photos', payload: form([], { date: '2024-01-01' }) as unknown as InjectOptions['payload'] });
    assert.equal(noFile.status, 400);
    assert.match(noFile.body.error, /no photo in the upload/);
    const wrongPart = new FormData();
    wrongPart.append('image', new Blob([new Uint8Array(bytes)]), "a.jpg");
    const wrong = await call({ method: 'POST', url: '/api/photos', payload: wrongPart as unknown as InjectOptions['payload'] });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.error, /photos go in parts named "file"/);
    const json = await post('/api/photos', { file: 'abc' });
    assert.equal(json.status, 415);
    assert.match(json.body.error, /multipart\/form-data/);
    assert.equal(await catalogue.store.photoBySha256(createHash('sha256').update(bytes).digest('hex')), null, 'nothing taken in');
  });

  test('8 concurrent uploads of different photos all land, each with its own encounter and embedding', async () => {
    const before = await catalogue.store.stats();
    const photos = await Promise.all(Array.from({ length: 8 }, (_, i) => photo(100 + i)));
    const answers = await Promise.all(photos.map((bytes, i) => upload([{ bytes, name: `concurrent-${i}.jpg` }], { observer: `boat ${i}` })));
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    const results = answers.map((a) => a.body.results[0]);
    assert.ok(results.every((r) => r.status === 'added'));
    assert.equal(new Set(results.map((r) => r.encounter.id)).size, 8);
    for (const [i, r] of results.entries()) {
      assert.equal(r.photo.originalName, `concurrent-${i}.jpg`);
      assert.equal(r.encounter.observer, `boat ${i}`, 'no mixed rows');
      assert.deepEqual(readFileSync(catalogue.photoFile(r.photo)), photos[i]);
      const stored = await call(`/api/encounters/${r.encounter.id}`);
      assert.deepEqual(stored.body.photos, [r.photo]);
    }
    const now = await catalogue.store.stats();
    assert.equal(now.photos, before.photos + 8);
    assert.equal(now.encounters.unreviewed, before.encounters.unreviewed + 8);
    const embedded = await catalogue.store.embeddings(catalogue.setup.model, results.map((r) => r.photo.id));
    assert.equal(embedded.size, 8);
    assert.deepEqual((await checkCatalogue(catalogue)).filter((p) => p.kind !== 'orphan-file'), []);
  });

  test('the same photo uploaded twice at once: one added, the other a duplicate (uploads queue one behind the other)', async () => {
    const bytes = await photo(300);
    const answers = await Promise.all([upload([{ bytes, name: 'first.jpg' }]), upload([{ bytes, name: 'second.jpg' }])]);
    assert.deepEqual(answers.map((a) => a.status), [201, 201], JSON.stringify(answers.map((a) => a.body)));
    assert.deepEqual(answers.map((a) => a.body.results[0].status), ['added', 'duplicate']);
    assert.equal(answers[1]!.body.results[0].photo.id, answers[0]!.body.results[0].photo.id);
  });

  test('the embedder is made once; when it cannot be made the upload is 503, when it fails 500 without a stack trace', async () => {
    let made = 0;
    const failing = await buildServer(catalogue, {
      embedder: async () => {
        made++;
        throw new Error('the run folder /somewhere/run is gone');
      },
    });
    const r = await upload([{ bytes: await photo(5), name: 'a.jpg' }], {}, failing);
    assert.equal(r.status, 503);
    assert.match(r.body.error, /cannot embed uploaded photos: the run folder \/somewhere\/run is gone/);
    await upload([{ bytes: await photo(5), name: 'a.jpg' }], {}, failing);
    assert.equal(made, 2, 'tried again on the next upload');
    await failing.close();

    const messages: string[] = [];
    const broken = await buildServer(catalogue, {
      log: (m) => messages.push(m),
      embedder: async () => ({ version: catalogue.setup.model, dim: 4, embed: async () => { throw new Error('secret internals at /x/y'); } }),
    });
    const b = await upload([{ bytes: await photo(6), name: 'a.jpg' }], {}, broken);
    assert.equal(b.status, 500);
    assert.deepEqual(Object.keys(b.body), ['error']);
    assert.doesNotMatch(b.body.error, /secret|\bat\b.*\.js/);
    assert.match(messages.join('\n'), /POST \/api\/photos failed: Error: secret internals[^]*\n\s+at /, 'the stack goes to the log');
    await broken.close();
  });
});

describe('the document, the page, the rules', () => {
  test('GET /api/openapi.json: OpenAPI 3.0 covering every route, its parameters, bodies and responses', async () => {
    const r = await call('/api/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.body;
    assert.equal(doc.openapi, '3.0.3');
    const routes = [
      ['get', '/api/stats'],
      ['get', '/api/queue'],
      ['get', '/api/encounters/{id}'],
      ['get', '/api/encounters/{id}/candidates'],
      ['post', '/api/decisions'],
      ['get', '/api/decisions'],
      ['get', '/api/individuals'],
      ['get', '/api/individuals/{id}'],
      ['get', '/api/photos/{id}'],
      ['get', '/api/photos/{id}/thumbnail'],
      ['post', '/api/photos'],
      ['get', '/api/openapi.json'],
    ];
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => [m, path]));
    assert.deepEqual(documented.map((x) => x.join(' ')).sort(), routes.map((x) => x.join(' ')).sort());
    const op = (method: string, path: string): any => doc.paths[path][method];
    const params = (method: string, path: string): string[] => (op(method, path).parameters ?? []).map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    assert.deepEqual(params('get', '/api/encounters/{id}/candidates').sort(), ['path:id', 'query:from', 'query:lat', 'query:lon', 'query:per', 'query:species', 'query:to', 'query:top', 'query:withinKm'].sort());
    assert.deepEqual(params('get', '/api/queue').sort(), ['query:from', 'query:limit', 'query:offset', 'query:sort', 'query:species', 'query:status', 'query:to'].sort());
    assert.deepEqual(op('get', '/api/queue').parameters.find((p: { name: string }) => p.name === 'sort').schema.enum, ['probability', 'date', 'species', 'id']);
    assert.deepEqual(op('get', '/api/encounters/{id}/candidates').parameters.find((p: { name: string }) => p.name === 'withinKm').schema, { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 40075 });
    assert.deepEqual(op('post', '/api/decisions').requestBody.content['application/json'].schema, { $ref: '#/components/schemas/DecisionRequest' });
    assert.equal(doc.components.schemas.DecisionRequest.oneOf.length, 6);
    assert.deepEqual(Object.keys(op('post', '/api/decisions').responses).sort(), ['201', '400', '401', '403', '404', '409']);
    assert.deepEqual(op('post', '/api/decisions').responses['409'].content['application/json'].schema, { $ref: '#/components/schemas/Conflict' });
    const uploadBody = op('post', '/api/photos').requestBody.content['multipart/form-data'].schema;
    assert.deepEqual(uploadBody.properties.file, { type: 'array', items: { type: 'string', format: 'binary' }, description: 'the photos (JPEG, PNG, WebP, TIFF or HEIF)' });
    assert.ok(['413', '415'].every((s) => s in op('post', '/api/photos').responses));
    assert.ok('image/jpeg' in op('get', '/api/photos/{id}/thumbnail').responses['200'].content);
    assert.deepEqual(op('get', '/api/openapi.json').security, [], 'readable without a token');
    for (const [method, path] of routes) {
      const responses = Object.keys(op(method, path).responses);
      assert.ok(responses.some((s) => s.startsWith('2')), `${method} ${path} documents its success`);
    }
    // every reference resolves, and no fastify-only syntax is left
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/"\$ref":"([^"]+)"/g)) {
      assert.match(m[1]!, /^#\/components\/schemas\//);
      assert.ok(m[1]!.split('/').pop()! in doc.components.schemas, `${m[1]} resolves`);
    }
    assert.doesNotMatch(text, /"\$id"|"type":\["|"type":"null"/);
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        if ('$ref' in node) assert.deepEqual(Object.keys(node), ['$ref'], 'nothing beside a $ref (OpenAPI 3.0 ignores it)');
        Object.values(node).forEach(walk);
      }
    };
    walk(doc);
    assert.ok(doc.components.securitySchemes.reviewerToken);
  });

  test('the page: files from the page folder with no-cache; 503 JSON when it is not built; no way out of the folder', async () => {
    const notBuilt = await call('/');
    assert.equal(notBuilt.status, 503);
    assert.match(notBuilt.body.error, /review page is not built .* run npm run build/);

    const web = await tempDir('finprint-web-');
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>finprint</title>');
    writeFileSync(join(web, 'app.js'), 'console.log(1);');
    mkdirSync(join(web, 'lib'));
    writeFileSync(join(web, 'lib', 'x.css'), 'body{}');
    writeFileSync(join(web, '.secret'), 'no');
    writeFileSync(join(fx.work, 'outside.txt'), 'no');
    const page = await buildServer(catalogue, { webDir: web });
    try {
      const index = await call('/', page);
      assert.equal(index.status, 200);
      assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(index.headers['cache-control'], 'no-cache');
      assert.equal(index.body, '<!doctype html><title>finprint</title>');
      const again = await call({ url: '/', headers: { 'if-none-match': String(index.headers.etag) } }, page);
      assert.equal(again.status, 304);
      const js = await call('/app.js', page);
      assert.equal(js.status, 200);
      assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(js.headers['cache-control'], 'no-cache');
      assert.equal((await call('/lib/x.css', page)).headers['content-type'], 'text/css; charset=utf-8');
      for (const url of ['/.secret', '/%2e%2e/outside.txt', '/lib/%2e%2e/%2e%2e/outside.txt', '/..%2foutside.txt', '/lib', '/nothing.js', '/api/nothing']) {
        const r = await call(url, page);
        assert.equal(r.status, 404, url);
        assert.equal(typeof r.body.error, 'string', url);
      }
      assert.equal((await call('/api/stats', page)).status, 200, 'the API is not shadowed by the page');
    } finally {
      await page.close();
    }
  });

  test('loopback: a token sent must be valid; a foreign Host or a cross-site write is refused', async () => {
    const bad = await call({ url: '/api/stats', headers: { authorization: 'Bearer not-a-token' } });
    assert.equal(bad.status, 401);
    assert.match(bad.body.error, /not known/);
    assert.match(String(bad.headers['www-authenticate']), /^Bearer/);
    assert.equal((await call({ url: '/api/stats', headers: { authorization: 'Basic abc' } })).status, 401);
    const rebound = await call({ url: '/api/stats', headers: { host: 'evil.example:8080' } });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body.error, /listens on this machine only/);
    assert.equal((await call({ url: '/api/stats', headers: { host: '127.0.0.1:8080' } })).status, 200);
    assert.equal((await call({ url: '/api/stats', headers: { host: '[::1]:8080' } })).status, 200);
    const e = await unreviewed();
    const crossSite = await post('/api/decisions', { action: 'skip', encounterId: e.id, version: e.version }, { origin: 'http://evil.example' });
    assert.equal(crossSite.status, 403);
    const fetchMeta = await upload([{ bytes: await photo(7), name: 'a.jpg' }], {}, undefined, { 'sec-fetch-site': 'cross-site' });
    assert.equal(fetchMeta.status, 403);
    const sameOrigin = await post('/api/decisions', { action: 'skip', encounterId: e.id, version: e.version }, { origin: 'http://localhost:80', host: 'localhost:80', 'sec-fetch-site': 'same-origin' });
    assert.equal(sameOrigin.status, 201);
    await post('/api/decisions', { action: 'undo', decisionId: sameOrigin.body.decision.id });
  });

  test('unknown routes and methods: 404 JSON', async () => {
    const r = await call('/api/nothing');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: 'no such API route: GET /api/nothing' });
    const m = await call({ method: 'DELETE', url: '/api/stats' });
    assert.equal(m.status, 404);
    assert.equal(typeof m.body.error, 'string');
    assert.deepEqual(logged, [], 'no server failures along the way');
  });
});
