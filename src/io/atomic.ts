// Atomic file replacement and positioned I/O, shared by the weight and checkpoint writers.
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

// One read()/write() call moves at most ~2 GiB on Linux; big tensors go in pieces.
const CHUNK = 1 << 30;

/**
 * Writes `path` so that readers see either the old file or the complete new one, never a partial
 * one: a crash or a full disk mid-write leaves the previous checkpoint intact. The temp file sits
 * in the same folder because rename is only atomic within one filesystem.
 */
export async function writeFileAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  let renamed = false;
  try {
    await write(fh);
    await fh.sync(); // the data must be on disk before the rename makes it visible
    await fh.close();
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) {
      await fh.close().catch(() => undefined); // already closed when only the rename failed
      await rm(tmp, { force: true });
    }
  }
  await syncDir(dirname(path));
}

// Makes the rename itself durable. Best effort: some platforms cannot open or fsync a folder.
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // the file is complete either way; only durability across a power cut is weaker
  }
}

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
