// Atomic file replacement: readers see either the old file or the complete new one, never a
// partial one, so a crash or a full disk mid-write leaves the previous file (a checkpoint, a
// report, a submission) intact.
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temp files being written now, removed if the process is interrupted (removeTempFiles). */
const writing = new Set<string>();
/** Folders already cleared of dead processes' temp files. */
const swept = new Set<string>();
const TEMP = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** Whether a process with this pid is running on this machine (a killed one not yet reaped by its parent is not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, but someone else's
  }
  try {
    // Linux: the state follows the parenthesised command name; Z is a zombie.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): signal 0 is all there is
  }
}

/** Removes the temp files that processes no longer running left in `dir` (killed mid-write). */
async function sweepTempFiles(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = TEMP.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !processAlive(Number(pid))) await rm(join(dir, name), { force: true });
  }
}

/** Removes the temp files of writes in progress (a SIGINT or SIGTERM handler calls this before exiting). */
export function removeTempFiles(): void {
  for (const tmp of writing) rmSync(tmp, { force: true });
  writing.clear();
}

/**
 * Writes `path` through `write`, which fills a temp file in the same folder (rename is only atomic
 * within one filesystem); the data is synced to disk before the rename makes it visible. A failure
 * is reported against `path`, never the temp file.
 */
export async function writeFileAtomicWith(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: FileHandle;
  try {
    await mkdir(dir, { recursive: true });
    await sweepTempFiles(dir);
    fh = await open(tmp, 'wx');
  } catch (err) {
    throw cannotWrite(path, err);
  }
  writing.add(tmp);
  let renamed = false;
  try {
    await write(fh);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    renamed = true;
  } catch (err) {
    throw cannotWrite(path, err);
  } finally {
    writing.delete(tmp);
    if (!renamed) {
      await fh.close().catch(() => undefined); // already closed when only the rename failed
      await rm(tmp, { force: true });
    }
  }
  await syncDir(dir);
}

/** An error naming the file the caller asked for, with the system's reason. */
function cannotWrite(path: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (!e.code) return e;
  const why = { EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EISDIR: 'it is a folder', ENOTDIR: 'a part of the path is not a folder' }[e.code] ?? e.message;
  return new Error(`cannot write ${path}: ${why}`, { cause: err });
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
