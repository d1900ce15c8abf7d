import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeFileAtomic } from '../../src/util/fs.js';
import { createLimiter, mapPool } from '../../src/util/pool.js';
import { printable } from '../../src/util/printable.js';
import { Progress, type ProgressStream } from '../../src/util/progress.js';
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
  const sink = (isTTY: boolean): { lines: string[]; stream: ProgressStream } => {
    const lines: string[] = [];
    return { lines, stream: { isTTY, write: (s: string) => lines.push(s) } };
  };

  it('prints a line every logInterval when not a TTY, and one at the end, however many updates', () => {
    const { lines, stream } = sink(false);
    let clock = 0;
    // 24 photos checked 100 ms apart: 2.4 s in all, under the default 10 s, so only the final line.
    const quick = new Progress({ total: 24, label: 'check metadata', stream, now: () => clock });
    for (let i = 0; i < 24; i++) {
      clock += 100;
      quick.tick();
    }
    quick.done();
    assert.deepEqual(lines, ['check metadata 24/24 100% 10.0/s 2.4s\n']);
    // 1000 updates 50 ms apart (50 s) with a 10 s interval: a line at 10, 20, 30, 40 s and the last.
    lines.length = 0;
    clock = 0;
    const slow = new Progress({ total: 1000, label: 'work', stream, now: () => clock });
    for (let i = 0; i < 1000; i++) {
      clock += 50;
      slow.tick();
    }
    slow.done();
    slow.done();
    assert.deepEqual(lines, [
      'work 200/1000 20% 20.0/s ETA 40s\n',
      'work 400/1000 40% 20.0/s ETA 30s\n',
      'work 600/1000 60% 20.0/s ETA 20s\n',
      'work 800/1000 80% 20.0/s ETA 10s\n',
      'work 1000/1000 100% 20.0/s 50s\n',
    ]);
    // done() before the end prints where it stopped; a shorter interval gives more lines.
    lines.length = 0;
    clock = 0;
    const cut = new Progress({ total: 10, label: 'cut', stream, now: () => clock, logInterval: 1000 });
    for (let i = 0; i < 5; i++) {
      clock += 600;
      cut.tick();
    }
    cut.done();
    assert.deepEqual(lines.map((l) => l.split(' ')[1]), ['2/10', '4/10', '5/10']);
    assert.throws(() => new Progress({ total: 1, logInterval: -1 }), /Expected number >= 0 for logInterval but received -1/);
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

describe('printable', () => {
  it('shows control characters and bidi overrides as escapes, and cuts long values with their length', () => {
    assert.equal(printable('\u001b[31mred.jpg'), '\\x1b[31mred.jpg');
    assert.equal(printable('a\nb\r\tc\u0000\u007f\u009b'), 'a\\nb\\r\\tc\\x00\\x7f\\x9b');
    assert.equal(printable('evil\u202egpj.exe'), 'evil\\u202egpj.exe');
    assert.equal(printable('baleine_à_bosse.jpg'), 'baleine_à_bosse.jpg');
    const long = 'q'.repeat(52428800);
    assert.equal(printable(long), `${'q'.repeat(40)}… (52428800 characters)`);
    assert.equal(printable('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(printable('\u001b'.repeat(300), { max: 10, keep: 2 }), '\\x1b\\x1b… (300 characters)');
  });
});
