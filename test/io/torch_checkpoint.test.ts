import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../../src/torch/index.js';
import { commonKeyPrefix, loadTorchCheckpoint, stripKeyPrefix, WRAPPER_PREFIXES } from '../../src/io/torch_checkpoint.js';

// The fixtures come from tools/make_torch_fixtures.py (torch.save of PyTorch 1.13), committed so
// these tests need no Python.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/io -> repo root
const fixture = (name: string): string => join(repoRoot, 'test/fixtures/torch', name);
/** The command the malicious fixtures would run. */
const PWNED = '/tmp/finprint-torch-checkpoint-pwned';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finprint-torch-ckpt-'));
  await rm(PWNED, { force: true });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A tensor's values as JSON would hold them: floats widened to float32, int64 as numbers, bools as booleans. */
function values(t: Tensor): (number | boolean)[] {
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const f = t.to('float32');
    try {
      return Array.from(f.data() as Float32Array);
    } finally {
      f.dispose();
    }
  }
  const d = t.data();
  if (d instanceof BigInt64Array) return Array.from(d, Number);
  if (t.dtype === 'bool') return Array.from(d as Uint8Array, (b) => b !== 0);
  return Array.from(d as Float32Array);
}

function disposeAll(sd: Map<string, Tensor>): void {
  for (const t of sd.values()) t.dispose();
}

/** CRC-32 as zip computes it (written out: node:zlib's crc32 needs Node 20.15). */
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip archive of stored entries, for hand-made checkpoints (the layout torch.save writes, without its alignment padding). */
function zipStored(entries: [string, Uint8Array | string][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const data = Buffer.from(content);
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Pickle bytes written as a string: one char per byte. */
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const str = (s: string): Buffer => {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes.length);
  return Buffer.concat([b('X'), len, bytes]);
};

/** A checkpoint whose data.pkl is `pickle`, with one float32 storage '0' of 4 elements. */
async function handMade(name: string, pickle: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, zipStored([['archive/data.pkl', pickle], ['archive/data/0', new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)], ['archive/version', '3\n']]));
  return path;
}

// { 'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 4), 0, (2, 2), (2, 1), False, OrderedDict()) }
const TENSOR = Buffer.concat([
  b('ctorch._utils\n_rebuild_tensor_v2\n('),
  Buffer.concat([b('('), str('storage'), b('ctorch\nFloatStorage\n'), str('0'), str('cpu'), b('K\x04tQ')]),
  b('K\x00K\x02K\x02\x86K\x02K\x01\x86\x89ccollections\nOrderedDict\n)RtR'),
]);
const stateDictPickle = (value: Buffer = TENSOR): Buffer => Buffer.concat([b('\x80\x02}'), str('w'), value, b('s.')]);

describe('loadTorchCheckpoint', () => {
  test('reads what torch.save wrote: float32, float16, bfloat16, int64, bool, a Parameter, strided views, in order', async () => {
    const expected = JSON.parse(await readFile(fixture('state_dict.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; values: (number | boolean)[] }>;
    const { stateDict, container } = await loadTorchCheckpoint(fixture('state_dict.bin'));
    try {
      assert.equal(container, '');
      assert.deepEqual([...stateDict.keys()], Object.keys(expected));
      for (const [name, want] of Object.entries(expected)) {
        const t = stateDict.get(name)!;
        assert.deepEqual({ name, dtype: t.dtype, shape: t.shape }, { name, dtype: want.dtype, shape: want.shape });
        assert.deepEqual(values(t), want.values, name);
      }
      // The fixture covers the interesting cases: a transposed view and a slice at a storage offset.
      assert.deepEqual(stateDict.get('transposed')!.shape, [3, 4]);
      assert.deepEqual(stateDict.get('sliced')!.shape, [2, 3]);
    } finally {
      disposeAll(stateDict);
    }
  });

  test('an archive with deflate-compressed entries reads the same', async () => {
    const a = await loadTorchCheckpoint(fixture('state_dict.bin'));
    const b = await loadTorchCheckpoint(fixture('deflated.bin'));
    try {
      assert.deepEqual([...b.stateDict.keys()], [...a.stateDict.keys()]);
      for (const [k, t] of a.stateDict) assert.deepEqual(values(b.stateDict.get(k)!), values(t), k);
    } finally {
      disposeAll(a.stateDict);
      disposeAll(b.stateDict);
    }
  });

  test("a training checkpoint's state dict is taken from under 'state_dict'", async () => {
    const { stateDict, container } = await loadTorchCheckpoint(fixture('nested.bin'));
    try {
      assert.equal(container, 'state_dict');
      assert.deepEqual([...stateDict.keys()], ['module.a', 'module.b']);
      assert.deepEqual(values(stateDict.get('module.a')!), [0, 1, 2, 3]);
      assert.equal(stateDict.get('module.b')!.dtype, 'float16');
      const stripped = stripKeyPrefix(stateDict);
      assert.equal(stripped.prefix, 'module.');
      assert.deepEqual([...stripped.stateDict.keys()], ['a', 'b']);
      assert.equal(stripped.stateDict.get('a'), stateDict.get('module.a'), 'the same tensors, not copies');
    } finally {
      disposeAll(stateDict);
    }
  });

  test('a malicious global is refused by name, naming the file, and nothing is run', async () => {
    for (const [file, global] of [['evil_global.bin', 'os.system'], ['evil_stack.bin', 'builtins.eval']] as const) {
      await assert.rejects(loadTorchCheckpoint(fixture(file)), (err: Error) => {
        assert.ok(err.message.startsWith(`torch checkpoint ${fixture(file)}: `), err.message);
        assert.match(err.message, new RegExp(`refused the global '${global.replace('.', '\\.')}'`));
        assert.match(err.message, /Nothing in it was run/);
        return true;
      });
    }
    assert.ok(!existsSync(PWNED), 'the command in the pickle did not run');

    // Other names, and allowed-looking modules with other names, are refused the same way.
    const refuse = async (name: string, pickle: Buffer, pattern: RegExp): Promise<void> => {
      await assert.rejects(loadTorchCheckpoint(await handMade(name, pickle)), pattern);
    };
    await refuse('builtin.bin', stateDictPickle(b(`c__builtin__\neval\n(${str(`open('${PWNED}', 'w')`).toString('latin1')}tR`)), /refused the global '__builtin__\.eval'/);
    await refuse('torch-load.bin', stateDictPickle(b('ctorch\nload\n)R')), /refused the global 'torch\.load'/);
    await refuse('subclass.bin', stateDictPickle(b('ccollections\ndefaultdict\n)R')), /refused the global 'collections\.defaultdict'/);
    assert.ok(!existsSync(PWNED));
  });

  test('hand-made pickles: the restricted opcodes and shapes', async () => {
    const ok = await loadTorchCheckpoint(await handMade('ok.bin', stateDictPickle()));
    try {
      assert.deepEqual(ok.stateDict.get('w')!.shape, [2, 2]);
      assert.deepEqual(values(ok.stateDict.get('w')!), [1, 2, 3, 4]);
    } finally {
      disposeAll(ok.stateDict);
    }
    // A storage used past its end, an opcode torch.save never emits for a state dict, a value that is no tensor.
    const tooBig = b(TENSOR.toString('latin1').replace('K\x02K\x02\x86K\x02K\x01\x86', 'K\x03K\x02\x86K\x02K\x01\x86'));
    await assert.rejects(loadTorchCheckpoint(await handMade('too-big.bin', stateDictPickle(tooBig))), /tensor "w" reaches element 6 of its storage data\/0, which holds 4: the file is damaged/);
    await assert.rejects(loadTorchCheckpoint(await handMade('inst.bin', b('\x80\x02(ios\nsystem\n.'))), /unsupported pickle opcode 0x69 \(INST\)/);
    await assert.rejects(loadTorchCheckpoint(await handMade('int.bin', stateDictPickle(b('K\x07')))), /not a state dict \(a dict of tensors\), nor holds one under 'state_dict', 'model', 'model_state_dict' \(found w: an int\)/);
    await assert.rejects(loadTorchCheckpoint(await handMade('list.bin', b('\x80\x02].'))), /the checkpoint holds a list, not a state dict/);
    await assert.rejects(loadTorchCheckpoint(await handMade('cut.bin', b('\x80\x02}X\x10\x00\x00\x00ab'))), /data\.pkl: the pickle ends in the middle of an opcode/);
  });

  test('a truncated or damaged archive is a clear error naming the file', async () => {
    const whole = await readFile(fixture('state_dict.bin'));
    const cut = join(dir, 'cut.bin');
    await writeFile(cut, whole.subarray(0, whole.length - 300));
    await assert.rejects(loadTorchCheckpoint(cut), (err: Error) => {
      assert.equal(err.message, `torch checkpoint ${cut}: the zip archive has no end-of-central-directory record: the file is truncated (an interrupted download or copy?) or damaged`);
      return true;
    });
    await writeFile(cut, whole.subarray(0, 1000));
    await assert.rejects(loadTorchCheckpoint(cut), /cut\.bin: the zip archive has no end-of-central-directory record/);

    // One flipped byte in the first storage's data: the CRC catches it.
    const damaged = Buffer.from(whole);
    const at = damaged.indexOf(b('state_dict/data/0')) + 'state_dict/data/0'.length;
    const dataStart = at + damaged.readUInt16LE(at - 'state_dict/data/0'.length - 2); // past the local header's extra field
    damaged[dataStart] ^= 0xff;
    const bad = join(dir, 'damaged.bin');
    await writeFile(bad, damaged);
    await assert.rejects(loadTorchCheckpoint(bad), new RegExp(`torch checkpoint ${bad}: zip entry state_dict/data/0 fails its CRC-32 check`));

    const text = join(dir, 'page.bin');
    await writeFile(text, '<html>rate limited</html>');
    await assert.rejects(loadTorchCheckpoint(text), new RegExp(`torch checkpoint ${text}: not a PyTorch checkpoint: not a zip archive`));
    const legacy = join(dir, 'legacy.pt');
    await writeFile(legacy, b('\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.'));
    await assert.rejects(loadTorchCheckpoint(legacy), /legacy PyTorch format .* not supported/);
    await assert.rejects(loadTorchCheckpoint(join(dir, 'nowhere.bin')), /ENOENT/);
    await assert.rejects(loadTorchCheckpoint(''), /for path/);
  });

  test('a big-endian checkpoint is refused', async () => {
    const path = join(dir, 'big.bin');
    await writeFile(path, zipStored([['archive/data.pkl', stateDictPickle()], ['archive/data/0', new Uint8Array(16)], ['archive/byteorder', 'big']]));
    await assert.rejects(loadTorchCheckpoint(path), /the data is big-endian; only little-endian checkpoints are supported/);
    const noPkl = join(dir, 'nopkl.bin');
    await writeFile(noPkl, zipStored([['archive/version', '3\n']]));
    await assert.rejects(loadTorchCheckpoint(noPkl), /not a PyTorch checkpoint: the zip archive has no <root>\/data\.pkl/);
  });
});

describe('key prefixes', () => {
  const miewid = ['backbone.conv_stem.weight', 'backbone.bn1.weight', 'pooling.p', 'bn.weight'];
  const roots = ['backbone', 'pooling', 'bn'];

  test('a wrapper prefix is stripped, repeatedly; keys that differ at the top are left alone', () => {
    assert.equal(commonKeyPrefix(miewid.map((k) => `model.${k}`)), 'model.');
    assert.equal(commonKeyPrefix(miewid.map((k) => `module.model.${k}`)), 'module.model.');
    assert.equal(commonKeyPrefix(miewid), '');
    assert.equal(commonKeyPrefix(['model.a', 'other.b']), '');
    assert.equal(commonKeyPrefix(['model', 'model.b']), '', 'a key equal to the prefix cannot lose it');
    assert.equal(commonKeyPrefix([]), '');
    assert.equal(commonKeyPrefix(['encoder.a', 'encoder.b']), '', 'without roots only known wrappers go');
    assert.ok(WRAPPER_PREFIXES.includes('module') && WRAPPER_PREFIXES.includes('miewid'));
  });

  test("with the model's roots, any prefix above them goes, and none of the roots", () => {
    assert.equal(commonKeyPrefix(miewid.map((k) => `encoder.${k}`), roots), 'encoder.');
    assert.equal(commonKeyPrefix(miewid.map((k) => `miewid.${k}`), roots), 'miewid.');
    assert.equal(commonKeyPrefix(['backbone.a', 'backbone.b'], roots), '', 'a backbone-only checkpoint keeps backbone.');
    assert.throws(() => commonKeyPrefix(miewid, ['backbone.x']), /for roots/);
    const sd = new Map(miewid.map((k, i) => [`model.${k}`, i]));
    const r = stripKeyPrefix(sd, roots);
    assert.equal(r.prefix, 'model.');
    assert.deepEqual([...r.stateDict], miewid.map((k, i) => [k, i]));
    const same = stripKeyPrefix(new Map(miewid.map((k) => [k, 0])), roots);
    assert.equal(same.prefix, '');
    assert.throws(() => stripKeyPrefix({} as Map<string, number>), /for stateDict/);
  });
});
