import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readBoxes, readBoxFile, writeBoxFile } from '../../src/data/boxes.js';
import { photoSizes, readCompetition } from '../../src/data/happywhale.js';
import { solidImage, tempDir } from './helpers.js';

async function boxFile(text: string): Promise<string> {
  const path = join(await tempDir(), 'boxes.csv');
  await writeFile(path, text);
  return path;
}

describe('box files', () => {
  it('reads pixel boxes with optional score and label, keeping the best-scored box per photo', async () => {
    const path = await boxFile('image,x0,y0,x1,y1,score,label\na.jpg,10,20,110,70,0.9,body\na.jpg,12,22,100,60,0.95,fin\nb.jpg,0,0,50,40,,\n');
    const { boxes, problems } = await readBoxFile(path);
    assert.deepEqual(problems, []);
    assert.deepEqual(boxes.get('a.jpg'), { x0: 12, y0: 22, x1: 100, y1: 60, score: 0.95, label: 'fin' });
    assert.deepEqual(boxes.get('b.jpg'), { x0: 0, y0: 0, x1: 50, y1: 40 });
    const body = await readBoxFile(path, { label: 'body' });
    assert.deepEqual(body.boxes.get('a.jpg'), { x0: 10, y0: 20, x1: 110, y1: 70, score: 0.9, label: 'body' });
    assert.equal(body.boxes.has('b.jpg'), false);
    const confident = await readBoxFile(path, { minScore: 0.92 });
    assert.equal(confident.boxes.get('a.jpg')!.label, 'fin');
    // A box without a score counts as certain.
    assert.ok(confident.boxes.has('b.jpg'));
  });

  it('converts relative coordinates with the photo sizes', async () => {
    const path = await boxFile('image,x0,y0,x1,y1\na.jpg,0.1,0.25,0.5,1\nb.jpg,0.1,0.1,0.2,0.2\nc.jpg,0.1,0.1,1.2,0.5\n');
    const sizes = new Map([['a.jpg', { width: 200, height: 80 }], ['c.jpg', { width: 100, height: 100 }]]);
    const { boxes, problems } = await readBoxFile(path, { relative: true, sizes });
    assert.deepEqual(boxes.get('a.jpg'), { x0: 20, y0: 20, x1: 100, y1: 80 });
    assert.deepEqual(problems.map((p) => [p.line, p.message]), [
      [3, 'relative box for b.jpg, whose size is unknown'],
      [4, 'relative coordinates must lie in [0, 1]'],
    ]);
  });

  it('reports every bad row by file and line and keeps the good ones', async () => {
    const path = await boxFile(
      [
        'image,x0,y0,x1,y1,score',
        'ok.jpg,1,2,30,40,0.5',
        ',1,2,3,4,0.5',
        'nan.jpg,1,two,3,4,0.5',
        'flat.jpg,10,10,10,20,0.5',
        'neg.jpg,-5,0,10,10,0.5',
        'out.jpg,0,0,120,10,0.5',
        'short.jpg,1,2,3',
        'score.jpg,1,2,3,4,high',
        'empty.jpg,1,,3,4,0.5',
      ].join('\n'),
    );
    const { boxes, problems } = await readBoxFile(path, { sizes: new Map([['out.jpg', { width: 100, height: 50 }]]) });
    assert.deepEqual([...boxes.keys()], ['ok.jpg']);
    assert.ok(problems.every((p) => p.file === path));
    assert.deepEqual(problems.map((p) => p.line), [3, 4, 5, 6, 7, 8, 9, 10]);
    const messages = problems.map((p) => p.message);
    assert.match(messages[0]!, /empty image name/);
    assert.match(messages[1]!, /coordinates must be numbers, got 1,two,3,4/);
    assert.match(messages[2]!, /box has no area/);
    assert.match(messages[3]!, /negative coordinate/);
    assert.match(messages[4]!, /lies outside the 100x50 image/);
    assert.match(messages[5]!, /expected 6 fields .* but the row has 4/);
    assert.match(messages[6]!, /score must be a number, got high/);
    assert.match(messages[7]!, /coordinates must be numbers, got 1,,3,4/);
  });

  it('reports a box lying entirely outside its photo by file, line and image; readBoxes warns and leaves that photo whole', async () => {
    const path = await boxFile('image,x0,y0,x1,y1\nin.jpg,10,10,50,40\naway.jpg,200,150,300,220\nbelow.jpg,0,60,40,90\n');
    const sizes = new Map([['in.jpg', { width: 100, height: 50 }], ['away.jpg', { width: 100, height: 50 }], ['below.jpg', { width: 100, height: 50 }]]);
    const { boxes, problems } = await readBoxFile(path, { sizes });
    assert.deepEqual([...boxes.keys()], ['in.jpg']);
    assert.deepEqual(problems, [
      { file: path, line: 3, message: 'box 200,150,300,220 for away.jpg lies entirely outside the 100x50 image' },
      { file: path, line: 4, message: 'box 0,60,40,90 for below.jpg lies entirely outside the 100x50 image' },
    ]);
    // readBoxes says so on stderr (the photo is then cut from nothing: used whole).
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    let read: Map<string, unknown>;
    try {
      read = await readBoxes(path, { sizes });
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual([...read.keys()], ['in.jpg']);
    // The sizes as a run has them: from the competition folder's photo check.
    const data = await tempDir();
    await mkdir(join(data, 'train_images'));
    await mkdir(join(data, 'test_images'));
    await writeFile(join(data, 'train.csv'), 'image,species,individual_id\nin.jpg,beluga,a\n');
    await writeFile(join(data, 'train_images', 'in.jpg'), await solidImage(100, 50, [1, 2, 3]));
    await writeFile(join(data, 'test_images', 'away.jpg'), await solidImage(100, 50, [1, 2, 3]));
    const fromFolder = photoSizes(await readCompetition(data, { quiet: true }));
    assert.deepEqual([...fromFolder], [['in.jpg', { width: 100, height: 50 }], ['away.jpg', { width: 100, height: 50 }]]);
    assert.deepEqual((await readBoxFile(path, { sizes: fromFolder })).problems.map((p) => p.line), [3]);
    assert.deepEqual(written, [
      `warning: ${path} line 3: box 200,150,300,220 for away.jpg lies entirely outside the 100x50 image; that photo is used whole\n`,
      `warning: ${path} line 4: box 0,60,40,90 for below.jpg lies entirely outside the 100x50 image; that photo is used whole\n`,
    ]);
  });

  it('rejects a file without the box columns, and one whose rows are all bad', async () => {
    await assert.rejects(readBoxFile(await boxFile('image,left,top\na.jpg,1,2\n')), /missing column\(s\) x0, y0, x1, y1/);
    await assert.rejects(readBoxes(await boxFile('image,x0,y0,x1,y1\na.jpg,5,5,1,1\n')), /no usable boxes; first problem at line 2: box has no area/);
  });

  it('writes what it reads: every column, sorted by image', async () => {
    const path = join(await tempDir(), 'out.csv');
    await writeBoxFile(path, new Map([['b.jpg', { x0: 1.26, y0: 2, x1: 30, y1: 40.04, score: 0.87654, label: 'body' }], ['a.jpg', { x0: 0, y0: 0, x1: 5, y1: 5 }]]));
    assert.equal(await readFile(path, 'utf8'), 'image,x0,y0,x1,y1,score,label\na.jpg,0,0,5,5,,\nb.jpg,1.3,2,30,40,0.8765,body\n');
    const { boxes, problems } = await readBoxFile(path);
    assert.deepEqual(problems, []);
    assert.deepEqual(boxes.get('b.jpg'), { x0: 1.3, y0: 2, x1: 30, y1: 40, score: 0.8765, label: 'body' });
  });
});
