import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import {
  loadSafetensors,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensorsHeader,
  saveSafetensors,
  serializeSafetensors,
  dtypeFromSafetensors,
  type SafetensorsDType,
} from '../../src/io/safetensors.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/io -> repo root
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finprint-safetensors-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (t: Tensor): Buffer => {
  const d = t.data();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
};

/** The header as the file states it, parsed independently of the code under test. */
async function rawHeader(path: string): Promise<{ json: Record<string, any>; dataStart: number }> {
  const fh = await open(path, 'r');
  try {
    const len = Buffer.alloc(8);
    await fh.read(len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    const json = Buffer.alloc(n);
    await fh.read(json, 0, n, 8);
    return { json: JSON.parse(json.toString('utf8')), dataStart: 8 + n };
  } finally {
    await fh.close();
  }
}

/** One tensor of every dtype, with edge values, plus a 0-d scalar and empty tensors. */
function everyDtype(): Record<string, Tensor> {
  return {
    f32: torch.tensor(Float32Array.of(1.5, -0, Infinity, NaN, -3.25e-38, 65504), [2, 3]),
    f64: torch.tensor(Float64Array.of(Math.PI, -1e300, 5e-324), [3]),
    f16: torch.tensor(Uint16Array.of(0x3c00, 0x7c00, 0x8001, 0x7bff), [2, 2], { dtype: 'float16' }),
    bf16: torch.tensor(Uint16Array.of(0x3f80, 0xff80, 0x0001), [3, 1], { dtype: 'bfloat16' }),
    i64: torch.tensor(BigInt64Array.of(2n ** 62n, -1n, 0n, -(2n ** 63n)), [4]),
    i32: torch.tensor(Int32Array.of(2 ** 31 - 1, -(2 ** 31), 7), [1, 3]),
    i16: torch.tensor(Int16Array.of(32767, -32768), [2]),
    i8: torch.tensor(Int8Array.of(127, -128, 0, -1), [2, 1, 2]),
    u8: torch.tensor(Uint8Array.from({ length: 256 }, (_, i) => i), [16, 16]),
    bool: torch.tensor(Uint8Array.of(1, 0, 0, 1, 1), [5], { dtype: 'bool' }),
    scalar: torch.tensor(Float32Array.of(3.5), []),
    empty: torch.tensor(new Float32Array(0), [0, 4]),
    'empty.i64': torch.tensor(new BigInt64Array(0), [3, 0]),
  };
}

function assertSame(got: Map<string, Tensor>, want: Record<string, Tensor>): void {
  assert.deepEqual([...got.keys()].sort(), Object.keys(want).sort());
  for (const [name, t] of Object.entries(want)) {
    const g = got.get(name)!;
    assert.equal(g.dtype, t.dtype, name);
    assert.deepEqual(g.shape, t.shape, name);
    assert.ok(bytes(g).equals(bytes(t)), `${name}: bytes differ`);
  }
}

describe('round trip', () => {
  test('every dtype, 0-d and empty tensors, metadata and byte-exact values survive save and load', async () => {
    const tensors = everyDtype();
    const metadata = { format: 'pt', note: 'ünïcödé ✓ "quoted"' }; // multi-byte UTF-8 tests the padding arithmetic
    const path = join(dir, 'every.safetensors');
    await saveSafetensors(path, tensors, metadata);
    assertSame(await loadSafetensors(path), tensors);
    const header = await readSafetensorsHeader(path);
    assert.deepEqual(header.metadata, metadata);
    assert.equal(header.dataStart % 8, 0, 'header padded to 8 bytes');
    assert.deepEqual(header.tensors.get('scalar'), { dtype: 'F32', shape: [], offsets: header.tensors.get('scalar')!.offsets });
    assert.deepEqual(header.tensors.get('empty')!.shape, [0, 4]);
  });

  test('a Map saves like a Record, and without metadata the header has none', async () => {
    const tensors = everyDtype();
    const path = join(dir, 'map.safetensors');
    await saveSafetensors(path, new Map(Object.entries(tensors)));
    assertSame(await loadSafetensors(path), tensors);
    assert.equal('__metadata__' in (await rawHeader(path)).json, false);
    assert.deepEqual((await readSafetensorsHeader(path)).metadata, {});
  });

  test('the in-memory variant writes the same bytes as the file writer and reads them back', async () => {
    const tensors = everyDtype();
    const path = join(dir, 'mem.safetensors');
    await saveSafetensors(path, tensors, { a: 'b' });
    const mem = serializeSafetensors(tensors, { a: 'b' });
    assert.ok(Buffer.from(mem).equals(await readFile(path)));
    assertSame(parseSafetensors(mem), tensors);
    assert.deepEqual(parseSafetensorsHeader(mem).metadata, { a: 'b' });
  });

  test('bytes match the reference writer exactly (its own test case: {"test": int32 zeros [2, 2]})', () => {
    const out = Buffer.from(serializeSafetensors({ test: torch.zeros([2, 2], { dtype: 'int32' }) }));
    const json = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    '; // 60 bytes + 4 spaces
    const want = Buffer.concat([Buffer.from([64, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(json), Buffer.alloc(16)]);
    assert.ok(out.equals(want), out.toString('latin1'));
  });

  test('layout follows the reference: widest dtype first, then by name, each tensor aligned; __metadata__ first', async () => {
    const path = join(dir, 'order.safetensors');
    await saveSafetensors(
      path,
      {
        b: torch.ones([3]),
        c: torch.ones([3], { dtype: 'uint8' }),
        a: torch.ones([3]),
        d: torch.ones([1], { dtype: 'int64' }),
        e: torch.ones([1], { dtype: 'float16' }),
      },
      { k: 'v' },
    );
    const { json, dataStart } = await rawHeader(path);
    assert.deepEqual(Object.keys(json), ['__metadata__', 'd', 'a', 'b', 'e', 'c']);
    assert.deepEqual(
      Object.keys(json).slice(1).map((k) => json[k].data_offsets),
      [[0, 8], [8, 20], [20, 32], [32, 34], [34, 37]],
    );
    assert.equal(dataStart % 8, 0);
    // Loading returns header order (= data order for files we write).
    assert.deepEqual([...(await loadSafetensors(path)).keys()], ['d', 'a', 'b', 'e', 'c']);
  });
});

describe('loading options', () => {
  test('names selects tensors (in header order); a missing name is a clear error', async () => {
    const path = join(dir, 'names.safetensors');
    await saveSafetensors(path, everyDtype());
    const got = await loadSafetensors(path, { names: ['u8', 'i64'] });
    assert.deepEqual([...got.keys()], ['i64', 'u8']);
    await assert.rejects(loadSafetensors(path, { names: ['u8', 'nope'] }), (e: Error) => {
      assert.match(e.message, /no tensor named "nope"/);
      assert.ok(e.message.includes(path));
      return true;
    });
  });

  test('dtype converts floating tensors only; integer and bool tensors keep their dtype', async () => {
    const path = join(dir, 'convert.safetensors');
    await saveSafetensors(path, {
      w: torch.tensor([1.5, -2, 0.25], [3], { dtype: 'float16' }),
      v: torch.tensor([1.5, -2], [2], { dtype: 'bfloat16' }),
      n: torch.tensor(BigInt64Array.of(7n), [1]),
      m: torch.tensor(Uint8Array.of(1), [1], { dtype: 'bool' }),
    });
    const got = await loadSafetensors(path, { dtype: 'float32' });
    assert.equal(got.get('w')!.dtype, 'float32');
    assert.deepEqual(got.get('w')!.toArray(), [1.5, -2, 0.25]);
    assert.deepEqual(got.get('v')!.toArray(), [1.5, -2]);
    assert.equal(got.get('n')!.dtype, 'int64');
    assert.equal(got.get('m')!.dtype, 'bool');
    await assert.rejects(loadSafetensors(path, { dtype: 'int32' }), /Expected a floating dtype \(float32, float64, float16, bfloat16\) for dtype but received "int32"/);
  });
});

describe('atomic save', () => {
  test('overwrites an existing file and leaves no temp files', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'w.safetensors');
    await saveSafetensors(path, { x: torch.ones([2]) });
    await saveSafetensors(path, { y: torch.zeros([3]) });
    assert.deepEqual([...(await loadSafetensors(path)).keys()], ['y']);
    assert.deepEqual(await readdir(sub), ['w.safetensors']);
  });

  test('a failure mid-write keeps the old file and removes the temp file', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const path = join(sub, 'w.safetensors');
    await saveSafetensors(path, { x: torch.ones([2]) });
    const before = await readFile(path);
    const doomed = torch.ones([4]);
    const saving = saveSafetensors(path, { a: torch.ones([2]), b: doomed });
    doomed.dispose(); // the header is planned synchronously; the tensor data is read after the temp file opens
    await assert.rejects(saving, /safetensors .*w\.safetensors: tensor "b": .*disposed/);
    assert.ok((await readFile(path)).equals(before));
    assert.deepEqual(await readdir(sub), ['w.safetensors']);
  });

  test('bad input is refused before any file is created', async () => {
    const path = join(dir, 'never.safetensors');
    await assert.rejects(saveSafetensors(path, { a: [1, 2] as unknown as Tensor }), /"a" is not a Tensor/);
    await assert.rejects(saveSafetensors(path, { __metadata__: torch.ones([1]) }), /reserves it/);
    await assert.rejects(saveSafetensors(path, { a: torch.ones([1]) }, { k: 3 as unknown as string }), /__metadata__ must map strings to strings/);
    assert.equal(existsSync(path), false);
  });
});

describe('malformed files give errors naming the file and the problem', () => {
  const f32 = (shape: number[], offsets: number[]) => ({ dtype: 'F32', shape, data_offsets: offsets });
  /** A safetensors file from a header (object or raw JSON text) and a data section. */
  function build(header: unknown, data: number): Buffer {
    const json = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, Buffer.alloc(data)]);
  }
  const cases: [string, () => Buffer, RegExp][] = [
    ['file shorter than 8 bytes', () => Buffer.from([1, 2, 3, 4, 5]), /5 bytes, shorter than the 8-byte header length/],
    ['header length beyond file size', () => Buffer.concat([Buffer.from([0xe8, 3, 0, 0, 0, 0, 0, 0]), Buffer.alloc(10)]), /header length \(1000 bytes\) is beyond the file size \(18 bytes\)/],
    ['huge header length (u64 above 2^53)', () => Buffer.concat([Buffer.alloc(8, 0xff), Buffer.alloc(10)]), /header length \(18446744073709551615 bytes\) is beyond the file size/],
    ['invalid JSON', () => build('{"a": {"dtype": "F32",', 0), /header is not valid UTF-8 JSON/],
    ['invalid UTF-8', () => build(Buffer.from([0x7b, 0xff, 0x7d]), 0), /header is not valid UTF-8 JSON/],
    ['header not an object', () => build('[1, 2]', 0), /header must be a JSON object, got \[1,2\]/],
    ['unknown dtype', () => build({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1), /tensor "a": unknown dtype "Q4" \(supported: F64, F32/],
    ['entry not an object', () => build({ a: 5 }, 0), /tensor "a": expected \{dtype, shape, data_offsets\}, got 5/],
    ['negative shape', () => build({ a: f32([-1, 2], [0, 8]) }, 8), /tensor "a": shape must be an array of non-negative integers/],
    ['shape/offset size mismatch', () => build({ a: f32([2, 2], [0, 12]) }, 16), /tensor "a": shape \[2, 2\] of F32 needs 16 bytes but data_offsets \[0, 12\] span 12/],
    ['offsets begin after end', () => build({ a: f32([1], [8, 4]) }, 8), /tensor "a": data_offsets must be \[begin, end\] with 0 <= begin <= end, got \[8,4\]/],
    ['offsets out of range', () => build({ a: f32([2], [0, 8]), b: f32([2], [100, 108]) }, 16), /tensor "b" data_offsets \[100, 108\] reach past the data section \(16 bytes\)/],
    ['overlapping offsets', () => build({ a: f32([4], [0, 16]), b: f32([4], [8, 24]) }, 24), /tensors "a" \[0, 16\] and "b" \[8, 24\] overlap/],
    ['truncated data section', () => build({ a: f32([2], [0, 8]), b: f32([4], [8, 24]) }, 21), /tensor "b" data_offsets \[8, 24\] reach past the data section \(21 bytes\): the file is truncated/],
    ['metadata not strings', () => build({ __metadata__: { epoch: 3 } }, 0), /__metadata__ must map strings to strings/],
  ];
  for (const [what, make, pattern] of cases) {
    test(what, async () => {
      const path = join(dir, `bad-${what.replace(/\W+/g, '-')}.safetensors`);
      await writeFile(path, make());
      const named = (e: Error) => pattern.test(e.message) && e.message.startsWith(`safetensors ${path}: `);
      await assert.rejects(readSafetensorsHeader(path), named);
      await assert.rejects(loadSafetensors(path), named);
      assert.throws(() => parseSafetensors(make()), pattern); // same checks in memory
    });
  }

  test('a truncated real file', async () => {
    const path = join(dir, 'cut.safetensors');
    await saveSafetensors(path, everyDtype());
    await truncate(path, (await stat(path)).size - 3);
    await assert.rejects(loadSafetensors(path), /reach past the data section .*truncated/);
  });

  test('gaps and empty tensors at any offset are accepted (they overlap nothing)', () => {
    const file = build({ a: f32([1], [0, 4]), z: f32([0], [2, 2]), b: f32([1], [8, 12]) }, 16);
    assert.deepEqual([...parseSafetensors(file).keys()], ['a', 'z', 'b']);
  });
});

describe('files beyond 2 GiB', () => {
  test('header offsets above 4 GiB are exact and a tensor there is read with a positioned read', async () => {
    // A sparse 5 GiB file: only the header and the last 16 bytes are written, so it costs no disk
    // space or time, yet offsets and read positions above 2^32 are exercised for real.
    const big = 5 * 2 ** 30;
    const header = {
      pad: { dtype: 'U8', shape: [big], data_offsets: [0, big] },
      tail: { dtype: 'F32', shape: [2, 2], data_offsets: [big, big + 16] },
    };
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const path = join(dir, 'sparse.safetensors');
    const fh = await open(path, 'w');
    try {
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      await fh.write(Buffer.concat([len, Buffer.from(json)]), 0, 8 + json.length, 0);
      const tail = Buffer.from(Float32Array.of(1, 2, 3, 4).buffer);
      await fh.write(tail, 0, 16, 8 + json.length + big);
    } finally {
      await fh.close();
    }
    assert.equal((await stat(path)).size, 8 + json.length + big + 16);
    const h = await readSafetensorsHeader(path);
    assert.deepEqual(h.tensors.get('tail')!.offsets, [big, big + 16]);
    const got = await loadSafetensors(path, { names: ['tail'] });
    assert.deepEqual(got.get('tail')!.shape, [2, 2]);
    assert.deepEqual(got.get('tail')!.toArray(), [1, 2, 3, 4]);
  });
});

describe('timm fixtures', () => {
  // The repo holds copies of the small fixtures; the large ones are read from ../shared where present.
  const local = join(repo, 'test/fixtures/timm');
  const shared = join(repo, '../shared/fixtures/timm');
  const list = (d: string) => readdirSync(d).filter((f) => f.endsWith('.safetensors'));
  const files = list(local).map((f) => join(local, f));
  if (existsSync(shared)) files.push(...list(shared).filter((f) => !existsSync(join(local, f))).map((f) => join(shared, f)));

  test('the small fixtures are in the repo', () => {
    assert.ok(files.length >= 3, files.join(', '));
  });

  for (const path of files) {
    test(relative(repo, path), async () => {
      const { json, dataStart } = await rawHeader(path);
      const names = Object.keys(json).filter((k) => k !== '__metadata__');
      const header = await readSafetensorsHeader(path);
      assert.deepEqual([...header.tensors.keys()], names);
      assert.equal(header.dataStart, dataStart);

      const tensors = await loadSafetensors(path);
      assert.deepEqual([...tensors.keys()], names);
      for (const name of names) {
        const t = tensors.get(name)!;
        assert.deepEqual(t.shape, json[name].shape, name);
        assert.equal(t.dtype, dtypeFromSafetensors(json[name].dtype as SafetensorsDType), name);
        assert.deepEqual(header.tensors.get(name)!.offsets, json[name].data_offsets, name);
      }

      // Values: a few tensors are finite, and one matches the file's bytes read independently.
      const floats = names.filter((n) => torch.isFloating(tensors.get(n)!.dtype));
      for (const name of [floats[0]!, floats[floats.length >> 1]!, '__logits__'].filter((n) => tensors.has(n))) {
        assert.equal(tensors.get(name)!.isfinite().all().item(), 1, `${name} has non-finite values`);
      }
      const first = floats[0]!;
      const [b, e] = json[first].data_offsets as [number, number];
      const fh = await open(path, 'r');
      const raw = Buffer.alloc(e - b);
      await fh.read(raw, 0, e - b, dataStart + b).finally(() => fh.close());
      assert.ok(bytes(tensors.get(first)!).equals(raw), `${first}: bytes differ from the file`);

      // Half-precision checkpoints load as float32 on request; integer buffers stay integers.
      const f32 = await loadSafetensors(path, { dtype: 'float32', names: [first, ...names.filter((n) => json[n].dtype === 'I64').slice(0, 1)] });
      for (const [name, t] of f32) assert.equal(t.dtype, json[name].dtype === 'I64' ? 'int64' : 'float32', name);
      for (const t of [...tensors.values(), ...f32.values()]) t.dispose();
    });
  }
});
