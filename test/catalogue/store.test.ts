import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../src/catalogue/errors.js';
import { SCHEMA_VERSION } from '../../src/catalogue/schema.js';
import { SqliteStore } from '../../src/catalogue/sqlite_store.js';
import type { NewEncounter } from '../../src/catalogue/types.js';
import { tempDir } from '../data/helpers.js';

const MODEL = 'model-a';
let n = 0;

/** An encounter with one photo (a made-up hash and embedding). */
function encounter(fields: Partial<NewEncounter> = {}): NewEncounter {
  n++;
  const embedding = new Float32Array([Math.cos(n), Math.sin(n)]);
  return {
    status: 'unreviewed',
    individualId: null,
    date: null,
    latitude: null,
    longitude: null,
    observer: null,
    species: 'humpback_whale',
    notes: null,
    photos: [{ sha256: n.toString(16).padStart(64, '0'), originalName: `p${n}.jpg`, format: 'jpg', width: 64, height: 48, exifDate: null, exifLatitude: null, exifLongitude: null, box: null, boxSource: 'whole', embedding }],
    ...fields,
  };
}

async function store(): Promise<SqliteStore> {
  return new SqliteStore(join(await tempDir('finprint-store-'), 'catalogue.db'));
}

test('an encounter lands with its photo and embedding; known individuals are created; the gallery is the confirmed photos', async () => {
  const s = await store();
  const known = await s.addEncounter(encounter({ status: 'confirmed', individualId: 'A' }), MODEL);
  const fresh = await s.addEncounter(encounter(), MODEL);
  assert.equal(known.photos.length, 1);
  assert.equal((await s.individual('A'))?.species, 'humpback_whale');
  assert.deepEqual((await s.gallery(MODEL)).map((r) => [r.photoId, r.individualId]), [[known.photos[0]!.id, 'A']]);
  assert.equal((await s.embeddings(MODEL)).size, 2);
  assert.equal((await s.embeddings('other-model')).size, 0);
  assert.equal((await s.unembedded('other-model')).length, 2);
  assert.equal((await s.queue({})).items[0]!.id, fresh.encounter.id);
  assert.deepEqual(await s.orphanRows(), []);
  await s.close();
});

test('confirm, new individual, skip and unidentifiable each write one audit row and raise the version', async () => {
  const s = await store();
  await s.addEncounter(encounter({ status: 'confirmed', individualId: 'A' }), MODEL);
  const e1 = (await s.addEncounter(encounter(), MODEL)).encounter;
  const d1 = await s.decide({ action: 'confirm', encounterId: e1.id, version: e1.version, individualId: 'A' }, 'ana');
  assert.equal(d1.user, 'ana');
  const after = (await s.encounter(e1.id))!;
  assert.deepEqual([after.status, after.individualId, after.version], ['confirmed', 'A', e1.version + 1]);
  assert.equal((await s.gallery(MODEL)).length, 2, 'the confirmed photo joins the gallery at once');

  const e2 = (await s.addEncounter(encounter(), MODEL)).encounter;
  const d2 = await s.decide({ action: 'new-individual', encounterId: e2.id, version: e2.version, name: ' Nimbus ' }, 'ana');
  const created = (await s.encounter(e2.id))!.individualId!;
  assert.match(created, /^FP-\d{6}$/);
  assert.equal((await s.individual(created))?.name, 'Nimbus');
  assert.equal(d2.individualId, created);

  const e3 = (await s.addEncounter(encounter(), MODEL)).encounter;
  await s.decide({ action: 'skip', encounterId: e3.id, version: e3.version }, 'bo');
  assert.equal((await s.encounter(e3.id))!.status, 'skipped');
  const e3b = (await s.encounter(e3.id))!;
  await s.decide({ action: 'unidentifiable', encounterId: e3.id, version: e3b.version }, 'bo');
  assert.equal((await s.encounter(e3.id))!.status, 'unidentifiable');
  assert.equal((await s.decisions({})).total, 4);
  assert.equal((await s.decisions({ encounterId: e3.id })).total, 2);
  await s.close();
});

test('a decision on a version already decided is a conflict carrying the current state; nothing is written', async () => {
  const s = await store();
  await s.addEncounter(encounter({ status: 'confirmed', individualId: 'A' }), MODEL);
  await s.addEncounter(encounter({ status: 'confirmed', individualId: 'B' }), MODEL);
  const e = (await s.addEncounter(encounter(), MODEL)).encounter;
  await s.decide({ action: 'confirm', encounterId: e.id, version: e.version, individualId: 'A' }, 'ana');
  await assert.rejects(s.decide({ action: 'confirm', encounterId: e.id, version: e.version, individualId: 'B' }, 'bo'), (err: ConflictError) => {
    assert.ok(err instanceof ConflictError);
    assert.deepEqual([(err.current as { individualId: string }).individualId, (err.current as { version: number }).version], ['A', e.version + 1]);
    return true;
  });
  assert.equal((await s.decisions({})).total, 1);
  await assert.rejects(s.decide({ action: 'confirm', encounterId: 999, version: 1, individualId: 'A' }, 'x'), NotFoundError);
  await assert.rejects(s.decide({ action: 'confirm', encounterId: e.id, version: e.version + 1, individualId: 'nobody' }, 'x'), NotFoundError);
  await s.close();
});

test('merge joins galleries and marks the merged individual; undo splits them again', async () => {
  const s = await store();
  await s.addEncounter(encounter({ status: 'confirmed', individualId: 'A' }), MODEL);
  await s.addEncounter(encounter({ status: 'confirmed', individualId: 'B' }), MODEL);
  await s.addEncounter(encounter({ status: 'confirmed', individualId: 'B' }), MODEL);
  await assert.rejects(s.decide({ action: 'merge', individualId: 'A', into: 'A' }, 'ana'), InvalidRequestError);
  const merge = await s.decide({ action: 'merge', individualId: 'B', into: 'A' }, 'ana');
  assert.deepEqual(new Set((await s.gallery(MODEL)).map((r) => r.individualId)), new Set(['A']));
  assert.equal((await s.individual('B'))?.mergedInto, 'A');
  assert.equal((await s.individuals({})).total, 1);
  const e = (await s.addEncounter(encounter(), MODEL)).encounter;
  await assert.rejects(s.decide({ action: 'confirm', encounterId: e.id, version: e.version, individualId: 'B' }, 'ana'), /merged into A; use that one/);
  const undo = await s.decide({ action: 'undo', decisionId: merge.id }, 'ana');
  assert.equal((await s.decisions({})).items.find((d) => d.id === merge.id)?.undoneBy, undo.id);
  assert.deepEqual((await s.gallery(MODEL)).map((r) => r.individualId).sort(), ['A', 'B', 'B']);
  assert.equal((await s.individual('B'))?.mergedInto, null);
  await assert.rejects(s.decide({ action: 'undo', decisionId: merge.id }, 'ana'), ConflictError, 'undone twice');
  await assert.rejects(s.decide({ action: 'undo', decisionId: undo.id }, 'ana'), InvalidRequestError);
  await s.close();
});

test('undo of a new individual removes it; undo is refused when a later decision changed the encounter', async () => {
  const s = await store();
  const e = (await s.addEncounter(encounter(), MODEL)).encounter;
  const d = await s.decide({ action: 'new-individual', encounterId: e.id, version: e.version }, 'ana');
  const created = (await s.encounter(e.id))!.individualId!;
  await s.decide({ action: 'undo', decisionId: d.id }, 'ana');
  assert.equal(await s.individual(created), null);
  const back = (await s.encounter(e.id))!;
  assert.deepEqual([back.status, back.individualId], ['unreviewed', null]);

  const skip = await s.decide({ action: 'skip', encounterId: e.id, version: back.version }, 'ana');
  const skipped = (await s.encounter(e.id))!;
  await s.decide({ action: 'unidentifiable', encounterId: e.id, version: skipped.version }, 'bo');
  await assert.rejects(s.decide({ action: 'undo', decisionId: skip.id }, 'ana'), /changed since \(a later decision\); undo that one first/);
  await s.close();
});

test('a photo moved out of an individual becomes an encounter to review; undo puts it back', async () => {
  const s = await store();
  const { encounter: e, photos } = await s.addEncounter(encounter({ status: 'confirmed', individualId: 'A' }), MODEL);
  const move = await s.decide({ action: 'move-photo', photoId: photos[0]!.id }, 'ana');
  const moved = (await s.photo(photos[0]!.id))!;
  assert.notEqual(moved.encounterId, e.id);
  assert.equal((await s.encounter(moved.encounterId))!.status, 'unreviewed');
  assert.equal((await s.gallery(MODEL)).length, 0, 'out of the gallery');
  await s.decide({ action: 'undo', decisionId: move.id }, 'ana');
  assert.equal((await s.photo(photos[0]!.id))!.encounterId, e.id);
  assert.equal(await s.encounter(moved.encounterId), null, 'the encounter made for it is gone');
  assert.equal((await s.gallery(MODEL)).length, 1);
  assert.deepEqual(await s.orphanRows(), []);
  await s.close();
});

test('a database from a newer finprint is refused; reviewers are stored by token hash', async () => {
  const dir = await tempDir('finprint-store-');
  const file = join(dir, 'catalogue.db');
  const s = new SqliteStore(file);
  await s.addUser('ana', 'hash-1');
  await assert.rejects(s.addUser('ana', 'hash-2'), /a reviewer named ana already exists/);
  assert.equal(await s.userByTokenHash('hash-1'), 'ana');
  assert.equal(await s.userByTokenHash('hash-2'), null);
  await s.close();
  const raw = new Database(file);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  assert.throws(() => new SqliteStore(file), new RegExp(`written by a newer finprint \\(catalogue schema ${SCHEMA_VERSION + 1}`));
});
