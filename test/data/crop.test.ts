import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { countCrops, cropWindow, overhang } from '../../src/data/crop.js';
import { decodeResized, resolveResize, type RawImage } from '../../src/data/image.js';
import { ImagePipeline } from '../../src/data/pipeline.js';
import { tempDir } from './helpers.js';

type Rgb = [number, number, number];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const pixel = (img: RawImage, x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
const near = (a: number[], b: readonly number[], tol = 8): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

/** A PNG painted by a function of the pixel position. */
async function paint(width: number, height: number, colour: (x: number, y: number) => Rgb): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(colour(x, y), (y * width + x) * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('crop window', () => {
  const square = { margin: 0, aspect: 1 };

  it('adds the margin on each side, as a share of the box', () => {
    assert.deepEqual(cropWindow({ x0: 30, y0: 20, x1: 70, y1: 60 }, { width: 100, height: 80 }, { margin: 0.1, aspect: 1 }), { left: 26, top: 16, width: 48, height: 48 });
  });

  it("grows the shorter side around the box centre to the output's shape", () => {
    assert.deepEqual(cropWindow({ x0: 20, y0: 30, x1: 80, y1: 50 }, { width: 100, height: 100 }, square), { left: 20, top: 10, width: 60, height: 60 });
    assert.deepEqual(cropWindow({ x0: 40, y0: 40, x1: 60, y1: 60 }, { width: 100, height: 100 }, { margin: 0, aspect: 2 }), { left: 30, top: 40, width: 40, height: 20 });
  });

  it('shifts the window inside the photo when it fits (a box touching a corner)', () => {
    const win = cropWindow({ x0: 0, y0: 0, x1: 20, y1: 10 }, { width: 100, height: 100 }, square);
    assert.deepEqual(win, { left: 0, top: 0, width: 20, height: 20 });
    assert.deepEqual(overhang(win, { width: 100, height: 100 }), { left: 0, top: 0, right: 0, bottom: 0 });
    assert.deepEqual(cropWindow({ x0: 80, y0: 40, x1: 100, y1: 60 }, { width: 100, height: 100 }, { margin: 0.5, aspect: 1 }), { left: 60, top: 30, width: 40, height: 40 });
  });

  it('overhangs only where the window is longer than the photo, split around the box', () => {
    const photo = { width: 100, height: 40 };
    const centred = cropWindow({ x0: 10, y0: 5, x1: 90, y1: 35 }, photo, square);
    assert.deepEqual(centred, { left: 10, top: -20, width: 80, height: 80 });
    assert.deepEqual(overhang(centred, photo), { left: 0, top: 20, right: 0, bottom: 20 });
    // A box at the top edge: the window still covers the whole height and stays centred on the box.
    const high = cropWindow({ x0: 10, y0: 0, x1: 90, y1: 10 }, photo, square);
    assert.deepEqual(overhang(high, photo), { left: 0, top: 35, right: 0, bottom: 5 });
  });

  it('clips a box to the photo first, and rejects one that misses it', () => {
    assert.deepEqual(cropWindow({ x0: 90, y0: 0, x1: 130, y1: 10 }, { width: 100, height: 100 }, square), { left: 90, top: 0, width: 10, height: 10 });
    assert.throws(() => cropWindow({ x0: 120, y0: 0, x1: 130, y1: 10 }, { width: 100, height: 100 }, square), /Expected a box overlapping the 100x100 photo for box but received \[120, 0, 130, 10\]/);
  });
});

describe('box crops', () => {
  const files: Record<string, string> = {};
  before(async () => {
    const dir = await tempDir();
    const put = async (name: string, data: Buffer): Promise<void> => {
      files[name] = join(dir, name);
      await writeFile(files[name]!, data);
    };
    // 100x40: a red top band, green middle, blue bottom band (10 px each).
    await put('wide.png', await paint(100, 40, (_x, y) => (y < 10 ? RED : y >= 30 ? BLUE : GREEN)));
    // 100x80: a red 20x20 square in the top-left corner on blue.
    await put('corner.png', await paint(100, 80, (x, y) => (x < 20 && y < 20 ? RED : BLUE)));
  });

  it('pads a window that leaves the photo with copies of the edge pixels, not a flat colour', async () => {
    const img = await decodeResized(files['wide.png']!, resolveResize({ size: 40, mode: 'box', margin: 0 }), { x0: 10, y0: 5, x1: 90, y1: 35 });
    assert.equal(img.width, 40);
    // Window 80x80 from y -20 to 60: 10 output rows of padding above and below, copies of rows 0 and 39.
    for (const x of [0, 20, 39]) {
      assert.ok(near(pixel(img, x, 0), RED) && near(pixel(img, x, 9), RED), `top padding at x ${x}: ${pixel(img, x, 0)}`);
      assert.ok(near(pixel(img, x, 39), BLUE) && near(pixel(img, x, 31), BLUE), `bottom padding at x ${x}: ${pixel(img, x, 39)}`);
      // Not stretched: the 20 green rows of the photo become 10 output rows (15..24; 17 and 22 clear of the blended edges).
      assert.ok(near(pixel(img, x, 17), GREEN) && near(pixel(img, x, 22), GREEN));
    }
  });

  it('cuts a box in a corner without padding, the animal undistorted', async () => {
    const img = await decodeResized(files['corner.png']!, resolveResize({ size: 20, mode: 'box', margin: 0.25 }), { x0: 0, y0: 0, x1: 20, y1: 20 });
    // Window 30x30 at (0, 0): the red square fills the top-left 2/3, blue beyond.
    assert.ok(near(pixel(img, 2, 2), RED) && near(pixel(img, 11, 11), RED));
    assert.ok(near(pixel(img, 17, 2), BLUE) && near(pixel(img, 2, 17), BLUE) && near(pixel(img, 18, 18), BLUE));
  });

  it('falls back to the whole photo without a box, and counts the fallbacks', async () => {
    const whole = await decodeResized(files['corner.png']!, resolveResize({ size: 10, mode: 'box' }));
    const squash = await decodeResized(files['corner.png']!, resolveResize({ size: 10, mode: 'squash' }));
    assert.deepEqual(whole.data, squash.data);
    assert.deepEqual(countCrops([{ box: { x0: 0, y0: 0, x1: 1, y1: 1 } }, {}, {}]), { cropped: 1, whole: 2 });
  });

  it('uses the whole photo for a box lying entirely outside it (a box for another photo), in the pipeline too', async () => {
    const spec = resolveResize({ size: 10, mode: 'box' });
    const whole = await decodeResized(files['corner.png']!, spec);
    const away = { x0: 150, y0: 100, x1: 200, y1: 140 };
    assert.deepEqual((await decodeResized(files['corner.png']!, spec, away)).data, whole.data);
    assert.deepEqual((await new ImagePipeline({ size: 10, mode: 'box' }).image({ path: files['corner.png']!, box: away })).data, whole.data);
  });

  it('gives the same pixels for the same photo and box however the pipeline is built (training, prediction)', async () => {
    const sample = { path: files['corner.png']!, box: { x0: 5, y0: 5, x1: 40, y1: 30 } };
    const training = new ImagePipeline({ size: 24, mode: 'box', cacheDir: join(await tempDir(), 'cache') });
    const prediction = new ImagePipeline({ size: 24, mode: 'box' });
    const a = await training.image(sample);
    const cached = await training.image(sample);
    const b = await prediction.image(sample);
    assert.deepEqual(a.data, b.data);
    assert.deepEqual(cached.data, b.data);
    assert.equal(training.cache!.stats.hits, 1);
  });
});
