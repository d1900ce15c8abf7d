import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { augment, resolveAugment } from '../../src/data/augment.js';
import { decodeResized, resolveResize, type RawImage } from '../../src/data/image.js';
import { BatchLoader, readableBatches } from '../../src/data/loader.js';
import { IMAGENET } from '../../src/data/normalize.js';
import { ImagePipeline, type Sample } from '../../src/data/pipeline.js';
import { Rng } from '../../src/util/random.js';
import { bandsImage, solidImage, tempDir } from './helpers.js';

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];

const pixel = (img: RawImage, x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
const near = (a: number[], b: number[], tol = 3): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= tol);
const meanAbsDiff = (a: Buffer, b: Buffer): number => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

let dir: string;
const files: Record<string, string> = {};
before(async () => {
  dir = await tempDir();
  const put = async (name: string, data: Buffer): Promise<void> => {
    files[name] = join(dir, name);
    await writeFile(files[name]!, data);
  };
  await put('solid.png', await solidImage(50, 30, [255, 0, 128]));
  await put('red.png', await solidImage(100, 50, RED));
  await put('bands.png', await bandsImage(100, 100, [BLUE, GREEN, RED]));
  await put('halves.png', await bandsImage(20, 20, [RED, BLUE]));
  await put('rotated.jpg', await sharp(await bandsImage(20, 20, [RED, BLUE])).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer());
  await put('grey.png', await sharp(Buffer.alloc(30 * 20, 77), { raw: { width: 30, height: 20, channels: 1 } }).png().toBuffer());
  await put('clear.png', await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer());
  const scene = Buffer.alloc(100 * 80 * 3);
  for (let y = 0; y < 80; y++) for (let x = 0; x < 100; x++) scene.set(x >= 30 && x < 70 && y >= 20 && y < 60 ? RED : BLUE, (y * 100 + x) * 3);
  await put('boxed.png', await sharp(scene, { raw: { width: 100, height: 80, channels: 3 } }).png().toBuffer());
  await put('photo.jpg', await sharp(Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 31 + (i % 7) * 40) % 256)), { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toBuffer());
});

describe('normalisation', () => {
  it('turns a solid colour into the expected per-channel value everywhere, NCHW', async () => {
    const p = new ImagePipeline({ size: 16 });
    const b = await p.batch([{ path: files['solid.png']! }]);
    assert.deepEqual(b.shape, [1, 3, 16, 16]);
    assert.equal(b.data.length, 3 * 16 * 16);
    const expected = [255, 0, 128].map((v, c) => (v / 255 - IMAGENET.mean[c]!) / IMAGENET.std[c]!);
    for (let c = 0; c < 3; c++) {
      for (const v of b.data.subarray(c * 256, (c + 1) * 256)) assert.ok(Math.abs(v - expected[c]!) < 1e-6, `channel ${c}: ${v} vs ${expected[c]}`);
    }
  });

  it('uses the configured mean and std, and validates them', async () => {
    const p = new ImagePipeline({ size: 4, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const b = await p.batch([{ path: files['solid.png']! }]);
    assert.ok(Math.abs(b.data[0]! - 1) < 1e-6 && Math.abs(b.data[16]! + 1) < 1e-6);
    assert.throws(() => new ImagePipeline({ size: 4, std: [0.5, 0, 0.5] }), /Expected three positive numbers for std/);
    assert.throws(() => new ImagePipeline({ size: 4, mean: [0.5, 0.5] as never }), /for mean/);
  });

  it('stacks samples with their labels (-1 where missing)', async () => {
    const p = new ImagePipeline({ size: [8, 12] });
    const b = await p.batch([{ path: files['solid.png']!, labels: { species: 3, individual: 7 } }, { path: files['red.png']!, labels: { species: 1 } }]);
    assert.deepEqual(b.shape, [2, 3, 8, 12]);
    assert.deepEqual([...b.labels['species']!], [3, 1]);
    assert.deepEqual([...b.labels['individual']!], [7, -1]);
    assert.deepEqual(b.paths, [files['solid.png'], files['red.png']]);
    // Second sample is red: its first (R) plane is the red value.
    assert.ok(Math.abs(b.data[3 * 96]! - (1 - 0.485) / 0.229) < 1e-6);
  });

  it('fails on a photo it cannot read, or, asked to skip, lists it and leaves zeros in its place', async () => {
    const p = new ImagePipeline({ size: 4 });
    const bad = join(dir, 'garbage.jpg');
    await writeFile(bad, 'not a photo');
    const samples = [{ path: files['red.png']! }, { path: bad }, { path: files['solid.png']! }];
    await assert.rejects(p.batch(samples), /cannot load .*garbage\.jpg/);
    const b = await p.batch(samples, undefined, undefined, true);
    assert.deepEqual(b.unreadable?.map((u) => u.index), [1]);
    assert.match(b.unreadable![0]!.reason, /cannot load .*garbage\.jpg/);
    const plane = 3 * 16;
    assert.ok(b.data.subarray(plane, 2 * plane).every((v) => v === 0), 'zeros for the unreadable photo');
    assert.ok(b.data.subarray(0, plane).some((v) => v !== 0) && b.data.subarray(2 * plane).some((v) => v !== 0), 'the others loaded');
  });
});

describe('resize modes', () => {
  it('letterbox pads with the mean colour, which normalises to ~0', async () => {
    const p = new ImagePipeline({ size: 32, mode: 'letterbox' });
    const img = await p.image({ path: files['red.png']! });
    assert.deepEqual(pixel(img, 16, 2), IMAGENET.mean.map((m) => Math.round(m * 255)));
    assert.ok(near(pixel(img, 16, 16), RED));
    const b = await p.batch([{ path: files['red.png']! }]);
    assert.ok(Math.abs(b.data[2 * 32 + 16]!) < 0.01);
  });

  it('center_crop follows timm: shorter side to size / crop_pct, then the centre', async () => {
    // 300x100 in 25 px bands cycling red, green, blue: band k covers x in [25k, 25k + 25).
    const cycle = Array.from({ length: 12 }, (_, k) => [RED, GREEN, BLUE][k % 3]!);
    const file = join(dir, 'cycle.png');
    await writeFile(file, await bandsImage(25, 100, cycle));
    // crop_pct 1: 100 -> 50 px, 150x50, crop x 50..100 = source x 100..200 (bands 4-7).
    const full = await decodeResized(file, resolveResize({ size: 50, mode: 'center_crop', cropPct: 1 }));
    assert.deepEqual([full.width, full.height], [50, 50]);
    assert.ok(near(pixel(full, 2, 25), GREEN) && near(pixel(full, 20, 25), BLUE) && near(pixel(full, 30, 25), RED) && near(pixel(full, 47, 25), GREEN));
    // crop_pct 0.5: floor(50 / 0.5) = 100 px, no scaling, crop x 125..175 (bands 5-6).
    const tight = await decodeResized(file, resolveResize({ size: 50, mode: 'center_crop', cropPct: 0.5 }));
    assert.ok(near(pixel(tight, 2, 25), BLUE) && near(pixel(tight, 47, 25), RED));
  });

  it('box crops to the box plus margin; without a box it squashes the whole photo', async () => {
    const box = { x0: 30, y0: 20, x1: 70, y1: 60 };
    const tight = await decodeResized(files['boxed.png']!, resolveResize({ size: 20, mode: 'box', margin: 0 }), box);
    assert.ok([0, 10, 19].every((v) => near(pixel(tight, v, v), RED) && near(pixel(tight, 19 - v, v), RED)));
    const loose = await decodeResized(files['boxed.png']!, resolveResize({ size: 20, mode: 'box', margin: 0.5 }), box);
    assert.ok(near(pixel(loose, 0, 0), BLUE) && near(pixel(loose, 10, 10), RED));
    const whole = await decodeResized(files['boxed.png']!, resolveResize({ size: 20, mode: 'box' }));
    assert.ok(near(pixel(whole, 0, 0), BLUE));
    const p = new ImagePipeline({ size: 8, mode: 'box' });
    await assert.rejects(p.image({ path: files['boxed.png']!, box: { x0: 5, y0: 5, x1: 2, y1: 9 } }), /Expected x0 < x1 and y0 < y1 for box/);
  });

  it('applies EXIF orientation and always yields RGB', async () => {
    const img = await decodeResized(files['rotated.jpg']!, resolveResize({ size: [40, 20] }));
    assert.ok(near(pixel(img, 10, 5), RED, 12) && near(pixel(img, 10, 35), BLUE, 12), `${pixel(img, 10, 5)} / ${pixel(img, 10, 35)}`);
    const grey = await decodeResized(files['grey.png']!, resolveResize({ size: 8 }));
    assert.equal(grey.data.length, 8 * 8 * 3);
    assert.deepEqual(pixel(grey, 3, 3), [77, 77, 77]);
    const clear = await decodeResized(files['clear.png']!, resolveResize({ size: 8, background: [10, 20, 30] }));
    assert.deepEqual(pixel(clear, 4, 4), [10, 20, 30]);
  });

  it('rejects bad settings, naming the parameter', () => {
    assert.throws(() => new ImagePipeline({ size: 0 }), /Expected an integer 1\.\.8192 or \[height, width\] for size but received 0/);
    assert.throws(() => new ImagePipeline({ size: 8, mode: 'stretch' as never }), /Expected one of squash, letterbox, center_crop, box for mode but received "stretch"/);
    assert.throws(() => new ImagePipeline({ size: 8, cropPct: 2 }), /for cropPct/);
    assert.throws(() => new ImagePipeline({ size: 8, augment: { hflip: 2 } }), /Expected number between 0 and 1 for hflip/);
    assert.throws(() => new ImagePipeline({ size: 8, augment: { affine: { scale: [2, 1] } } }), /for affine\.scale/);
  });
});

describe('augment', () => {
  let base: RawImage;
  let halves: RawImage;
  before(async () => {
    base = await decodeResized(files['photo.jpg']!, resolveResize({ size: 32 }));
    halves = await decodeResized(files['halves.png']!, resolveResize({ size: 32 }));
  });
  const all = resolveAugment({ hflip: 0.5, randomResizedCrop: { scale: [0.5, 1] }, affine: { degrees: 15, translate: 0.1, scale: [0.9, 1.1] }, colorJitter: { brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.05 }, grayscale: 0.2, blur: { p: 0.3 } });

  it('is reproducible from the Rng and keeps the size', async () => {
    const a = await augment(base, all, new Rng(1));
    const b = await augment(base, all, new Rng(1));
    assert.deepEqual(a.data, b.data);
    assert.equal(a.width, 32);
    assert.equal(a.height, 32);
    const outs = await Promise.all([2, 3, 4].map((s) => augment(base, all, new Rng(s))));
    assert.ok(outs.every((o) => !o.data.equals(a.data)));
  });

  it('flips horizontally', async () => {
    const out = await augment(halves, resolveAugment({ hflip: 1 }), new Rng(0));
    assert.ok(near(pixel(out, 2, 16), BLUE) && near(pixel(out, 29, 16), RED));
  });

  it('zooms out about the centre and fills the uncovered border', async () => {
    const red = await decodeResized(files['red.png']!, resolveResize({ size: 32 }));
    const out = await augment(red, resolveAugment({ affine: { scale: [0.5, 0.5] }, background: [0, 255, 0] }), new Rng(0));
    assert.ok(near(pixel(out, 1, 1), GREEN) && near(pixel(out, 30, 30), GREEN) && near(pixel(out, 16, 16), RED));
    const same = await augment(base, resolveAugment({ affine: {} }), new Rng(0));
    assert.ok(meanAbsDiff(same.data, base.data) < 4, `identity affine moved the image: ${meanAbsDiff(same.data, base.data)}`);
  });

  it('turns grey and blurs', async () => {
    const grey = await augment(base, resolveAugment({ grayscale: 1 }), new Rng(0));
    for (let i = 0; i < grey.data.length; i += 3) assert.ok(grey.data[i] === grey.data[i + 1] && grey.data[i] === grey.data[i + 2]);
    const soft = await augment(halves, resolveAugment({ blur: { p: 1, sigma: [2, 2] } }), new Rng(0));
    const edge = pixel(soft, 16, 16);
    assert.ok(edge[0]! > 40 && edge[0]! < 215 && edge[2]! > 40 && edge[2]! < 215, `${edge}`);
  });
});

describe('ResizeCache', () => {
  it('decodes once, then hits; a changed file misses', async () => {
    const cacheDir = join(dir, 'cache');
    const p = new ImagePipeline({ size: 24, cacheDir });
    const first = await p.image({ path: files['photo.jpg']! });
    const second = await p.image({ path: files['photo.jpg']! });
    assert.deepEqual(p.cache!.stats, { hits: 1, misses: 1 });
    assert.deepEqual(second.data, first.data);
    const uncached = await new ImagePipeline({ size: 24 }).image({ path: files['photo.jpg']! });
    assert.deepEqual(second.data, uncached.data);
    // A new pipeline over the same folder reuses the cache; a different size is another entry.
    const again = new ImagePipeline({ size: 24, cacheDir });
    await again.image({ path: files['photo.jpg']! });
    assert.deepEqual(again.cache!.stats, { hits: 1, misses: 0 });
    const other = new ImagePipeline({ size: 20, cacheDir });
    await other.image({ path: files['photo.jpg']! });
    assert.deepEqual(other.cache!.stats, { hits: 0, misses: 1 });
    await utimes(files['photo.jpg']!, new Date(), new Date(Date.now() + 5000));
    await p.image({ path: files['photo.jpg']! });
    assert.deepEqual(p.cache!.stats, { hits: 1, misses: 2 });
  });
});

describe('BatchLoader', () => {
  const samples = (): Sample[] => Array.from({ length: 10 }, (_, i) => ({ path: files[['solid.png', 'red.png', 'photo.jpg', 'bands.png', 'halves.png'][i % 5]!]!, labels: { idx: i } }));

  it('readableBatches takes unreadable photos out of their batches, reports each once, and refuses a batch with none readable', async () => {
    const p = new ImagePipeline({ size: 8 });
    // A JPEG cut in half: its header reads, its pixels do not.
    const whole = await sharp(files['photo.jpg']!).jpeg().toBuffer();
    const cut = join(dir, 'cut.jpg');
    await writeFile(cut, whole.subarray(0, whole.length >> 1));
    const list: Sample[] = [{ path: files['red.png']!, labels: { idx: 0 } }, { path: cut, labels: { idx: 1 } }, { path: files['solid.png']!, labels: { idx: 2 } }];
    const l = new BatchLoader(p, list, { batchSize: 2, skipUnreadable: true });
    const messages: string[] = [];
    const reported = new Map<string, string>();
    for (let epoch = 0; epoch < 2; epoch++) {
      const got: { idx: number[]; rows: number }[] = [];
      for await (const b of readableBatches(l.epoch(epoch), (m) => messages.push(m), reported)) got.push({ idx: [...b.labels['idx']!], rows: b.shape[0] });
      assert.deepEqual(got, [{ idx: [0], rows: 1 }, { idx: [2], rows: 1 }]);
    }
    assert.equal(messages.length, 1, 'reported once across epochs');
    assert.deepEqual([...reported.keys()], [cut]);
    assert.match(messages[0]!, /cannot load .*cut\.jpg.*\(skipped\)/);
    const first = await p.batch([list[0]!], undefined, undefined, true);
    const kept = await readableBatches(new BatchLoader(p, list, { batchSize: 2, skipUnreadable: true }).epoch(0), () => undefined).next();
    assert.deepEqual(kept.value!.data, first.data, 'the readable photo\'s pixels, unchanged');
    const twice = await readableBatches(new BatchLoader(p, list, { batchSize: 2, skipUnreadable: true }).epoch(0), () => undefined, new Map(), 2).next();
    assert.deepEqual([...twice.value!.labels['idx']!], [0, 0], 'a batch left with one photo repeats it to reach minRows');
    const allBad = new BatchLoader(p, [list[1]!], { batchSize: 1, skipUnreadable: true });
    await assert.rejects(readableBatches(allBad.epoch(0), () => undefined).next(), /no photo of a batch can be read \(.*cut\.jpg\)/);
  });

  it('covers every sample once per epoch, reshuffled per epoch and reproducible', async () => {
    const p = new ImagePipeline({ size: 8 });
    const order = async (l: BatchLoader, epoch: number): Promise<number[]> => {
      const out: number[] = [];
      for await (const b of l.epoch(epoch)) out.push(...b.labels['idx']!);
      return out;
    };
    const l = new BatchLoader(p, samples(), { batchSize: 4, shuffle: true, seed: 3 });
    assert.equal(l.length, 3);
    const e0 = await order(l, 0);
    assert.deepEqual([...e0].sort((a, b) => a - b), [...Array(10).keys()]);
    assert.notDeepEqual(await order(l, 1), e0);
    assert.deepEqual(await order(new BatchLoader(p, samples(), { batchSize: 4, shuffle: true, seed: 3 }), 0), e0);
    const dropped = new BatchLoader(p, samples(), { batchSize: 4, dropLast: true });
    assert.equal(dropped.length, 2);
    assert.deepEqual(await order(dropped, 0), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('P x K sampling keeps up to k photos of an individual together, reshuffled per epoch, every photo once', async () => {
    const p = new ImagePipeline({ size: 8 });
    // 10 photos of 3 individuals (4, 3 and 2 photos) and one without an individual (-1).
    const who = [0, 1, 0, 2, 1, 0, -1, 2, 1, 0];
    const list: Sample[] = samples().map((s, i) => ({ ...s, labels: { idx: i, individual: who[i]! } }));
    const epochOrder = async (l: BatchLoader, epoch: number): Promise<number[][]> => {
      const out: number[][] = [];
      for await (const b of l.epoch(epoch)) out.push([...b.labels['idx']!]);
      return out;
    };
    const l = new BatchLoader(p, list, { batchSize: 4, shuffle: true, seed: 3, groups: { label: 'individual', k: 2 } });
    const e0 = await epochOrder(l, 0);
    const flat = e0.flat();
    assert.deepEqual([...flat].sort((a, b) => a - b), [...Array(10).keys()], 'every photo once');
    // Runs of one individual are at most 2 long and each individual is cut into ceil(n / 2) runs.
    const runs: number[][] = [];
    for (const i of flat) {
      const last = runs.at(-1);
      if (last && who[last[0]!] === who[i] && who[i]! >= 0 && last.length < 2) last.push(i);
      else runs.push([i]);
    }
    const runsOf = (id: number): number => runs.filter((r) => who[r[0]!] === id).length;
    assert.deepEqual([runsOf(0), runsOf(1), runsOf(2), runsOf(-1)], [2, 2, 1, 1]);
    assert.notDeepEqual(await epochOrder(l, 1), e0, 'reshuffled per epoch');
    assert.deepEqual(await epochOrder(new BatchLoader(p, list, { batchSize: 4, shuffle: true, seed: 3, groups: { label: 'individual', k: 2 } }), 0), e0, 'reproducible: a resumed epoch sees the same batches');
    assert.throws(() => new BatchLoader(p, list, { batchSize: 4, groups: { label: 'individual', k: 2 } }), /a loader with shuffle: true for groups/);
  });

  /** Records which photos were handed to the decoder, by their idx label. */
  class Recording extends ImagePipeline {
    started: number[] = [];
    override async image(s: Sample, rng?: Rng): Promise<RawImage> {
      this.started.push(s.labels!['idx']!);
      return super.image(s, rng);
    }
  }

  it('hands every prepared batch\'s photos to the decoder before the caller takes a batch', async () => {
    // A training step holds the JS thread; only photos already handed over keep decoding during it.
    const p = new Recording({ size: 8 });
    for await (const b of new BatchLoader(p, samples(), { batchSize: 2, prefetch: 2 })) {
      assert.deepEqual([...b.labels['idx']!], [0, 1]);
      assert.deepEqual([...p.started].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5], 'batches 1 and 2 handed over too');
      break;
    }
    // Two at a time, the last prepared batch waits for the JS thread to be free again.
    const limited = new Recording({ size: 8 });
    for await (const b of new BatchLoader(limited, samples(), { batchSize: 2, prefetch: 2, concurrency: 2 })) {
      assert.deepEqual([...b.labels['idx']!], [0, 1]);
      assert.ok(!limited.started.includes(4) && !limited.started.includes(5), `${limited.started}`);
      break;
    }
  });

  it('decodes the next batches while the current one is consumed', async () => {
    for (const prefetch of [0, 2]) {
      const p = new Recording({ size: 8 });
      const l = new BatchLoader(p, samples(), { batchSize: 2, prefetch, concurrency: 2 });
      for await (const b of l) {
        assert.deepEqual([...b.labels['idx']!], [0, 1]);
        // Let queued decodes start; with prefetch, batches 2.. are already under way.
        await new Promise((r) => setTimeout(r, 50));
        const ahead = p.started.filter((i) => i >= 2).length;
        if (prefetch === 0) assert.equal(ahead, 0);
        else assert.ok(ahead >= 2, `prefetch ${prefetch}: ${p.started}`);
        break;
      }
    }
  });

  it('augments reproducibly per (seed, epoch, sample)', async () => {
    const p = new ImagePipeline({ size: 16, augment: { hflip: 0.5, affine: { degrees: 10 }, colorJitter: { brightness: 0.2 } } });
    const run = async (concurrency: number, epoch: number): Promise<Float32Array> => {
      const l = new BatchLoader(p, samples(), { batchSize: 5, augment: true, seed: 11, concurrency });
      const parts: Float32Array[] = [];
      for await (const b of l.epoch(epoch)) parts.push(b.data);
      return Float32Array.from(parts.flatMap((x) => [...x]));
    };
    const a = await run(1, 0);
    assert.deepEqual(await run(4, 0), a);
    assert.notDeepEqual(await run(4, 1), a);
    assert.throws(() => new BatchLoader(new ImagePipeline({ size: 8 }), samples(), { batchSize: 2, augment: true }), /Expected false for a pipeline without augment options for augment but received true/);
  });

  it('fails with the file name when a photo cannot be loaded, and checks its options', async () => {
    const p = new ImagePipeline({ size: 8 });
    const l = new BatchLoader(p, [...samples(), { path: join(dir, 'nope.jpg') }], { batchSize: 4 });
    await assert.rejects(async () => {
      for await (const b of l) void b;
    }, /cannot load .*nope\.jpg/);
    assert.throws(() => new BatchLoader(p, samples(), { batchSize: 0 }), /Expected positive integer for batchSize but received 0/);
  });
});
