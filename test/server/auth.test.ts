// Reviewer tokens. Served beyond this machine, every API call needs one (reads too: they show the
// photos and where animals were seen) except the OpenAPI document, and the page's own files stay
// open; writes are recorded with the token's reviewer. `finprint serve` on such an address refuses
// to start while the catalogue has no reviewers. No model is needed here: the catalogue is made
// with a stand-in model version and hand-made embeddings.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { Catalogue } from '../../src/catalogue/catalogue.js';
import { inspectPhoto, storePhoto } from '../../src/catalogue/photos.js';
import { newToken } from '../../src/catalogue/tokens.js';
import { isLoopback } from '../../src/server/auth.js';
import { buildServer } from '../../src/server/app.js';
import { bandsImage, tempDir } from '../data/helpers.js';
import { exited, finprint, finprintChild, waitForLine } from './helpers.js';

const MODEL = 'stand-in-model';
let work = '';
let dir = '';
let catalogue: Catalogue;
let exposed: FastifyInstance;
let token = '';
let encounterId = 0;
let photoId = 0;
const env = (): NodeJS.ProcessEnv => ({ ...process.env, FINPRINT_CACHE: join(work, 'cache') });

async function addEncounter(seed: number, individualId: string | null): Promise<{ encounter: number; photo: number }> {
  const bytes = await bandsImage(8, 32, [[seed, 0, 0], [0, seed, 0], [0, 0, seed]], 'jpeg');
  const photo = await inspectPhoto(bytes, `photo-${seed}.jpg`);
  await storePhoto(dir, photo, bytes);
  const { encounter, photos } = await catalogue.store.addEncounter(
    {
      status: individualId ? 'confirmed' : 'unreviewed',
      individualId,
      date: null,
      latitude: null,
      longitude: null,
      observer: null,
      species: 'beluga',
      notes: null,
      photos: [{ ...photo, box: null, boxSource: 'whole', embedding: new Float32Array([seed / 255, 1, 0, 0]) }],
    },
    MODEL,
  );
  return { encounter: encounter.id, photo: photos[0]!.id };
}

before(async () => {
  work = await tempDir('finprint-server-auth-');
  dir = join(work, 'catalogue');
  catalogue = await Catalogue.create(dir, { model: MODEL, run: join(work, 'no-run'), detector: null, calibration: null, threshold: null });
  await addEncounter(200, 'whale-1');
  const added = await addEncounter(100, null);
  encounterId = added.encounter;
  photoId = added.photo;
  const t = newToken();
  await catalogue.store.addUser('bob', t.hash);
  token = t.token;
  const web = join(work, 'web');
  mkdirSync(web);
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>review</title>');
  writeFileSync(join(web, 'app.js'), '');
  exposed = await buildServer(catalogue, { requireTokens: true, webDir: web });
});

after(async () => {
  await exposed?.close();
  await catalogue?.close();
});

const call = async (options: InjectOptions): Promise<{ status: number; body: any; headers: Record<string, unknown> }> => {
  const r = await exposed.inject(options);
  return { status: r.statusCode, body: String(r.headers['content-type']).startsWith('application/json') ? r.json() : r.body, headers: r.headers };
};
const bearer = (t = token): Record<string, string> => ({ authorization: `Bearer ${t}` });

test('which addresses are loopback', () => {
  for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', 'example.org', '128.0.0.1', '::2']) assert.equal(isLoopback(h), false, h);
});

test('exposed: every API read needs a token (401 with WWW-Authenticate), with one it answers', async () => {
  const reads = ['/api/stats', '/api/queue', `/api/encounters/${encounterId}`, `/api/encounters/${encounterId}/candidates`, '/api/decisions', '/api/individuals', '/api/individuals/whale-1', `/api/photos/${photoId}`, `/api/photos/${photoId}/thumbnail`];
  for (const url of reads) {
    const r = await call({ url });
    assert.equal(r.status, 401, url);
    assert.match(r.body.error, /needs a reviewer token: send Authorization: Bearer <token> \(finprint catalogue user add prints one\)/, url);
    assert.match(String(r.headers['www-authenticate']), /^Bearer /);
    const wrong = await call({ url, headers: bearer('guessed') });
    assert.equal(wrong.status, 401, url);
    const ok = await call({ url, headers: { ...bearer(), host: '192.168.1.20:8080' } });
    assert.equal(ok.status, 200, `${url}: ${JSON.stringify(ok.body).slice(0, 200)}`);
  }
  const stats = await call({ url: '/api/stats', headers: bearer() });
  assert.equal(stats.body.writesNeedToken, true);
  assert.equal(stats.body.user, 'bob');
});

test('exposed: writes need a token (401 without, 201 with, recorded as its reviewer)', async () => {
  const e = (await call({ url: `/api/encounters/${encounterId}`, headers: bearer() })).body.encounter;
  const body = { action: 'confirm', encounterId, version: e.version, individualId: 'whale-1' };
  const without = await call({ method: 'POST', url: '/api/decisions', payload: body });
  assert.equal(without.status, 401);
  const wrong = await call({ method: 'POST', url: '/api/decisions', payload: body, headers: bearer('nope') });
  assert.equal(wrong.status, 401);
  assert.equal((await catalogue.store.stats()).decisions, 0, 'nothing decided');
  const upload = new FormData();
  upload.append('file', new Blob([new Uint8Array(await bandsImage(8, 32, [[1, 2, 3]], 'jpeg'))]), 'x.jpg');
  const noTokenUpload = await call({ method: 'POST', url: '/api/photos', payload: upload as unknown as InjectOptions['payload'] });
  assert.equal(noTokenUpload.status, 401);
  const ok = await call({ method: 'POST', url: '/api/decisions', payload: body, headers: bearer() });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.decision.user, 'bob');
  assert.equal(ok.body.encounter.individualId, 'whale-1');
  const undo = await call({ method: 'POST', url: '/api/decisions', payload: { action: 'undo', decisionId: ok.body.decision.id }, headers: bearer() });
  assert.equal(undo.status, 201);
});

test('exposed: the OpenAPI document and the page stay open', async () => {
  const doc = await call({ url: '/api/openapi.json' });
  assert.equal(doc.status, 200);
  assert.deepEqual(doc.body.security, [{ reviewerToken: [] }]);
  assert.match(doc.body.info.description, /every API call except this document needs a reviewer token/);
  const page = await call({ url: '/' });
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>review<\/title>/);
  assert.equal((await call({ url: '/app.js' })).status, 200);
});

test('finprint serve --host 0.0.0.0 refuses without reviewers; with one it listens and needs tokens; on loopback it does not', async () => {
  const empty = join(work, 'empty');
  const other = await Catalogue.create(empty, { model: MODEL, run: join(work, 'no-run'), detector: null, calibration: null, threshold: null });
  await other.close();
  const refused = finprint({ env: env() }, ['serve', '--catalogue', empty, '--host', '0.0.0.0', '--port', '0']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--host 0\.0\.0\.0 makes the catalogue reachable from other machines.*has no reviewers yet: add one with finprint catalogue user add .*empty NAME/);

  const add = finprint({ env: env() }, ['catalogue', 'user', 'add', empty, 'carol']);
  assert.equal(add.status, 0, add.stderr);
  const carol = add.stdout.trim();
  assert.match(carol, /^[\w-]{20,}$/);

  const child = finprintChild({ env: env() }, ['serve', '--catalogue', empty, '--host', '0.0.0.0', '--port', '0']);
  try {
    const [, port] = await waitForLine(child, /finprint review server: http:\/\/0\.0\.0\.0:(\d+)\/ \(catalogue .*\)\nlistening beyond this machine: every API call needs a reviewer token/);
    const url = `http://127.0.0.1:${port}/api/stats`;
    assert.equal((await fetch(url)).status, 401);
    const stats = (await (await fetch(url, { headers: { authorization: `Bearer ${carol}` } })).json()) as { user: string; writesNeedToken: boolean };
    assert.deepEqual([stats.user, stats.writesNeedToken], ['carol', true]);
  } finally {
    child.kill('SIGTERM');
    await exited(child);
  }

  const local = finprintChild({ env: env() }, ['serve', '--catalogue', empty, '--port', '0']);
  try {
    const [, port] = await waitForLine(local, /finprint review server: http:\/\/127\.0\.0\.1:(\d+)\/ .*\nlistening on this machine only: no token needed/);
    const stats = (await (await fetch(`http://127.0.0.1:${port}/api/stats`)).json()) as { user: string | null; writesNeedToken: boolean };
    assert.deepEqual([stats.user, stats.writesNeedToken], [null, false]);
  } finally {
    local.kill('SIGTERM');
    await exited(local);
  }
});
