import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { pcc } from '../../src/data/chance.js';
import { computeEda } from '../../src/data/eda.js';
import type { Competition } from '../../src/data/happywhale.js';
import { renderPage } from '../../src/report/html.js';
import { solidImage, tempDir, TINY } from './helpers.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));

describe('pcc', () => {
  it('is the sum of squared class shares', () => {
    assert.equal(pcc([2, 1, 1]), (4 + 1 + 1) / 16);
    assert.equal(pcc([5]), 1);
    assert.equal(pcc([1, 1, 1, 1]), 0.25);
    assert.equal(pcc([]), 0);
    assert.throws(() => pcc([1, -1]), /Expected a non-negative class count for pcc counts\[1\] but received -1 of type number/);
  });
});

describe('computeEda', () => {
  it('counts a hand-made competition', () => {
    const row = (image: string, species: string, speciesRaw: string, individualId: string) => ({ image, path: `/x/${image}`, species, speciesRaw, individualId, line: 0 });
    const c: Competition = {
      dir: '/x',
      train: [
        row('a.jpg', 'beluga', 'beluga', 'b1'), row('b.jpg', 'beluga', 'beluga', 'b1'), row('c.jpg', 'beluga', 'beluga', 'b1'),
        row('d.jpg', 'beluga', 'beluga', 'b2'), row('e.jpg', 'killer_whale', 'kiler_whale', 'k1'), row('f.jpg', 'killer_whale', 'killer_whale', 'k2'),
      ],
      test: [{ image: 't.jpg', path: '/x/t.jpg' }],
      species: { changes: [{ from: 'kiler_whale', to: 'killer_whale', rows: 1 }], rowsChanged: 1, rawLabels: 3, labels: 2 },
      images: new Map([['/x/a.jpg', { width: 300, height: 200, format: 'jpeg', bytes: 1 }], ['/x/b.jpg', { width: 3000, height: 2000, format: 'jpeg', bytes: 1 }], ['/x/c.jpg', { width: 300, height: 200, format: 'jpeg', bytes: 1 }]]),
      issues: [{ file: 'train.csv', row: 9, kind: 'empty-field', message: 'empty species' }],
    };
    const s = computeEda(c);
    assert.equal(s.images, 6);
    assert.equal(s.test_images, 1);
    assert.equal(s.species_raw, 3);
    assert.equal(s.species, 2);
    assert.equal(s.individuals, 4);
    assert.deepEqual(s.species_counts, { beluga: 4, killer_whale: 2 });
    assert.deepEqual(s.individuals_per_species, { beluga: 2, killer_whale: 2 });
    assert.equal(s.images_per_individual.singletons, 3);
    assert.deepEqual(s.images_per_individual.histogram.slice(0, 3).map((h) => h.individuals), [3, 0, 1]);
    assert.equal(s.images_per_individual.median, 1);
    assert.equal(s.images_per_individual.max, 3);
    assert.equal(s.pcc.species, (16 + 4) / 36);
    assert.equal(s.pcc.individual, (9 + 1 + 1 + 1) / 36);
    assert.equal(s.pcc125.species, 1.25 * s.pcc.species);
    assert.deepEqual(s.image_sizes.width, { min: 300, median: 300, max: 3000 });
    assert.deepEqual(s.image_sizes.common[0], { size: '300x200', images: 2 });
    assert.deepEqual(s.issues, { total: 1, by_kind: { 'empty-field': 1 } });
  });
});

describe('renderPage', () => {
  it('escapes text, keeps script-breaking JSON inert and inlines chart.js only when charting', () => {
    const html = renderPage({ title: 'a <b> & "c"', sections: [{ title: 's', blocks: [{ kind: 'text', text: '<script>x</script>' }, { kind: 'chart', config: { type: 'bar', data: { labels: ['</script><script>alert(1)</script>'], datasets: [] } } }] }] });
    assert.match(html, /<title>a &lt;b&gt; &amp; &quot;c&quot;<\/title>/);
    assert.ok(!html.includes('<script>x</script>') && !html.includes('</script><script>alert(1)'));
    assert.match(html, /Chart\.js v4/);
    assert.ok(!/<script[^>]+src=/.test(html), 'no external scripts');
    assert.ok(!renderPage({ title: 't', sections: [{ title: 's', blocks: [{ kind: 'table', columns: ['a'], rows: [[1]] }] }] }).includes('Chart.js'));
  });
});

describe('CLI synth + eda', () => {
  let dir: string;
  before(async () => {
    dir = join(await tempDir(), 'set');
    await run(process.execPath, [cli, 'synth', '--out', dir, '--species', `${TINY.species}`, '--individuals', '12', '--mean-images', '3', '--size', `${TINY.size}`, '--seed', '5', '--quiet']);
  });

  it('eda --json prints one JSON object with the counts and chance levels', async () => {
    const { stdout } = await run(process.execPath, [cli, 'eda', dir, '--json', '--quiet']);
    const s = JSON.parse(stdout) as Record<string, unknown> & { pcc: { species: number; individual: number }; pcc125: { species: number; individual: number } };
    for (const key of ['images', 'species_raw', 'species', 'individuals', 'pcc', 'pcc125']) assert.ok(key in s, key);
    const trainRows = (await readFile(join(dir, 'train.csv'), 'utf8')).trim().split('\n').length - 1;
    assert.equal(s['images'], trainRows);
    assert.equal(s['species'], TINY.species);
    assert.ok((s['individuals'] as number) <= 12 && (s['individuals'] as number) >= 9);
    for (const task of ['species', 'individual'] as const) {
      assert.ok(s.pcc[task] > 0 && s.pcc[task] <= 1);
      assert.ok(Math.abs(s.pcc125[task] - 1.25 * s.pcc[task]) < 1e-12);
    }
  });

  it('eda --report writes a self-contained HTML page; the summary names the species', async () => {
    const report = join(dir, 'eda.html');
    const { stdout } = await run(process.execPath, [cli, 'eda', dir, '--report', report, '--quiet']);
    assert.match(stdout, /bottlenose_dolphin/);
    assert.match(stdout, /chance \(PCC \/ 1\.25 x PCC\)/);
    const html = await readFile(report, 'utf8');
    assert.match(html, /Chart\.js v4/);
    assert.match(html, /Photos per species/);
    assert.ok(!/<script[^>]+src=/.test(html));
  });

  it('fails clearly on a folder that is not a competition', async () => {
    await assert.rejects(run(process.execPath, [cli, 'eda', join(dir, 'train_images'), '--quiet']), (e: { code: number; stderr: string }) => e.code === 1 && /Expected a Happywhale folder/.test(e.stderr));
  });
});

describe('CLI eda on a hostile folder', () => {
  // Line 2 good; 3 and 4 an unknown species; 5 a name with terminal escape codes (no such photo);
  // 6 a zero-byte photo; 7 a 50 MB image name. test_images holds a non-photo whose name sets the
  // terminal's title.
  const long = `${'q'.repeat(50 * 1024 * 1024)}.jpg`;
  let dir: string;
  let stdout: string;
  let json: { species_unknown: unknown; species_counts: Record<string, number>; issue_list: { file: string; row?: number; kind: string; message: string }[] };
  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'train_images'));
    await mkdir(join(dir, 'test_images'));
    const photo = await solidImage(32, 32, [5, 6, 7], 'jpeg');
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) await writeFile(join(dir, 'train_images', name), photo);
    await writeFile(join(dir, 'train_images', 'zero.jpg'), '');
    await writeFile(join(dir, 'test_images', 't1.jpg'), photo);
    await writeFile(join(dir, 'test_images', '\u001b]0;pwned\u0007.txt'), 'x');
    await writeFile(join(dir, 'train.csv'), [
      'image,species,individual_id', 'a.jpg,beluga,x1', 'b.jpg,martian_whale,x2', 'c.jpg,martian_whale,x3',
      '\u001b[31mred.jpg,beluga,x4', 'zero.jpg,beluga,x5', `"${long}",beluga,x6`, '',
    ].join('\n'));
    // A heap far below what printing or parsing the 50 MB name whole took (2 GB).
    ({ stdout } = await run(process.execPath, ['--max-old-space-size=256', cli, 'eda', dir, '--quiet'], { maxBuffer: 1 << 20 }));
    json = JSON.parse((await run(process.execPath, ['--max-old-space-size=256', cli, 'eda', dir, '--json', '--quiet'], { maxBuffer: 1 << 20 })).stdout);
  });

  it('warns about an unknown species label, naming it and its rows; its photos still count', () => {
    assert.match(stdout, /\n {2}warning: unknown species label, kept as new species \(map it with --species-map if meant\): martian_whale x2 \(train\.csv lines 3, 4\)\n/);
    assert.deepEqual(json.species_unknown, [{ label: 'martian_whale', rows: 2, lines: [3, 4] }]);
    assert.equal(json.species_counts['martian_whale'], 2);
  });

  it('reports a 50 MB image name as a problem of its row, cut to 40 characters, in bounded memory and output', () => {
    assert.ok(stdout.length < 5000, `${stdout.length} characters of output`);
    assert.ok(stdout.includes(`  train.csv:7  malformed-field  image longer than 255 bytes: ${'q'.repeat(40)}… (52428804 characters)\n`), stdout);
    assert.ok(JSON.stringify(json).length < 5000);
  });

  it('prints names holding terminal escape codes escaped, never raw', () => {
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f]/.test(stdout), 'no control character but newlines');
    assert.ok(stdout.includes('  train_images/\\x1b[31mred.jpg:5  missing-file  file not found\n'), stdout);
    assert.ok(stdout.includes('  test_images/\\x1b]0;pwned\\x07.txt  not-an-image  ignored: not a photo file name\n'), stdout);
  });

  it('lists a zero-byte training photo among the problems (its row is left out)', () => {
    assert.ok(stdout.includes('  train_images/zero.jpg:6  empty-file  zero bytes\n'), stdout);
    assert.match(stdout, /train images 3, test images 1/);
    assert.ok(json.issue_list.some((i) => i.file === 'train_images/zero.jpg' && i.row === 6 && i.kind === 'empty-file'));
  });
});
