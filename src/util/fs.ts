// Atomic file replacement: readers see either the old file or the complete new one, never a
// partial one, so a crash or a full disk mid-write leaves the previous file (a checkpoint, a
// report, a submission) intact.
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `path` through `write`, which fills a temp file in the same folder (rename is only atomic
 * within one filesystem); the data is synced to disk before the rename makes it visible.
 */
export async function writeFileAtomicWith(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  let renamed = false;
  try {
    await write(fh);
    await fh.sync();
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

/** writeFileAtomicWith for data already in memory. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeFileAtomicWith(path, (fh) => fh.writeFile(data));
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

/** Where finprint caches between runs (resized photos, downloaded weights): FINPRINT_CACHE, else ~/.cache/finprint. */
export function cacheRoot(): string {
  return process.env.FINPRINT_CACHE || join(homedir(), '.cache', 'finprint');
}
