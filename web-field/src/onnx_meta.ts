// The metadata of an ONNX model (ModelProto.metadata_props, field 14: { key = 1, value = 2 }),
// read from the file's protobuf without a protobuf library: the top-level fields are walked and
// every other one (the graph above all) is skipped by its length.

function varint(b: Uint8Array, p: { at: number }): number {
  let v = 0;
  let scale = 1;
  for (;;) {
    if (p.at >= b.length) throw new RangeError('truncated varint');
    const x = b[p.at++]!;
    v += (x & 0x7f) * scale;
    if (x < 0x80) return v;
    scale *= 128;
  }
}

function skip(b: Uint8Array, p: { at: number }, wire: number): void {
  if (wire === 0) varint(b, p);
  else if (wire === 1) p.at += 8;
  else if (wire === 2) {
    const len = varint(b, p); // read before p.at is: `p.at += varint(...)` would add to the old offset
    p.at += len;
  }
  else if (wire === 5) p.at += 4;
  else throw new RangeError(`unsupported wire type ${wire}`);
}

/** The model's metadata_props as a plain object (empty when the bytes do not parse). */
export function onnxMetadata(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const text = new TextDecoder();
  try {
    const p = { at: 0 };
    while (p.at < bytes.length) {
      const key = varint(bytes, p);
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (field === 14 && wire === 2) {
        const len = varint(bytes, p);
        const end = p.at + len;
        let k = '';
        let v = '';
        while (p.at < end) {
          const kk = varint(bytes, p);
          if ((kk & 7) === 2 && (kk >> 3 === 1 || kk >> 3 === 2)) {
            const n = varint(bytes, p);
            const s = text.decode(bytes.subarray(p.at, p.at + n));
            p.at += n;
            if (kk >> 3 === 1) k = s;
            else v = s;
          } else skip(bytes, p, kk & 7);
        }
        p.at = end;
        if (k) out[k] = v;
      } else skip(bytes, p, wire);
    }
  } catch {
    // A partial read keeps what it found.
  }
  return out;
}
