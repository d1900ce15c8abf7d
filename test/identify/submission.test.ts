import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSolution, parseSubmission, scoreSubmission, SubmissionError, writeSubmission } from '../../src/identify/submission.js';
import { tempDir } from '../data/helpers.js';

const images = ['a.jpg', 'b.jpg', 'c.jpg'];
const good = 'image,predictions\na.jpg,x1 new_individual\nb.jpg,x2 x3 x4 x5 x6\nc.jpg,new_individual\n';

/** The problems a submission text is rejected with. */
function problems(text: string): { line?: number; message: string }[] {
  try {
    parseSubmission(text, 'sub.csv', images);
  } catch (err) {
    assert.ok(err instanceof SubmissionError, String(err));
    assert.match(err.message, /^sub\.csv: /);
    return [...err.problems];
  }
  assert.fail('the submission was accepted');
}

describe('submission validator', () => {
  it('accepts a good file', () => {
    const p = parseSubmission(good, 'sub.csv', images);
    assert.deepEqual(p.get('a.jpg'), ['x1', 'new_individual']);
    assert.equal(p.size, 3);
  });

  const cases: [string, string, number | undefined, RegExp][] = [
    ['empty file', '', 1, /empty/],
    ['missing header', 'a.jpg,x1\nb.jpg,x2\nc.jpg,x3\n', 1, /missing header/],
    ['wrong header names', 'image,prediction\na.jpg,x1\nb.jpg,x2\nc.jpg,x3\n', 1, /header is "image,prediction": expected exactly image,predictions/],
    ['missing column', 'image\na.jpg\nb.jpg\nc.jpg\n', 1, /expected exactly image,predictions/],
    ['duplicate image', 'image,predictions\na.jpg,x1\nb.jpg,x2\na.jpg,x3\nc.jpg,x4\n', 4, /duplicate image a\.jpg \(first on line 2\)/],
    ['image not in the solution', 'image,predictions\na.jpg,x1\nb.jpg,x2\nc.jpg,x3\nd.jpg,x4\n', 5, /image d\.jpg is not in the solution/],
    ['missing images', 'image,predictions\na.jpg,x1\n', undefined, /2 image\(s\) of the solution have no row: b\.jpg, c\.jpg/],
    ['empty predictions', 'image,predictions\na.jpg,\nb.jpg,x2\nc.jpg,x3\n', 2, /no predictions for a\.jpg/],
    ['more than 5 ids', 'image,predictions\na.jpg,x1 x2 x3 x4 x5 x6\nb.jpg,x2\nc.jpg,x3\n', 2, /6 predictions for a\.jpg: at most 5/],
    ['malformed id', 'image,predictions\na.jpg,x1 x/2\nb.jpg,x2\nc.jpg,x3\n', 2, /malformed id "x\/2"/],
    ['double space', 'image,predictions\na.jpg,x1  x2\nb.jpg,x2\nc.jpg,x3\n', 2, /malformed id ""/],
    ['wrong field count', 'image,predictions\na.jpg,x1,x2\nb.jpg,x2\nc.jpg,x3\n', 2, /expected 2 fields \(image,predictions\) but found 3/],
    ['not a photo name', 'image,predictions\na.txt,x1\na.jpg,x1\nb.jpg,x2\nc.jpg,x3\n', 2, /image "a\.txt": expected a file name/],
    ['unterminated quote', 'image,predictions\na.jpg,"x1\n', 2, /unterminated quoted field/],
  ];
  for (const [name, text, line, message] of cases) {
    it(`rejects: ${name}`, () => {
      const p = problems(text);
      const hit = p.find((x) => message.test(x.message));
      assert.ok(hit, `expected a problem matching ${message}, got ${JSON.stringify(p)}`);
      assert.equal(hit.line, line);
    });
  }

  it('reports every problem at once, each with its line', () => {
    const p = problems('image,predictions\na.jpg,\na.jpg,x1\nz.jpg,x1\n');
    assert.deepEqual(p.map((x) => x.line), [2, 3, 4, undefined]);
  });
});

describe('solution files and scoring', () => {
  const solution = 'image,species,individual_id\na.jpg,bottlenose_dolpin,x1\nb.jpg,beluga,x9\nc.jpg,beluga,new_individual\n';

  it('reads image,individual_id with extra columns, normalising species', () => {
    const s = parseSolution(solution, 'sol.csv');
    assert.deepEqual(s.images, images);
    assert.equal(s.truths.get('c.jpg'), 'new_individual');
    assert.equal(s.species!.get('a.jpg'), 'bottlenose_dolphin');
  });

  it('rejects a solution without individual_id, or with duplicates', () => {
    assert.throws(() => parseSolution('image,species\na.jpg,beluga\n', 'sol.csv'), /sol\.csv: a problem:\n {2}line 1: missing column individual_id/);
    assert.throws(() => parseSolution('image,individual_id\na.jpg,x\na.jpg,y\n', 'sol.csv'), /line 3: duplicate image a\.jpg/);
  });

  it('scores MAP@5 the competition way', () => {
    const s = parseSolution(solution, 'sol.csv');
    const m = scoreSubmission(s, parseSubmission(good, 'sub.csv', s.images));
    // a: x1 at rank 1; b: x9 absent; c: new_individual at rank 1.
    assert.equal(m.map5, 2 / 3);
    assert.equal(m.images, 3);
    assert.deepEqual(m.perSpecies.map((g) => g.group), ['beluga', 'bottlenose_dolphin']);
  });

  it('writeSubmission writes a valid file, and writes nothing when a photo is missing', async () => {
    const dir = await tempDir();
    const out = join(dir, 'submission.csv');
    await writeSubmission(out, images.map((image) => ({ image, predictions: ['x1', 'new_individual'] })), images);
    assert.equal(readFileSync(out, 'utf8').split('\n')[0], 'image,predictions');
    assert.equal(parseSubmission(readFileSync(out, 'utf8'), out, images).size, 3);
    const bad = join(dir, 'bad.csv');
    await assert.rejects(writeSubmission(bad, [{ image: 'a.jpg', predictions: ['x1'] }], images, 'test_images/'), /2 image\(s\) of test_images\/ have no row/);
    assert.equal(existsSync(bad), false);
  });
});
