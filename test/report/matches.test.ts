import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeMatchesReport } from '../../src/report/matches.js';
import { bandsImage, tempDir } from '../data/helpers.js';

/** The data: URIs of the page's pictures, in order. */
const pictures = (html: string): string[] => [...html.matchAll(/<img src="(data:image\/jpeg;base64,[^"]+)"/g)].map((m) => m[1]!);

/** RGB of pixel (x, y) of a data: URI's picture. */
async function pixel(uri: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(Buffer.from(uri.split(',')[1]!, 'base64')).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + 3)];
}

describe('writeMatchesReport', () => {
  it('shows the photo and each answer\'s gallery photo inline, mirrored where the match was, and names what it cannot show', async () => {
    const dir = await tempDir();
    const photo = join(dir, 'query.png');
    const gallery = join(dir, 'g1.png');
    const broken = join(dir, 'g2.jpg');
    // Red on the left, blue on the right: 400 x 200, shown at 200 x 100.
    writeFileSync(photo, await bandsImage(200, 200, [[255, 0, 0], [0, 0, 255]]));
    writeFileSync(gallery, await bandsImage(200, 200, [[255, 0, 0], [0, 0, 255]]));
    writeFileSync(broken, 'not a jpeg');
    const out = join(dir, 'matches.html');
    await writeMatchesReport(out, 'runs/joint', 0.6, [
      {
        photo,
        species: [{ species: 'beluga', probability: 0.9 }],
        individuals: [
          { id: 'ind-a', similarity: 0.91, gallery_photo: gallery, mirrored: true },
          { id: 'new_individual', similarity: null, gallery_photo: null, mirrored: false },
          { id: 'ind-b', similarity: 0.4, gallery_photo: broken, mirrored: false },
        ],
      },
    ], new Map([['query.png', { x0: 100, y0: 50, x1: 300, y1: 150 }]]));
    const html = readFileSync(out, 'utf8');
    const [query, match, ...rest] = pictures(html);
    assert.equal(rest.length, 0, 'the photo and the one readable gallery photo');
    const [qr, , qb] = await pixel(query!, 0, 50);
    assert.ok(qr! > 200 && qb! < 60, 'the photo as it is: red on the left');
    const [yr, yg, yb] = await pixel(query!, 50, 50);
    assert.ok(yr! > 200 && yg! > 170 && yb! < 90, `the crop box outlined in yellow at half scale: ${[yr, yg, yb]}`);
    const [mr, , mb] = await pixel(match!, 0, 50);
    assert.ok(mr! < 60 && mb! > 200, 'the mirrored match flipped: blue on the left');
    assert.match(html, /1\. ind-a\nscore 0\.910\ng1\.png \(mirrored\)/);
    assert.match(html, /2\. new_individual\nthe answers after it score under 0\.600/);
    assert.match(html, /3\. ind-b\nscore 0\.400\ng2\.jpg\ncannot show g2\.jpg: /);
    assert.match(html, /beluga 90\.0%/);
  });
});
