// Positioned I/O for large files (safetensors): reads and writes at given byte offsets (past 4 GiB),
// in pieces of at most 1 GiB. Atomic file writes (temporary file, then rename) are in util/fs.ts.
import type { FileHandle } from 'node:fs/promises';

// One read()/write() call moves at most ~2 GiB on Linux; big tensors go in pieces.
const CHUNK = 1 << 30;

/** Writes all of `bytes` at `position` (a plain number: exact up to 2^53, so files may exceed 4 GiB). Returns the next position. */
export async function writeAt(fh: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  for (let done = 0; done < bytes.byteLength; ) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(bytes.byteLength - done, CHUNK), position + done);
    done += bytesWritten;
  }
  return position + bytes.byteLength;
}

/**
 * Reads exactly `length` bytes at `position` with positioned reads, so only the needed byte range
 * of a large file is ever in memory. Returns null when the file ends first.
 */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array | null> {
  // allocUnsafeSlow: unpooled (offset 0, owned) and not zero-filled, since every byte is overwritten.
  const out = Buffer.allocUnsafeSlow(length);
  for (let done = 0; done < length; ) {
    const { bytesRead } = await fh.read(out, done, Math.min(length - done, CHUNK), position + done);
    if (bytesRead === 0) return null;
    done += bytesRead;
  }
  return out;
}
