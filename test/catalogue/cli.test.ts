// The catalogue commands as a user runs them: init (and init again, which carries on), import
// with metadata, duplicates, export, check, reviewers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Catalogue } from '../../src/catalogue/catalogue.js';
import { synthesize } from '../../src/data/synth/index.js';
import { tempDir } from '../data/helpers.js';

const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));
let work = '';
let data = '';
let cat = '';

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  work = await tempDir('finprint-catalogue-cli-');
  data = join(work, 'data');
  await synthesize({ out: data, species: 3, individuals: 12, meanImages: 4, size: 64, seed: 4, quiet: true });
  const trained = run('train', '--data', data, '--task', 'joint', '--backbone', 'vgg16_tiny', '--image-size', '48', '--epochs', '1', '--unfreeze-top', 'all', '--quiet', '--out', join(work, 'run'));
  assert.equal(trained.status, 0, trained.stderr);
  cat = join(work, 'cat');
});

test('init embeds the known photos; run again, it carries on instead of adding them twice', () => {
  const lines = readFileSync(join(data, 'train.csv'), 'utf8').trim().split('\n').slice(1);
  const rows = lines.length;
  const individuals = new Set(lines.map((l) => l.split(',')[2])).size;
  const first = run('catalogue', 'init', cat, '--run', join(work, 'run'), '--quiet');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`${rows} photos added, ${individuals} known individuals`));
  const again = run('catalogue', 'init', cat, '--run', join(work, 'run'), '--quiet');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`0 photos added, ${rows} already there`));
  const check = run('catalogue', 'check', cat, '--json');
  assert.equal(check.status, 0, check.stdout);
  const report = JSON.parse(check.stdout) as { ok: boolean; stats: { photos: number; individuals: number; encounters: { confirmed: number } } };
  assert.deepEqual([report.ok, report.stats.photos, report.stats.individuals, report.stats.encounters.confirmed], [true, rows, individuals, rows]);
});

test('import: metadata applied, duplicates reported, bad metadata named; export and check', () => {
  const photos = readdirSync(join(data, 'test_images')).sort();
  const meta = join(work, 'encounters.csv');
  writeFileSync(meta, `photo,date,latitude,longitude,observer\n${photos[0]},2024-07-01,-33.9,151.2,ana\n`);
  const r = run('catalogue', 'import', cat, join(data, 'test_images'), '--metadata', meta, '--json');
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { added: number; duplicates: number; photos: { name: string; status: string; encounter: number; best: { individual: string } | null }[] };
  assert.equal(result.added, photos.length);
  assert.ok(result.photos.every((p) => p.status === 'added' && p.best !== null), 'each ranked against the catalogue');
  const again = run('catalogue', 'import', cat, join(data, 'test_images', photos[0]!));
  assert.match(again.stdout, new RegExp(`${photos[0]}: already in the catalogue \\(photo \\d+, encounter ${result.photos[0]!.encounter}\\)`));
  writeFileSync(meta, `photo,latitude,longitude\n${photos[1]},91,0\n`);
  const bad = run('catalogue', 'import', cat, join(data, 'test_images', photos[1]!), '--metadata', meta);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /encounters\.csv line 2: latitude "91" is not a number from -90 to 90/);

  const out = join(work, 'export');
  const exported = run('catalogue', 'export', cat, '--out', out, '--format', 'csv');
  assert.equal(exported.status, 0, exported.stderr);
  const table = readFileSync(join(out, 'photos.csv'), 'utf8');
  assert.match(table, new RegExp(`${photos[0]},\\d+,unreviewed,,,2024-07-01,-33\\.9,151\\.2,ana`));
  const twice = run('catalogue', 'export', cat, '--out', out);
  assert.match(twice.stderr, /--out .* already exists; pass --force/);

  // a photo file lost from the catalogue folder is found and named
  const stored = readdirSync(join(cat, 'photos'), { recursive: true }).map(String).find((f) => f.endsWith('.jpg'))!;
  rmSync(join(cat, 'photos', stored));
  const check = run('catalogue', 'check', cat);
  assert.equal(check.status, 1);
  assert.match(check.stdout, /missing-file: photo \d+ .*is missing; restore it from a backup, or import the photo again/);
});

test('import --boxes: the photos it names are cut to their box, the others used whole; a missing box file is named', async () => {
  const first = readdirSync(join(data, 'test_images')).sort()[0]!;
  const survey = join(work, 'survey-boxes');
  mkdirSync(survey);
  // New bytes for photos the catalogue has not seen.
  for (const [name, quality] of [['a.jpg', 70], ['b.jpg', 60]] as const) await sharp(join(data, 'test_images', first)).jpeg({ quality }).toFile(join(survey, name));
  const boxes = join(work, 'survey-boxes.csv');
  writeFileSync(boxes, 'image,x0,y0,x1,y1\na.jpg,4,6,40,30\nnot-imported.jpg,1,1,9,9\n');
  const missing = run('catalogue', 'import', cat, survey, '--boxes', join(work, 'nope.csv'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /box file .*nope\.csv not found/);
  const r = run('catalogue', 'import', cat, survey, '--boxes', boxes, '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const opened = await Catalogue.open(cat);
  try {
    const photos = (await opened.store.allPhotos()).filter((p) => p.originalName === 'a.jpg' || p.originalName === 'b.jpg');
    assert.deepEqual(photos.map((p) => [p.originalName, p.boxSource, p.box]).sort(), [
      ['a.jpg', 'imported', { x0: 4, y0: 6, x1: 40, y1: 30 }],
      ['b.jpg', 'whole', null],
    ]);
  } finally {
    await opened.close();
  }
});

test('user add prints a token once and stores only its hash', () => {
  const r = run('catalogue', 'user', 'add', cat, 'ana');
  assert.equal(r.status, 0, r.stderr);
  const token = r.stdout.trim();
  assert.match(token, /^[\w-]{32}$/);
  assert.ok(!readFileSync(join(cat, 'catalogue.db')).includes(Buffer.from(token)), 'the token itself is not stored');
  assert.match(run('catalogue', 'user', 'add', cat, 'ana').stderr, /a reviewer named ana already exists/);
  assert.match(run('catalogue', 'user', 'add', cat, '../x').stderr, /reviewer name/);
  assert.ok(existsSync(join(cat, 'catalogue.db')));
});
