// finprint used as a library, through its package names ('finprint' and 'finprint/runs'), as the README's example does.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createModel, embedPhotos, galleryOf, resolveConfig, searchGallery, synthesize, torch } from 'finprint';
import { Identifier, openRun, readRunInfo, RUN_FORMAT, trainRun } from 'finprint/runs';

const work = mkdtempSync(join(tmpdir(), 'finprint-api-'));
process.env.FINPRINT_CACHE = join(work, 'cache');

test('a model from the zoo runs a forward pass', () => {
  const model = createModel('vgg16_tiny', { numClasses: 3, imgSize: 32 });
  model.eval();
  const logits = torch.tidy(() => model.forward(torch.zeros([2, 3, 32, 32])).keep());
  assert.deepEqual(logits.shape, [2, 3]);
  logits.dispose();
});

test('train a run, then identify a new photo and search a gallery of its own', async () => {
  const data = join(work, 'data');
  await synthesize({ out: data, species: 3, individuals: 12, meanImages: 5, size: 64, seed: 1, quiet: true });
  const out = join(work, 'run');
  const result = await trainRun(resolveConfig({ data, out, backbone: 'vgg16_tiny', task: 'joint', imageSize: 48, epochs: 2, unfreezeTop: 'all', workers: 2 }), { quiet: true, log: () => {} });
  assert.equal(result.history.length, 2);
  assert.equal(readRunInfo(out).format, RUN_FORMAT);

  const photos = readdirSync(join(data, 'test_images')).slice(0, 2).map((f) => join(data, 'test_images', f));
  const identifier = await Identifier.open(out, { quiet: true });
  const matched = await identifier.matchFiles(photos);
  assert.equal(matched.candidates.length, 2);
  for (const c of matched.candidates) {
    assert.equal(c.length, 5);
    for (let i = 1; i < c.length; i++) assert.ok(c[i - 1]!.score >= c[i]!.score, 'candidates best first');
  }

  // The same model through the lower layers: embed, make a gallery, search it.
  const run = await openRun(out);
  const labelled = photos.map((path, i) => ({ path, individualId: `animal_${i}` }));
  const embedded = await embedPhotos(run, labelled, { quiet: true });
  const { gallery } = galleryOf(labelled, embedded, { mirrors: false, fingerprint: 'test' });
  const queries = torch.tensor(embedded.embedding, [embedded.count, embedded.dim]);
  const rows = torch.tensor(gallery.embedding, [gallery.ids.length, gallery.dim]);
  const found = searchGallery(queries, rows, gallery.ids, { neighbours: 2, topIndividuals: 2 });
  queries.dispose();
  rows.dispose();
  // each photo finds itself first, at cosine 1
  assert.deepEqual(found.map((f) => f[0]!.id), ['animal_0', 'animal_1']);
  for (const f of found) assert.ok(Math.abs(f[0]!.score - 1) < 1e-4);
});
