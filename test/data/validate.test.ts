import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { readCompetition, type Competition } from '../../src/data/happywhale.js';
import { checkImage, formatIssues } from '../../src/data/validate.js';
import { solidImage, tempDir } from './helpers.js';

/**
 * A hand-made competition folder with one of each kind of problem:
 * line 2 good, 3 good (misspelled species), 4 missing file, 5 duplicate of line 2, 6 empty species,
 * 7 zero-byte file, 8 truncated JPEG, 9 text file named .jpg, 10 a 2000x10 strip, 11 short row.
 */
async function brokenCompetition(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'train_images'));
  await mkdir(join(dir, 'test_images'));
  const good = await solidImage(64, 48, [30, 60, 90], 'jpeg');
  const noisy = await sharp(Buffer.from(Array.from({ length: 120 * 90 * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: 120, height: 90, channels: 3 } }).jpeg().toBuffer();
  await writeFile(join(dir, 'train_images', 'good1.jpg'), good);
  await writeFile(join(dir, 'train_images', 'good2.jpg'), good);
  await writeFile(join(dir, 'train_images', 'empty.jpg'), '');
  await writeFile(join(dir, 'train_images', 'cut.jpg'), noisy.subarray(0, noisy.length >> 1));
  await writeFile(join(dir, 'train_images', 'text.jpg'), 'this is not a photo');
  await writeFile(join(dir, 'train_images', 'strip.png'), await solidImage(2000, 10, [1, 2, 3]));
  await writeFile(join(dir, 'train_images', 'blank.jpg'), good);
  await writeFile(join(dir, 'test_images', 't1.jpg'), good);
  await writeFile(join(dir, 'test_images', 't2.jpg'), '');
  await writeFile(join(dir, 'test_images', 'notes.txt'), 'x');
  await writeFile(join(dir, 'train.csv'), [
    'image,species,individual_id,comment',
    'good1.jpg,beluga,aaa,',
    'good2.jpg,kiler_whale,bbb,',
    'missing.jpg,beluga,ccc,',
    'good1.jpg,beluga,ddd,',
    'blank.jpg,,eee,',
    'empty.jpg,beluga,fff,',
    'cut.jpg,beluga,ggg,',
    'text.jpg,beluga,hhh,',
    'strip.png,beluga,iii,',
    'good2.jpg,beluga',
  ].join('\r\n'));
  return dir;
}

describe('readCompetition on a broken folder', () => {
  let dir: string;
  let c: Competition;
  before(async () => {
    dir = await brokenCompetition();
    c = await readCompetition(dir, { check: 'decode', quiet: true });
  });

  it('keeps only the good rows, species normalised', () => {
    assert.deepEqual(c.train.map((r) => [r.image, r.species, r.speciesRaw, r.line]), [
      ['good1.jpg', 'beluga', 'beluga', 2],
      ['good2.jpg', 'killer_whale', 'kiler_whale', 3],
    ]);
    assert.deepEqual(c.species.changes, [{ from: 'kiler_whale', to: 'killer_whale', rows: 1 }]);
    assert.deepEqual(c.test.map((t) => t.image), ['t1.jpg']);
    assert.equal(c.images.get(join(dir, 'train_images', 'good1.jpg'))?.width, 64);
  });

  it('lists each problem with its file, line and kind', () => {
    const found = c.issues.map((i) => [i.file, i.row, i.kind]);
    const expected: [string, number | undefined, string][] = [
      ['test_images/notes.txt', undefined, 'not-an-image'],
      ['test_images/t2.jpg', undefined, 'empty-file'],
      ['train.csv', 1, 'unknown-column'],
      ['train.csv', 5, 'duplicate-image'],
      ['train.csv', 6, 'empty-field'],
      ['train.csv', 11, 'field-count'],
      ['train_images/cut.jpg', 8, 'truncated'],
      ['train_images/empty.jpg', 7, 'empty-file'],
      ['train_images/missing.jpg', 4, 'missing-file'],
      ['train_images/strip.png', 10, 'absurd-dimensions'],
      ['train_images/text.jpg', 9, 'not-an-image'],
    ];
    assert.deepEqual(found, expected);
    const report = formatIssues(c.issues);
    assert.match(report, /train_images\/cut\.jpg:8 {2}truncated {2}decode failed/);
    assert.match(report, /11 problems: .*truncated 1/);
  });

  it('finds truncation only when asked to decode', async () => {
    const quick = await readCompetition(dir, { check: 'metadata', quiet: true });
    assert.ok(!quick.issues.some((i) => i.kind === 'truncated'));
    assert.ok(quick.train.some((r) => r.image === 'cut.jpg'));
    const statOnly = await readCompetition(dir, { check: 'exists', quiet: true });
    assert.ok(statOnly.train.some((r) => r.image === 'text.jpg'));
    assert.ok(statOnly.issues.some((i) => i.kind === 'missing-file'));
  });
});

describe('readCompetition edge cases', () => {
  it('reports a train.csv without required columns instead of crashing', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'test_images'));
    await writeFile(join(dir, 'train.csv'), 'image,species\na.jpg,beluga\n');
    const c = await readCompetition(dir, { quiet: true });
    assert.equal(c.train.length, 0);
    assert.deepEqual(c.issues.filter((i) => i.kind === 'missing-column').length, 2);
  });

  it('reports an unparseable train.csv with its line', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'test_images'));
    await writeFile(join(dir, 'train.csv'), 'image,species,individual_id\na.jpg,"beluga,x\n');
    const c = await readCompetition(dir, { quiet: true });
    assert.deepEqual(c.issues.map((i) => [i.file, i.row, i.kind]), [['train.csv', 2, 'unreadable-file']]);
  });

  it('rejects a folder that is not a competition folder, and bad options', async () => {
    const dir = await tempDir();
    await assert.rejects(readCompetition(dir), /Expected a Happywhale folder/);
    await assert.rejects(readCompetition(dir, { check: 'thorough' as never }), /Expected one of exists, metadata, decode for check/);
  });

  it('skips a photo that is a symbolic link leading outside the data folder, naming it and where it points', async () => {
    const outside = await tempDir();
    const photo = await solidImage(32, 32, [10, 20, 30], 'jpeg');
    await writeFile(join(outside, 'secret.jpg'), photo);
    const secret = await realpath(join(outside, 'secret.jpg'));
    const dir = await tempDir();
    await mkdir(join(dir, 'train_images'));
    await mkdir(join(dir, 'test_images'));
    await mkdir(join(dir, 'originals'));
    await writeFile(join(dir, 'train_images', 'real.jpg'), photo);
    await writeFile(join(dir, 'originals', 'kept.jpg'), photo);
    await symlink('real.jpg', join(dir, 'train_images', 'alias.jpg')); // inside train_images: fine
    await symlink(join(dir, 'originals', 'kept.jpg'), join(dir, 'train_images', 'kept.jpg')); // inside the data folder: fine
    await symlink(secret, join(dir, 'train_images', 'away.jpg'));
    await symlink(`../../${outside.split('/').pop()}/secret.jpg`, join(dir, 'test_images', 'peek.jpg'));
    await writeFile(join(dir, 'train.csv'), 'image,species,individual_id\nreal.jpg,beluga,a\nalias.jpg,beluga,b\naway.jpg,beluga,c\nkept.jpg,beluga,d\n');
    for (const check of ['exists', 'metadata'] as const) {
      const c = await readCompetition(dir, { check, quiet: true });
      assert.deepEqual(c.train.map((r) => r.image), ['real.jpg', 'alias.jpg', 'kept.jpg']);
      assert.deepEqual(c.test, []);
      assert.deepEqual(c.issues, [
        { file: 'test_images/peek.jpg', kind: 'outside-link', message: `symbolic link to ${secret}, outside the data folder; skipped` },
        { file: 'train_images/away.jpg', row: 4, kind: 'outside-link', message: `symbolic link to ${secret}, outside the data folder; skipped` },
      ]);
    }
    // Photo folders that are themselves links (to a bigger disk) are the data folder's own.
    const linked = await tempDir();
    await symlink(join(dir, 'train_images'), join(linked, 'train_images'));
    await symlink(join(dir, 'test_images'), join(linked, 'test_images'));
    await symlink(join(dir, 'train.csv'), join(linked, 'train.csv'));
    const c = await readCompetition(linked, { quiet: true });
    assert.deepEqual(c.train.map((r) => r.image), ['real.jpg', 'alias.jpg']);
    assert.deepEqual(c.issues.map((i) => [i.file, i.row, i.kind]), [['test_images/peek.jpg', undefined, 'outside-link'], ['train_images/away.jpg', 4, 'outside-link'], ['train_images/kept.jpg', 5, 'outside-link']]);
  });

  it('reports a 50 MB image name as a row problem, the value cut in the message, and keeps the other rows', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'train_images'));
    await mkdir(join(dir, 'test_images'));
    await writeFile(join(dir, 'train_images', 'ok.jpg'), await solidImage(32, 32, [1, 2, 3], 'jpeg'));
    const long = `${'q'.repeat(50 * 1024 * 1024)}.jpg`;
    await writeFile(join(dir, 'train.csv'), `image,species,individual_id\nok.jpg,beluga,a\n"${long}",beluga,b\n${long},beluga,c\nok2.jpg,beluga,${'i'.repeat(300)}\n`);
    const c = await readCompetition(dir, { quiet: true });
    assert.deepEqual(c.train.map((r) => r.image), ['ok.jpg']);
    const cut = `${'q'.repeat(40)}… (52428804 characters)`;
    assert.deepEqual(c.issues, [
      { file: 'train.csv', row: 3, kind: 'malformed-field', message: `image longer than 255 bytes: ${cut}` },
      { file: 'train.csv', row: 4, kind: 'malformed-field', message: `image longer than 255 bytes: ${cut}` },
      { file: 'train.csv', row: 5, kind: 'malformed-field', message: `individual_id longer than 255 bytes: ${'i'.repeat(40)}… (300 characters)` },
    ]);
    assert.ok(formatIssues(c.issues).length < 1000);
  });

  it('checkImage reports the oriented size of a photo', async () => {
    const dir = await tempDir();
    const file = join(dir, 'rot.jpg');
    await writeFile(file, await sharp(await solidImage(40, 20, [9, 9, 9])).withMetadata({ orientation: 6 }).jpeg().toBuffer());
    assert.deepEqual((await checkImage(file, 'metadata')).info, { width: 20, height: 40, format: 'jpeg', bytes: statSync(file).size });
  });
});
