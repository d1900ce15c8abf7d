import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeFileAtomic } from '../../src/util/fs.js';
import { createLimiter, mapPool } from '../../src/util/pool.js';
import { Progress } from '../../src/util/progress.js';
import { hashSeed, Rng } from '../../src/util/random.js';
import { tempDir } from './helpers.js';

describe('Rng', () => {
  it('replays the same sequence for the same seed and differs for another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 20 }, () => a.next());
    assert.deepEqual(Array.from({ length: 20 }, () => b.next()), xs);
    assert.notDeepEqual(Array.from({ length: 20 }, () => c.next()), xs);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });

  it('draws ints in [lo, hi), shuffles to a permutation, picks from the array', () => {
    const r = new Rng(1);
    const ints = Array.from({ length: 2000 }, () => r.int(3, 7));
    assert.deepEqual([...new Set(ints)].sort(), [3, 4, 5, 6]);
    const perm = r.shuffle([...Array(50).keys()]);
    assert.deepEqual([...perm].sort((x, y) => x - y), [...Array(50).keys()]);
    assert.notDeepEqual(perm, [...Array(50).keys()]);
    assert.ok(['a', 'b'].includes(r.choice(['a', 'b'])));
    assert.throws(() => r.int(5, 5), /int range/);
  });

  it('gives normal deviates with the asked mean and spread', () => {
    const r = new Rng(9);
    const xs = Array.from({ length: 20000 }, () => r.normal(3, 2));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    assert.ok(Math.abs(mean - 3) < 0.05, `mean ${mean}`);
    assert.ok(Math.abs(sd - 2) < 0.05, `sd ${sd}`);
  });

  it('derives named streams from parts', () => {
    assert.equal(Rng.from(1, 'photo', 3).next(), Rng.from(1, 'photo', 3).next());
    assert.notEqual(hashSeed(1, 'photo', 3), hashSeed(1, 'photo', 4));
    assert.notEqual(hashSeed('ab', 'c'), hashSeed('a', 'bc'));
    assert.throws(() => new Rng(1.5), /Expected integer for seed/);
  });
});

describe('writeFileAtomic', () => {
  it('writes the content, creating folders, and leaves no temp file behind', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a', 'b.txt');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    assert.equal(await readFile(path, 'utf8'), 'two');
    assert.deepEqual(await readdir(join(dir, 'a')), ['b.txt']);
  });
});

describe('createLimiter', () => {
  it('never runs more than the limit at once and keeps result order', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapPool([...Array(20).keys()], 3, async (i) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1 + (i % 3)));
      active--;
      return i * 2;
    });
    assert.equal(peak, 3);
    assert.deepEqual(out, [...Array(20).keys()].map((i) => i * 2));
    assert.throws(() => createLimiter(0), /concurrency/);
  });
});

describe('Progress', () => {
  const sink = (isTTY: boolean): { lines: string[]; stream: NodeJS.WriteStream } => {
    const lines: string[] = [];
    return { lines, stream: { isTTY, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream };
  };

  it('prints about one line per 10% when not a TTY, with count and rate', () => {
    const { lines, stream } = sink(false);
    const p = new Progress({ total: 1000, label: 'work', stream });
    for (let i = 0; i < 1000; i++) p.tick();
    p.done();
    assert.equal(lines.length, 10);
    assert.match(lines[9]!, /^work 1000\/1000 100% [\d.]+\/s/);
  });

  it('redraws one line on a TTY and prints nothing when quiet', () => {
    const tty = sink(true);
    const p = new Progress({ total: 3, stream: tty.stream });
    p.tick();
    p.tick(2);
    p.done();
    assert.ok(tty.lines.every((l) => l.startsWith('\r')));
    assert.match(tty.lines.at(-1)!, /\[#+\] 3\/3 100%/);
    assert.ok(tty.lines.at(-1)!.endsWith('\n'));
    const quiet = sink(false);
    const q = new Progress({ total: 5, quiet: true, stream: quiet.stream });
    q.tick(5);
    q.done();
    assert.equal(quiet.lines.length, 0);
  });
});
