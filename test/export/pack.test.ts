// Field packs as a user makes and uses them: finprint pack from a catalogue (and from a run), its
// files and their sizes, the embeddings and index against the catalogue, restrictions; the field
// server's files and cross-origin isolation headers; catalogue sync of the offline page's field
// decisions (proposals stored, duplicates and merged individuals reported, idempotent, bad files).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { Catalogue } from '../../src/catalogue/catalogue.js';
import { PACK_THUMB_SIZE, readPackEmbeddings, type PackIndex, type PackManifest } from '../../src/catalogue/pack.js';
import { OrtModel } from '../../src/export/ort.js';
import { runEmbedder } from '../../src/runs/catalogue_model.js';
import { buildServer } from '../../src/server/app.js';
import { buildPackServer } from '../../src/server/pack.js';
import { finprint, trainedCatalogue, type Fixture } from '../server/helpers.js';

let f: Fixture;
let pack = '';

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

before(async () => {
  f = await trainedCatalogue('finprint-pack-');
  pack = join(f.work, 'pack');
});

test('pack --catalogue: files, sizes, embeddings and index as in the catalogue', async () => {
  const r = finprint(f, ['pack', '--catalogue', f.catalogue, '--out', pack, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const m = readJson<PackManifest>(join(pack, 'manifest.json'));
  assert.match(r.stdout, new RegExp(`${m.counts.individuals} individuals, ${m.counts.photos} photos`));
  assert.match(r.stdout, new RegExp(`size .* \\(${m.bytes.total} bytes\\): model .*, embeddings .*, index .*, thumbnails .*, manifest`));
  assert.equal(m.format, 1);
  assert.equal(m.kind, 'finprint-field-pack');
  assert.equal(m.detector, null);
  assert.ok(!existsSync(join(pack, 'detector.onnx')));
  assert.deepEqual(m.outputs, ['embedding', 'species_logits', 'class_cosines']);
  assert.equal(m.input.size, 48);
  assert.equal(m.input.normalization.inGraph, true);
  assert.ok(m.input.description?.includes('pixels'));

  // sizes: each file's, the thumbnails together, the total
  const thumbs = readdirSync(join(pack, 'thumbs'));
  const thumbBytes = thumbs.reduce((s, t) => s + statSync(join(pack, 'thumbs', t)).size, 0);
  for (const [name, bytes] of Object.entries(m.files)) assert.equal(name === 'thumbs/' ? thumbBytes : statSync(join(pack, name)).size, bytes, name);
  assert.equal(m.bytes.total, Object.values(m.files).reduce((a, b) => a + b, 0));
  assert.equal(statSync(join(pack, 'manifest.json')).size, m.bytes.manifest);

  // the catalogue's model, calibration and embeddings
  const c = await Catalogue.open(f.catalogue);
  try {
    assert.equal(m.model, c.setup.model);
    assert.equal(m.threshold, c.setup.threshold);
    assert.deepEqual(m.calibration, c.setup.calibration ? { scores: c.setup.calibration.scores, probabilities: c.setup.calibration.probabilities } : null);
    const index = readJson<PackIndex>(join(pack, 'index.json'));
    const emb = readPackEmbeddings(pack, m.embeddingDim);
    assert.equal(emb.length, m.counts.photos * m.embeddingDim);
    assert.equal(index.rows.length, m.counts.photos);
    assert.equal(index.individuals.length, m.counts.individuals);
    const stats = await c.store.stats();
    assert.equal(m.counts.individuals, stats.individuals);
    assert.equal(m.counts.photos, stats.photos);
    const withPhotos = await c.store.individualsWithPhotos(index.individuals.map((i) => i.id));
    const vectors = await c.store.embeddings(c.setup.model);
    const seen = new Set<number>();
    for (const [k, ind] of index.individuals.entries()) {
      const photos = withPhotos.get(ind.id)!.photos;
      assert.equal(ind.rows.length, photos.length, ind.id);
      assert.equal(ind.species, withPhotos.get(ind.id)!.individual.species);
      ind.rows.forEach((row, j) => {
        assert.equal(index.rows[row], k);
        assert.ok(!seen.has(row));
        seen.add(row);
        assert.deepEqual(emb.subarray(row * m.embeddingDim, (row + 1) * m.embeddingDim), vectors.get(photos[j]!), `${ind.id} row ${row}`);
      });
      assert.ok(ind.thumbs.length >= 1 && ind.thumbs.length <= 3);
      for (const t of ind.thumbs) assert.ok(ind.rows.includes(t));
    }
    assert.equal(thumbs.length, m.counts.thumbnails);
    assert.deepEqual(thumbs.sort(), index.individuals.flatMap((i) => i.thumbs.map((t) => `${t}.jpg`)).sort());
    const meta = await sharp(join(pack, 'thumbs', thumbs[0]!)).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.ok(Math.max(meta.width!, meta.height!) <= PACK_THUMB_SIZE);
  } finally {
    await c.close();
  }

  // model.onnx runs in ONNX Runtime and gives unit embeddings of the pack's dimension
  const ort = await OrtModel.load(join(pack, 'model.onnx'));
  const out = await ort.run(new Float32Array(2 * 3 * 48 * 48).fill(0.5), [2, 3, 48, 48]);
  const e = out.get('embedding')!;
  assert.deepEqual(e.shape, [2, m.embeddingDim]);
  assert.ok(Math.abs(Math.hypot(...e.data.subarray(0, m.embeddingDim)) - 1) < 1e-3);
});

test('pack: an existing --out is refused, --force replaces a pack; restrictions; unknown species and ids named', () => {
  const again = finprint(f, ['pack', '--catalogue', f.catalogue, '--out', pack]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /--out .*pack already exists; pass --force/);

  const m = readJson<PackManifest>(join(pack, 'manifest.json'));
  const species = m.species[0]!;
  const one = finprint(f, ['pack', '--catalogue', f.catalogue, '--out', pack, '--species', species, '--force', '--quiet']);
  assert.equal(one.status, 0, one.stderr);
  const restricted = readJson<PackIndex>(join(pack, 'index.json'));
  assert.ok(restricted.individuals.length > 0 && restricted.individuals.length < m.counts.individuals);
  assert.ok(restricted.individuals.every((i) => i.species === species));
  assert.deepEqual(readJson<PackManifest>(join(pack, 'manifest.json')).restrictions.species, [species]);

  const unknown = finprint(f, ['pack', '--catalogue', f.catalogue, '--out', join(f.work, 'p2'), '--species', species, 'no_such_whale']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown species no_such_whale/);
  assert.ok(!existsSync(join(f.work, 'p2')));

  const ids = readJson<PackIndex>(join(pack, 'index.json')).individuals.slice(0, 2).map((i) => i.id);
  const csv = join(f.work, 'ids.csv');
  writeFileSync(csv, `individual_id,notes\n${ids.join(',x\n')},x\n`);
  const listed = finprint(f, ['pack', '--catalogue', f.catalogue, '--out', join(f.work, 'p3'), '--individuals-from', csv, '--quiet']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.deepEqual(readJson<PackIndex>(join(f.work, 'p3', 'index.json')).individuals.map((i) => i.id).sort(), [...ids].sort());
  writeFileSync(csv, `individual_id\n${ids[0]}\nghost_1\n`);
  const ghost = finprint(f, ['pack', '--catalogue', f.catalogue, '--out', join(f.work, 'p4'), '--individuals-from', csv]);
  assert.equal(ghost.status, 1);
  assert.match(ghost.stderr, /1 individual id not among the known individuals: ghost_1/);

  const inside = finprint(f, ['pack', '--catalogue', f.catalogue, '--out', join(f.catalogue, 'pack')]);
  assert.match(inside.stderr, /overlaps the catalogue/);

  // back to the whole catalogue for the tests below
  assert.equal(finprint(f, ['pack', '--catalogue', f.catalogue, '--out', pack, '--force', '--quiet']).status, 0);
});

test('pack --run: the run\'s training photos as the known individuals', () => {
  const out = join(f.work, 'run-pack');
  const r = finprint(f, ['pack', '--run', f.run, '--out', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as PackManifest;
  const cat = readJson<PackManifest>(join(pack, 'manifest.json'));
  assert.equal(m.source.kind, 'run');
  assert.equal(m.model, cat.model);
  assert.equal(m.threshold, cat.threshold);
  assert.deepEqual(m.calibration, cat.calibration);
  const index = readJson<PackIndex>(join(out, 'index.json'));
  assert.equal(index.rows.length, m.counts.photos);
  assert.equal(statSync(join(out, 'embeddings.bin')).size, m.counts.photos * m.embeddingDim * 4);
});

test('serve --pack: the pack under /pack/, onnxruntime-web under /ort/, a placeholder page, all cross-origin isolated', async () => {
  const { app, manifest } = await buildPackServer(pack, { webDir: join(f.work, 'no-web-field') });
  try {
    const isolated = (res: { headers: Record<string, unknown> }, what: string): void => {
      assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin', what);
      assert.equal(res.headers['cross-origin-embedder-policy'], 'require-corp', what);
      assert.equal(res.headers['cross-origin-resource-policy'], 'same-origin', what);
    };
    const m = await app.inject('/pack/manifest.json');
    assert.equal(m.statusCode, 200);
    assert.equal((JSON.parse(m.body) as PackManifest).model, manifest.model);
    isolated(m, 'manifest');
    const bin = await app.inject('/pack/embeddings.bin');
    assert.equal(bin.rawPayload.length, manifest.bytes.embeddings);
    isolated(bin, 'embeddings');
    const onnx = await app.inject('/pack/model.onnx');
    assert.equal(onnx.rawPayload.length, manifest.bytes.model);
    const thumb = readdirSync(join(pack, 'thumbs'))[0]!;
    const t = await app.inject(`/pack/thumbs/${thumb}`);
    assert.equal(t.headers['content-type'], 'image/jpeg');
    const wasm = await app.inject('/ort/ort-wasm-simd-threaded.wasm');
    assert.equal(wasm.statusCode, 200);
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    isolated(wasm, 'wasm');
    const mjs = await app.inject('/ort/ort.wasm.min.mjs');
    assert.equal(mjs.statusCode, 200);
    assert.match(String(mjs.headers['content-type']), /javascript/);
    const home = await app.inject('/');
    assert.equal(home.statusCode, 200);
    assert.match(home.body, /offline identification page is not built yet/);
    isolated(home, 'placeholder');
    const rebound = await app.inject({ url: '/pack/manifest.json', headers: { host: 'evil.example:8080' } });
    assert.equal(rebound.statusCode, 403);
    isolated(rebound, 'rebinding');
    for (const path of ['/pack/../catalogue/catalogue.db', '/pack/%2e%2e/x', '/ort/../package.json', '/ort/ort.wasm.min.mjs.map', '/nothing']) {
      const res = await app.inject(path);
      assert.equal(res.statusCode, 404, path);
      isolated(res, path);
    }
  } finally {
    await app.close();
  }
  const notPack = finprint(f, ['serve', '--pack', f.work, '--port', '0']);
  assert.equal(notPack.status, 1);
  assert.match(notPack.stderr, /is not a field pack \(no manifest\.json\)/);
  // a pack of another model version is refused beside the catalogue
  const other = join(f.work, 'other-pack');
  cpSync(pack, other, { recursive: true });
  const m = readJson<PackManifest>(join(other, 'manifest.json'));
  writeFileSync(join(other, 'manifest.json'), JSON.stringify({ ...m, model: 'f'.repeat(64) }));
  const refused = finprint(f, ['serve', '--pack', other, '--catalogue', f.catalogue, '--port', '0']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /was made with model ffffffffffff, but the catalogue .* uses model [0-9a-f]{12}/);
});

interface SyncJson {
  counts: Record<string, number>;
  outcomes: { id: string; name: string; status: string; encounter?: number | null; reason?: string; mergedInto?: string; mergedFrom?: string; proposal?: { kind: string; individualId: string | null } }[];
}

test('catalogue sync: proposals stored and shown, duplicates and merged individuals reported, idempotent, bad files named', async () => {
  const m = readJson<PackManifest>(join(pack, 'manifest.json'));
  const index = readJson<PackIndex>(join(pack, 'index.json'));
  const [a, b, into] = index.individuals;
  // b is merged into another individual after the pack was made
  const c = await Catalogue.open(f.catalogue);
  try {
    await c.decide({ action: 'merge', individualId: b!.id, into: into!.id }, 'ana');
  } finally {
    await c.close();
  }
  const tests = readdirSync(join(f.data, 'test_images')).sort();
  const photo = (name: string, dir = 'test_images') => ({ name, type: 'image/jpeg', data: readFileSync(join(f.data, dir, name)).toString('base64') });
  const trainPhoto = readdirSync(join(f.data, 'train_images')).sort()[0]!;
  const entry = (p: ReturnType<typeof photo>, decision: object, extra: object = {}) => ({ id: randomUUID(), photo: p, date: '2024-07-01T10:00:00Z', latitude: -33.9, longitude: 151.2, notes: 'left flank', decision, at: '2024-07-01T10:05:00Z', observer: 'ana', ...extra });
  const entries = [
    entry(photo(tests[0]!), { kind: 'match', individualId: a!.id }),
    entry(photo(tests[1]!), { kind: 'new' }),
    entry(photo(tests[2]!), { kind: 'unsure' }, { latitude: null, longitude: null, notes: null }),
    entry(photo(trainPhoto, 'train_images'), { kind: 'match', individualId: a!.id }),
    entry(photo(tests[3]!), { kind: 'match', individualId: b!.id }),
    entry({ name: 'broken.jpg', type: 'image/jpeg', data: Buffer.from('not a photo at all').toString('base64') }, { kind: 'new' }),
  ];
  const file = join(f.work, 'sync.json');
  writeFileSync(file, JSON.stringify({ format: 1, pack: { model: m.model, created: m.created }, decisions: entries }));

  const r = finprint(f, ['catalogue', 'sync', f.catalogue, file, '--json']);
  assert.equal(r.status, 1, r.stderr); // one entry could not be imported
  const s = JSON.parse(r.stdout) as SyncJson;
  assert.deepEqual(s.outcomes.map((o) => o.status), ['added', 'added', 'added', 'duplicate', 'merged', 'rejected']);
  assert.deepEqual(s.counts, { added: 3, merged: 1, duplicate: 1, already: 0, rejected: 1 });
  assert.equal(s.outcomes[3]!.proposal!.individualId, a!.id);
  assert.deepEqual([s.outcomes[4]!.mergedFrom, s.outcomes[4]!.mergedInto, s.outcomes[4]!.proposal!.individualId], [b!.id, into!.id, into!.id]);
  assert.match(s.outcomes[5]!.reason!, /broken\.jpg/);

  const text = finprint(f, ['catalogue', 'sync', f.catalogue, file]);
  assert.match(text.stdout, /0 new encounters to review with their field decisions, 0 already in the catalogue, 5 synced before, 1 not imported/);
  assert.match(text.stdout, /broken\.jpg \([0-9a-f-]+\): not imported/);

  const c2 = await Catalogue.open(f.catalogue);
  try {
    const first = await c2.encounter(s.outcomes[0]!.encounter!);
    assert.equal(first.encounter.status, 'unreviewed');
    assert.deepEqual([first.encounter.date, first.encounter.latitude, first.encounter.observer, first.encounter.notes], ['2024-07-01T10:00:00Z', -33.9, 'ana', 'left flank']);
    assert.deepEqual(
      { kind: first.proposal?.kind, individualId: first.proposal?.individualId, by: first.proposal?.by, at: first.proposal?.at, outcome: first.proposal?.outcome },
      { kind: 'match', individualId: a!.id, by: 'ana', at: '2024-07-01T10:05:00Z', outcome: 'attached' },
    );
    assert.equal((await c2.encounter(s.outcomes[1]!.encounter!)).proposal?.kind, 'new');
    const merged = await c2.encounter(s.outcomes[4]!.encounter!);
    assert.deepEqual([merged.proposal?.individualId, merged.proposal?.proposedIndividualId, merged.proposal?.outcome], [into!.id, b!.id, 'merged']);
    const dup = await c2.store.proposalByEntry(entries[3]!.id);
    assert.deepEqual([dup?.encounterId, dup?.outcome], [null, 'duplicate']);
    assert.equal((await c2.store.stats()).encounters.unreviewed, 4);
    // the API's encounter shows the proposal
    const app = await buildServer(c2, { webDir: join(f.work, 'no-web') });
    try {
      const res = await app.inject(`/api/encounters/${s.outcomes[0]!.encounter}`);
      assert.equal(res.statusCode, 200, res.body);
      const body = JSON.parse(res.body) as { proposal: { kind: string; individualId: string } | null };
      assert.deepEqual([body.proposal?.kind, body.proposal?.individualId], ['match', a!.id]);
      const none = await c2.store.queue({ status: 'confirmed', limit: 1 });
      const plain = JSON.parse((await app.inject(`/api/encounters/${none.items[0]!.id}`)).body) as { proposal: unknown };
      assert.equal(plain.proposal, null);
    } finally {
      await app.close();
    }
  } finally {
    await c2.close();
  }

  // a sync stopped after importing an entry's photo but before its proposal: the next one finishes it
  const late = entry(photo(tests[4]!), { kind: 'new' });
  const c3 = await Catalogue.open(f.catalogue);
  let stranded = 0;
  try {
    await c3.store.putProposal({ entryId: late.id, encounterId: null, kind: 'new', individualId: null, proposedIndividualId: null, by: 'ana', at: null, source: 'sync.json', synced: new Date().toISOString(), outcome: 'pending' });
    const [imported] = await c3.intake([{ source: { bytes: readFileSync(join(f.data, 'test_images', tests[4]!)) }, name: tests[4]! }], await runEmbedder(c3.setup));
    assert.equal(imported!.status, 'added');
    stranded = imported!.status === 'added' ? imported!.encounter.id : 0;
  } finally {
    await c3.close();
  }
  writeFileSync(file, JSON.stringify({ format: 1, pack: { model: m.model, created: m.created }, decisions: [...entries, late] }));
  const resumed = JSON.parse(finprint(f, ['catalogue', 'sync', f.catalogue, file, '--json']).stdout) as SyncJson;
  assert.deepEqual(resumed.outcomes.map((o) => o.status), ['already', 'already', 'already', 'already', 'already', 'rejected', 'added']);
  assert.equal(resumed.outcomes[6]!.encounter, stranded);

  // bad files: errors name the entry; another model version is refused
  const bad = (body: unknown, pattern: RegExp): void => {
    writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
    const res = finprint(f, ['catalogue', 'sync', f.catalogue, file]);
    assert.equal(res.status, 1, res.stdout);
    assert.match(res.stderr, pattern);
  };
  const ok = entries[1]!;
  bad('{"format": 1,', /sync\.json is not valid JSON/);
  bad({ format: 2, pack: { model: m.model, created: m.created }, decisions: [] }, /sync file of format 2; this finprint reads format 1/);
  bad({ format: 1, pack: { model: m.model, created: m.created }, decisions: [ok, { ...ok, id: 'nope' }] }, /decisions\[1\]: id must be a UUID/);
  bad({ format: 1, pack: { model: m.model, created: m.created }, decisions: [{ ...ok, id: randomUUID(), decision: { kind: 'match' } }] }, /decisions\[0\] \([0-9a-f-]+\): a match decision needs an individualId/);
  bad({ format: 1, pack: { model: m.model, created: m.created }, decisions: [{ ...ok, id: randomUUID(), latitude: 123 }] }, /decisions\[0\] \([0-9a-f-]+\): latitude must be a number from -90 to 90/);
  bad({ format: 1, pack: { model: m.model, created: m.created }, decisions: [ok, ok] }, /decisions\[1\] \([0-9a-f-]+\): the id appears twice/);
  bad({ format: 1, pack: { model: 'e'.repeat(64), created: m.created }, decisions: [] }, /was made with model eeeeeeeeeeee, but the catalogue .* uses model/);
});
