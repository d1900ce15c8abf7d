// What predict, evaluate and identify cache about a run (its gallery, its stored threshold) lives in
// the run folder. A run folder that cannot be written (read-only, another user's, a read-only
// mount) still gets them cached: in a folder under FINPRINT_CACHE keyed by the run folder's
// absolute path. Readers look in both places and take whichever matches.
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { cacheRoot } from '../util/fs.js';

/** The fallback folder of a run: FINPRINT_CACHE/runs/<folder name>-<hash of its absolute path>. */
export function runCacheDir(runDir: string): string {
  const abs = resolve(runDir);
  const key = createHash('sha256').update(abs).digest('hex').slice(0, 16);
  return join(cacheRoot(), 'runs', `${basename(abs).replace(/[^\w.-]/g, '_')}-${key}`);
}

/** Where a cached file of the run may be, the run folder first. */
export function runCacheCandidates(runDir: string, name: string): string[] {
  return [join(runDir, name), join(runCacheDir(runDir), name)];
}

/** The system error code (EACCES, EROFS, EISDIR...) of a failed write, also when wrapped as its cause. */
function fsCode(err: unknown): string | undefined {
  for (let e = err as (Error & { code?: unknown }) | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

/**
 * Writes a cached file of the run with `write` into the run folder or, when the folder cannot be
 * written there, into the fallback folder, saying so on stderr in one line. Returns where it went.
 */
export async function writeRunCache(runDir: string, name: string, label: string, write: (path: string) => Promise<void>): Promise<string> {
  const [primary, fallback] = runCacheCandidates(runDir, name) as [string, string];
  try {
    await write(primary);
    return primary;
  } catch (err) {
    const code = fsCode(err);
    if (code === undefined) throw err;
    try {
      await write(fallback);
    } catch (err2) {
      throw new Error(`${label}: cannot write ${primary} (${(err as Error).message}) nor ${fallback} (${(err2 as Error).message})`);
    }
    process.stderr.write(`${label}: cannot write ${primary} (${code}); cached in ${fallback} instead\n`);
    return fallback;
  }
}
