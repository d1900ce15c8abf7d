// Photos into a catalogue: stored once by content, EXIF read, bad input rejected with a reason,
// metadata validated; candidates ranked and the next search seeing each decision.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { Catalogue, type CatalogueSetup } from '../../src/catalogue/catalogue.js';
import { checkCatalogue } from '../../src/catalogue/check.js';
import type { PhotoEmbedder } from '../../src/catalogue/embedder.js';
import { exportCatalogue } from '../../src/catalogue/export.js';
import { readMetadata } from '../../src/catalogue/metadata.js';
import { fitCalibration } from '../../src/eval/calibration.js';
import { tempDir } from '../data/helpers.js';

/** A photo whose colour says which animal it shows: the embedder below reads it back. */
function photo(hue: number, exif?: sharp.Exif): Promise<Buffer> {
  const c = { r: Math.round(128 + 120 * Math.cos(hue)), g: Math.round(128 + 120 * Math.sin(hue)), b: 90 };
  const img = sharp({ create: { width: 64, height: 48, channels: 3, background: c } });
  return (exif ? img.withExif(exif) : img).jpeg({ quality: 95 }).toBuffer();
}

/** A PNG whose header reads and whose pixel data does not. */
async function brokenPixels(): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 64, height: 48, channels: 3, background: 'red' } }).png().toBuffer());
  const at = png.indexOf('IDAT');
  for (let i = at + 6; i < at + 30; i++) png[i] = png[i]! ^ 0x5a;
  return png;
}

/** Embeds a photo as the unit direction of its mean red/green (so equal colours match). */
const embedder: PhotoEmbedder = {
  version: 'test-model',
  dim: 2,
  async embed(photos) {
    const problems = new Map<number, string>();
    const vectors = await Promise.all(
      photos.map(async (p, i) => {
        try {
          const { channels } = await sharp(p.path).stats();
          const v = new Float32Array([channels[0]!.mean - 128, channels[1]!.mean - 128]);
          const n = Math.hypot(v[0]!, v[1]!);
          return new Float32Array([v[0]! / n, v[1]! / n]);
        } catch (err) {
          problems.set(i, (err as Error).message);
          return null;
        }
      }),
    );
    return { vectors, problems };
  },
};

const setup = (): CatalogueSetup => ({
  model: 'test-model',
  run: '/nowhere',
  detector: null,
  calibration: fitCalibration([0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99].map((score, i) => ({ score, same: i >= 4 }))),
  threshold: 0.9,
});

test('known photos, new encounters, duplicates and rejects; EXIF date and position; candidates and decisions', async () => {
  const dir = await tempDir('finprint-cat-');
  const cat = await Catalogue.create(join(dir, 'cat'), setup());
  const files: string[] = [];
  for (const [i, hue] of [0, 0.05, 2, 2.05, 4].entries()) {
    const f = join(dir, `known${i}.jpg`);
    writeFileSync(f, await photo(hue));
    files.push(f);
  }
  const known = await cat.intake(files.map((path, i) => ({ source: { path }, name: `known${i}.jpg`, individualId: ['A', 'A', 'B', 'B', 'C'][i]!, species: 'humpback_whale' })), embedder);
  assert.deepEqual(known.map((r) => r.status), ['added', 'added', 'added', 'added', 'added']);

  const exif = { IFD2: { DateTimeOriginal: '2024:07:01 10:20:30' }, IFD3: { GPSLatitudeRef: 'S', GPSLatitude: '33/1 54/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '151/1 12/1 0/1' } };
  const fresh = await photo(2.02, exif);
  const bomb = await sharp({ create: { width: 12000, height: 12000, channels: 3, background: 'black' } }).png({ compressionLevel: 9 }).toBuffer();
  const results = await cat.intake(
    [
      { source: { bytes: fresh }, name: '../../etc/passwd.jpg', observer: 'ana' },
      { source: { bytes: fresh }, name: 'again.jpg' },
      { source: { path: files[0]! }, name: 'known0-again.jpg' },
      { source: { bytes: Buffer.from('GIF89a not really') }, name: 'photo.jpg' },
      { source: { bytes: bomb }, name: 'bomb.png' },
      { source: { path: join(dir, 'missing.jpg') }, name: 'missing.jpg' },
      { source: { bytes: await brokenPixels() }, name: 'broken.png' },
    ],
    embedder,
    { limits: { maxBytes: 10_000_000, maxPixels: 50_000_000 } },
  );
  assert.deepEqual(results.map((r) => r.status), ['added', 'duplicate', 'duplicate', 'rejected', 'rejected', 'rejected', 'rejected']);
  assert.equal(results[6]!.status === 'rejected' && results[6]!.kind, 'unreadable', 'a header that reads, pixels that do not');
  assert.equal(cat.orphanFiles(new Set((await cat.store.allPhotos()).map((p) => cat.photoFile(p)))).length, 0, 'and no file left behind');
  const added = results[0]!;
  assert.ok(added.status === 'added');
  assert.equal(added.photo.originalName, '../../etc/passwd.jpg', 'the name is metadata only');
  assert.ok(existsSync(cat.photoFile(added.photo)) && cat.photoFile(added.photo).startsWith(join(dir, 'cat', 'photos')), 'stored under its hash inside the catalogue');
  assert.deepEqual([added.encounter.date, added.encounter.latitude, added.encounter.longitude, added.encounter.observer], ['2024-07-01T10:20:30.000Z', -33.9, 151.2, 'ana']);
  assert.equal(results[1]!.status === 'duplicate' && results[1]!.photo, null, 'twice in one intake');
  assert.equal(results[2]!.status === 'duplicate' && results[2]!.photo?.originalName, 'known0.jpg');
  assert.match(results[3]!.status === 'rejected' ? results[3]!.reason : '', /photo\.jpg: not a photo finprint can read/);
  assert.equal(results[3]!.status === 'rejected' && results[3]!.kind, 'not-a-photo');
  assert.match(results[4]!.status === 'rejected' ? results[4]!.reason : '', /bomb\.png: 12000 x 12000 pixels, more than the 50000000 allowed/);
  assert.equal(results[4]!.status === 'rejected' && results[4]!.kind, 'too-large');
  assert.match(results[5]!.status === 'rejected' ? results[5]!.reason : '', /missing\.jpg: ENOENT/);

  // candidates: the photo of hue 2.02 is closest to B
  const c = await cat.candidates(added.encounter.id, {});
  assert.deepEqual(c.candidates.map((x) => x.individual.id), ['B', 'A', 'C']);
  assert.equal(c.description, '5 of 5 photos');
  assert.ok(c.candidates[0]!.probability! > 0.5 && c.candidates[2]!.probability! < 0.5, 'calibrated');
  assert.equal(c.suggestion, null);
  const queue = await cat.queue({});
  assert.equal(queue.total, 1);
  assert.ok(Math.abs(queue.items[0]!.bestScore! - c.candidates[0]!.score) < 1e-6);

  // confirm as A (against the ranking): the next search sees the photo in A's gallery
  await cat.decide({ action: 'confirm', encounterId: added.encounter.id, version: added.encounter.version, individualId: 'A' }, 'ana');
  const probe = await cat.intake([{ source: { bytes: await photo(2.021) }, name: 'probe.jpg' }], embedder);
  assert.ok(probe[0]!.status === 'added');
  const next = await cat.candidates(probe[0]!.encounter.id, {}, { per: 'photo', top: 1 });
  assert.equal(next.candidates[0]!.individual.id, 'A');
  assert.equal(next.candidates[0]!.bestPhoto, added.photo.id, 'the confirmed photo is now the best match, as A');
  const filtered = await cat.candidates(probe[0]!.encounter.id, { from: '2025-01-01' });
  assert.deepEqual(filtered.candidates, [], 'only dated encounters pass a date filter');
  assert.equal(filtered.suggestion, 'likely new individual');

  // another process (here: another connection) imports and decides: this one's next search sees both
  const other = await Catalogue.open(join(dir, 'cat'));
  const [late] = await other.intake([{ source: { bytes: await photo(4.01) }, name: 'late.jpg' }], embedder);
  assert.ok(late?.status === 'added');
  await other.decide({ action: 'confirm', encounterId: late.encounter.id, version: late.encounter.version, individualId: 'C' }, 'bo');
  await other.close();
  const seen = await cat.candidates(probe[0]!.encounter.id, {}, { per: 'photo', top: 10 });
  assert.ok(seen.candidates.some((x) => x.bestPhoto === late.photo.id && x.individual.id === 'C'), 'the photo imported and confirmed elsewhere is searched');
  assert.equal(seen.total, 7);

  assert.deepEqual(await checkCatalogue(cat), []);
  const summary = await exportCatalogue(cat, join(dir, 'export'), 'kaggle');
  assert.equal(summary.photos, 7, 'the five known photos and the two confirmed ones');
  assert.equal(summary.decisions, 2);
  await cat.close();
});

test('a box given with a photo is used (boxSource imported); one that misses the photo is not', async () => {
  const dir = await tempDir('finprint-cat-box-');
  const cat = await Catalogue.create(join(dir, 'cat'), setup());
  const seen: (object | null)[] = [];
  const recording: PhotoEmbedder = { ...embedder, embed: (photos, o) => (seen.push(...photos.map((p) => p.box)), embedder.embed(photos, o)) };
  const inside = { x0: 8, y0: 4, x1: 40, y1: 30 };
  const results = await cat.intake(
    [
      { source: { bytes: await photo(1) }, name: 'boxed.jpg', box: inside },
      { source: { bytes: await photo(3) }, name: 'elsewhere.jpg', box: { x0: 500, y0: 500, x1: 600, y1: 600 } },
      { source: { bytes: await photo(5) }, name: 'plain.jpg' },
    ],
    recording,
  );
  assert.deepEqual(results.map((r) => (r.status === 'added' ? r.photo.boxSource : r.status)), ['imported', 'whole', 'whole']);
  assert.deepEqual(seen, [inside, null, null], 'the embedder crops by the given box only');
  await cat.close();
});

test('encounters.csv: columns checked, bad values named with their line', async () => {
  const dir = await tempDir('finprint-meta-');
  const file = join(dir, 'encounters.csv');
  writeFileSync(file, 'photo,date,latitude,longitude,observer,species\na.jpg,2024-07-31,-33.9,151.2,ana,humpback_whale\nsub/b.jpg,,,,,\n');
  const m = readMetadata(file);
  assert.deepEqual(m.get('a.jpg'), { date: '2024-07-31', latitude: -33.9, longitude: 151.2, observer: 'ana', species: 'humpback_whale' });
  assert.deepEqual(m.get('b.jpg'), {});
  writeFileSync(file, 'photo,latitude,longitude\na.jpg,95,10\n');
  assert.throws(() => readMetadata(file), /encounters\.csv line 2: latitude "95" is not a number from -90 to 90/);
  writeFileSync(file, 'photo,date\na.jpg,31/07/2024\n');
  assert.throws(() => readMetadata(file), /line 2: date "31\/07\/2024" is not an ISO date/);
  writeFileSync(file, 'photo,place\na.jpg,x\n');
  assert.throws(() => readMetadata(file), /unknown column\(s\) place/);
  writeFileSync(file, 'photo,latitude\na.jpg,10\n');
  assert.throws(() => readMetadata(file), /latitude and longitude go together/);
});
