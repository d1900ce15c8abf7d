// Pretrained weights from the Hugging Face hub (or a mirror) into a local cache:
//   <cache>/<owner>/<repo>/model.safetensors       the checkpoint, only ever complete
//   <cache>/<owner>/<repo>/model.safetensors.json  what was downloaded: url, size, sha256
// Downloads go to <file>.partial and resume from it with an HTTP Range request, so a
// 500 MB checkpoint survives a dropped connection. The size is checked against Content-Length /
// Content-Range, the sha256 against the hub's X-Linked-ETag (or ETag, or a given hash), and the
// header must parse as safetensors, all before the rename that makes the file visible.
// A repository without model.safetensors (404) is tried for pytorch_model.bin, which is read with
// the restricted reader of torch_checkpoint.ts and stored as model.safetensors, so everything
// downstream reads one format; a prefix wrapping all its keys ('module.', 'model.') is stripped.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { checkPositive, invalidParameterError } from '../util/check.js';
import { cacheRoot, writeFileAtomic } from '../util/fs.js';
import { Progress } from '../util/progress.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from './safetensors.js';
import { commonKeyPrefix, loadTorchCheckpoint, stripKeyPrefix } from './torch_checkpoint.js';

export const DEFAULT_HUB_URL = 'https://huggingface.co';
const FILE = 'model.safetensors';
/** What repositories outside timm often publish instead: a torch.save zip. */
const BIN = 'pytorch_model.bin';
const SHA256 = /^[0-9a-f]{64}$/;
const MIB = 1 << 20;

/** The hub base URL: FINPRINT_HUB_URL (a mirror) or huggingface.co. */
export function hubBaseUrl(): string {
  return (process.env.FINPRINT_HUB_URL || DEFAULT_HUB_URL).replace(/\/+$/, '');
}

/** How long a download waits for the hub to answer, or for the next bytes of the file. */
export const DEFAULT_HUB_TIMEOUT_MS = 30_000;

/** The idle timeout: FINPRINT_HUB_TIMEOUT (seconds) or DEFAULT_HUB_TIMEOUT_MS. */
export function hubTimeoutMs(): number {
  const env = process.env.FINPRINT_HUB_TIMEOUT;
  if (env === undefined || env.trim() === '') return DEFAULT_HUB_TIMEOUT_MS;
  const seconds = Number(env);
  if (!Number.isFinite(seconds) || seconds <= 0) throw invalidParameterError('FINPRINT_HUB_TIMEOUT', 'a number of seconds > 0', env);
  return seconds * 1000;
}

/** The weights cache: $FINPRINT_CACHE/weights, by default ~/.cache/finprint/weights. */
export function weightsCacheDir(): string {
  return join(cacheRoot(), 'weights');
}

/** Where a repository's checkpoint lives in the cache. */
export function cachedWeightsPath(repo: string, cacheDir = weightsCacheDir()): string {
  return join(cacheDir, ...checkRepo(repo).split('/'), FILE);
}

export interface PullOptions {
  /** Hub base URL (default: hubBaseUrl()). */
  hubUrl?: string;
  /** Cache folder (default: weightsCacheDir()). */
  cacheDir?: string;
  /** Expected sha256 (hex); otherwise the hub's X-Linked-ETag/ETag when it is a sha256. */
  sha256?: string;
  /** Download again even if the cache has the file. */
  force?: boolean;
  /** Resumed attempts after a dropped connection (default 3). */
  retries?: number;
  /** No progress bar or messages. */
  quiet?: boolean;
  /**
   * Milliseconds to wait for the hub's answer (connecting included), and then for each next
   * piece of the file, before giving up (default: hubTimeoutMs(), 30 s). A stall mid-file is
   * retried like a dropped connection; a hub that never answers is an error naming the URL.
   */
  timeoutMs?: number;
  /** When the hub has no model.safetensors (404), download pytorch_model.bin and convert it (default true). */
  pytorchFallback?: boolean;
  /**
   * The model's top-level state-dict names (e.g. ['backbone', 'pooling', 'bn']): a prefix above
   * them that all keys share is stripped (see commonKeyPrefix), from a downloaded safetensors file
   * too. Without it, only a known wrapper prefix (module., model., ...) is stripped, and only from
   * a converted pytorch_model.bin.
   */
  keyRoots?: readonly string[];
}

export interface PullResult {
  repo: string;
  path: string;
  size: number;
  /** The file's sha256 (undefined only for a cached file without a record). */
  sha256: string | undefined;
  /** What the hash was checked against. */
  verifiedAgainst: 'hub' | 'option' | 'nothing';
  /** The file was already in the cache; nothing was downloaded. */
  cached: boolean;
  /** 'pytorch_model.bin' when the hub had only that and it was converted; undefined for a safetensors download. */
  convertedFrom?: string | undefined;
  /** The key prefix stripped from every key ('model.'), '' when none (or unknown: a file placed by hand). */
  strippedPrefix: string;
}

interface DownloadRecord {
  repo: string;
  /** What was downloaded; `size` and `sha256` describe that file, as the hub served it. */
  url: string;
  size: number;
  sha256: string;
  verifiedAgainst: PullResult['verifiedAgainst'];
  downloadedAt: string;
  /** Set when the download was a pytorch_model.bin converted to the cached model.safetensors. */
  convertedFrom?: string;
  /** Where the state dict was in that file ('state_dict', 'model'), when not the top-level object. */
  container?: string;
  /** The prefix taken off every key before caching ('' when none). */
  strippedPrefix?: string;
}

interface Downloaded {
  size: number;
  sha256: string;
  verifiedAgainst: PullResult['verifiedAgainst'];
}

interface Transfer {
  repo: string;
  expected: string | undefined;
  quiet: boolean;
  timeoutMs: number;
  retries: number;
}

/**
 * Downloads `<hub>/<repo>/resolve/main/model.safetensors` into the cache (resumable, verified);
 * when the hub answers 404 for it, `pytorch_model.bin` instead, converted to model.safetensors.
 */
export async function pullWeights(repo: string, options: PullOptions = {}): Promise<PullResult> {
  checkRepo(repo);
  const expected = options.sha256 === undefined ? undefined : checkSha256(options.sha256);
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) throw invalidParameterError('retries', 'a non-negative integer', retries);
  const timeoutMs = options.timeoutMs === undefined ? hubTimeoutMs() : checkPositive('timeoutMs', options.timeoutMs);
  const roots = options.keyRoots === undefined ? undefined : [...options.keyRoots];
  if (roots !== undefined) commonKeyPrefix([], roots); // validates the names before any download
  const quiet = options.quiet ?? false;
  const path = cachedWeightsPath(repo, options.cacheDir);
  const base = (options.hubUrl ?? hubBaseUrl()).replace(/\/+$/, '');
  const urlOf = (file: string): string => `${base}/${repo}/resolve/main/${file}`;

  if (!options.force && (await sizeOf(path)) !== undefined) return fromCache(repo, path, expected);
  await mkdir(dirname(path), { recursive: true });
  const transfer: Transfer = { repo, expected, quiet, timeoutMs, retries };
  const say = (message: string): void => {
    if (!quiet) process.stderr.write(`${repo}: ${message}\n`);
  };

  let url = urlOf(FILE);
  let partial = `${path}.partial`;
  let done: Downloaded;
  try {
    done = await withRetries(url, partial, transfer);
  } catch (err) {
    if (!(err instanceof NotFound) || options.pytorchFallback === false) throw err;
    await rm(partial, { force: true });
    say(`no ${FILE} on the hub; trying ${BIN}`);
    url = urlOf(BIN);
    partial = join(dirname(path), `${BIN}.partial`);
    try {
      done = await withRetries(url, partial, transfer);
    } catch (err2) {
      if (err2 instanceof NotFound) {
        throw new Error(`GET ${urlOf(FILE)} answered 404 Not Found, and so did ${BIN}: no ${FILE} (nor ${BIN}) there; check the model name and --tag`);
      }
      throw err2;
    }
  }
  const fromBin = url.endsWith(BIN);
  const { container, prefix } = fromBin ? await convertBin(partial, path, url, repo, roots) : await promote(partial, path, url, repo, roots);
  if (prefix) say(`stripped the key prefix '${prefix}' from every key of the checkpoint`);
  if (fromBin) say(`converted ${BIN} to ${FILE}${container ? ` (the state dict under '${container}')` : ''}`);

  const record: DownloadRecord = {
    repo,
    url,
    size: done.size,
    sha256: done.sha256,
    verifiedAgainst: done.verifiedAgainst,
    downloadedAt: new Date().toISOString(),
    ...(fromBin ? { convertedFrom: BIN } : {}),
    ...(container ? { container } : {}),
    strippedPrefix: prefix,
  };
  await writeFileAtomic(`${path}.json`, `${JSON.stringify(record, null, 1)}\n`);
  return {
    repo,
    path,
    size: (await sizeOf(path))!,
    sha256: done.sha256,
    verifiedAgainst: done.verifiedAgainst,
    cached: false,
    convertedFrom: record.convertedFrom,
    strippedPrefix: prefix,
  };
}

/** Downloads `url` into `partial`, resuming after dropped connections; returns once the file is complete and its hash checked. */
async function withRetries(url: string, partial: string, t: Transfer): Promise<Downloaded> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await download(url, partial, t);
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      if (attempt >= t.retries) throw new Error(`${err.message}; run the command again to resume`);
      if (!t.quiet) process.stderr.write(`${err.message}; resuming (retry ${attempt + 1} of ${t.retries})\n`);
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

/** The hub has no such file (404): the caller may try another name. */
class NotFound extends Error {}

/** A download cut short, worth another attempt: the .partial file keeps what arrived, to resume from. */
class Interrupted extends Error {}

/** The reason a request is aborted when the hub goes quiet for too long. */
class IdleTimeout extends Error {}

/**
 * Aborts a request once nothing has happened for `ms`: no answer yet, or no bytes since the last
 * ones. `touch()` restarts the wait, `stop()` ends it (the timer never keeps the process alive).
 */
class Watchdog {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly ms: number) {
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new IdleTimeout(`no data for ${seconds(this.ms)}`)), this.ms);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

const seconds = (ms: number): string => `${Number((ms / 1000).toPrecision(3))} s`;

async function download(url: string, partial: string, t: Transfer): Promise<Downloaded> {
  const watchdog = new Watchdog(t.timeoutMs);
  try {
    return await downloadWatched(url, partial, t, watchdog);
  } finally {
    watchdog.stop();
  }
}

async function downloadWatched(url: string, partial: string, { repo, expected, quiet }: Transfer, watchdog: Watchdog): Promise<Downloaded> {
  const offset = (await sizeOf(partial)) ?? 0;
  // identity: Content-Length and the hash must describe the bytes as stored, not a compressed transfer.
  const { res, hubSha } = await get(url, { 'Accept-Encoding': 'identity', ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) }, watchdog);
  watchdog.touch();
  if (res.status === 416) {
    // The partial file is not a prefix of what the hub serves now (e.g. the repo was updated).
    await res.body?.cancel();
    await rm(partial, { force: true });
    throw new Interrupted(`${url}: the hub refused to resume from byte ${offset}, so the partial download was discarded`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    const file = url.slice(url.lastIndexOf('/') + 1);
    const hint = res.status === 404 ? `: no ${file} there; check the model name and --tag` : res.status === 401 || res.status === 403 ? ': the repository needs credentials' : '';
    const message = `GET ${url} answered ${res.status} ${res.statusText}${hint}`;
    throw res.status === 404 ? new NotFound(message) : new Error(message);
  }
  const { start, total } = span(res, url);
  if (start !== 0 && start !== offset) throw new Error(`GET ${url}: asked to resume at byte ${offset} but the server sent from byte ${start}`);

  const hash = createHash('sha256');
  if (start > 0) await hashFile(partial, hash);
  const progress = new Progress({ total: total === undefined ? 0 : Math.ceil(total / MIB), label: `${repo} MiB`, quiet });
  // Counted in started MiB (ceil), so the bar reaches the total with the last byte.
  progress.tick(Math.ceil(start / MIB));
  const fh = await open(partial, start > 0 ? 'a' : 'w');
  let received = start;
  watchdog.touch(); // hashing a long partial file is no silence from the hub
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      watchdog.touch();
      await fh.write(chunk);
      hash.update(chunk);
      progress.tick(Math.ceil((received + chunk.byteLength) / MIB) - Math.ceil(received / MIB));
      received += chunk.byteLength;
    }
    await fh.sync();
  } catch (err) {
    const why = watchdog.fired ? `the hub sent nothing for ${seconds(watchdog.ms)}; FINPRINT_HUB_TIMEOUT or --timeout to wait longer` : describeError(err);
    throw new Interrupted(`download of ${url} interrupted at ${received} of ${total ?? '?'} bytes (${why}), kept in ${partial}`);
  } finally {
    await fh.close();
    progress.done();
  }
  if (total !== undefined && received !== total) {
    if (received < total) throw new Interrupted(`download of ${url} ended at ${received} of ${total} bytes, kept in ${partial}`);
    await rm(partial, { force: true });
    throw new Error(`download of ${url}: received ${received} bytes but the server announced ${total}; the download was discarded`);
  }

  const sha256 = hash.digest('hex');
  const want = expected ?? hubSha;
  if (want !== undefined && sha256 !== want) {
    await rm(partial, { force: true });
    throw new Error(`download of ${url}: sha256 mismatch: expected ${want} (${expected ? 'given' : "from the hub's ETag"}), got ${sha256}; the download was discarded`);
  }
  return { size: received, sha256, verifiedAgainst: expected ? 'option' : hubSha ? 'hub' : 'nothing' };
}

/**
 * Renames a complete, verified model.safetensors download into place once its header parses;
 * discards it otherwise. With key roots, a file whose keys all carry a wrapper prefix is rewritten
 * without it instead. Returns the prefix stripped.
 */
async function promote(partial: string, path: string, url: string, repo: string, roots: string[] | undefined): Promise<{ container: string; prefix: string }> {
  let header: Awaited<ReturnType<typeof readSafetensorsHeader>>;
  try {
    header = await readSafetensorsHeader(partial);
  } catch (err) {
    await rm(partial, { force: true });
    throw new Error(`download of ${url}: not a safetensors file (${(err as Error).message}); the download was discarded`);
  }
  const prefix = roots === undefined ? '' : commonKeyPrefix(header.tensors.keys(), roots);
  if (prefix === '') {
    await rename(partial, path);
    return { container: '', prefix };
  }
  const tensors = await loadSafetensors(partial);
  try {
    await saveSafetensors(path, stripKeyPrefix(tensors, roots).stateDict, { ...header.metadata, finprint_source: `${repo}/${FILE}`, finprint_stripped_prefix: prefix });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  await rm(partial, { force: true });
  return { container: '', prefix };
}

/**
 * Reads a complete, verified pytorch_model.bin download with the restricted reader and writes it
 * as model.safetensors (atomically), keys stripped of a wrapping prefix. A file the reader refuses
 * (a global outside its allow-list, damage) is discarded with the reason.
 */
async function convertBin(partial: string, path: string, url: string, repo: string, roots: string[] | undefined): Promise<{ container: string; prefix: string }> {
  let checkpoint: Awaited<ReturnType<typeof loadTorchCheckpoint>>;
  try {
    checkpoint = await loadTorchCheckpoint(partial);
  } catch (err) {
    await rm(partial, { force: true });
    throw new Error(`download of ${url}: cannot convert it to safetensors: ${(err as Error).message}; the download was discarded`);
  }
  const { stateDict, container } = checkpoint;
  try {
    const { stateDict: stripped, prefix } = stripKeyPrefix(stateDict, roots);
    const metadata: Record<string, string> = { format: 'pt', finprint_source: `${repo}/${BIN}`, finprint_stripped_prefix: prefix };
    if (container) metadata.finprint_container = container;
    await saveSafetensors(path, stripped, metadata);
    await rm(partial, { force: true });
    return { container, prefix };
  } finally {
    for (const t of stateDict.values()) t.dispose();
  }
}

/**
 * GET with redirects followed by hand (the hub sends /resolve/ to a CDN), so that the hub's own
 * X-Linked-ETag on the redirect, the file's sha256, is seen; the Range header goes along each hop.
 */
async function get(url: string, headers: Record<string, string>, watchdog: Watchdog): Promise<{ res: Response; hubSha: string | undefined }> {
  let current = url;
  let hubSha: string | undefined;
  for (let hop = 0; hop <= 10; hop++) {
    let res: Response;
    try {
      res = await fetch(current, { headers, redirect: 'manual', signal: watchdog.signal });
    } catch (err) {
      if (watchdog.fired) {
        throw new Error(
          `the weights hub did not answer: GET ${current} got no response within ${seconds(watchdog.ms)}. ` +
            'Check the network, wait longer with FINPRINT_HUB_TIMEOUT=SECONDS (or --timeout), set FINPRINT_HUB_URL to a reachable mirror, or skip the download and pass --weights FILE with a local .safetensors checkpoint.',
        );
      }
      throw new Error(
        `cannot reach the weights hub: GET ${current} failed (${describeError(err)}). ` +
          'Check the network, set FINPRINT_HUB_URL to a reachable mirror, or skip the download and pass --weights FILE with a local .safetensors checkpoint.',
      );
    }
    hubSha ??= shaFromHeaders(res.headers);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { res, hubSha };
    await res.body?.cancel();
    watchdog.touch();
    current = new URL(location, current).href;
  }
  throw new Error(`GET ${url}: more than 10 redirects`);
}

/** The hub puts the LFS file's sha256 in X-Linked-ETag (and often ETag); a git sha1 or anything else is not one. */
function shaFromHeaders(h: Headers): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = h.get(name)?.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
    if (v && SHA256.test(v)) return v;
  }
  return undefined;
}

/** Where the body starts in the file and the file's full size, from Content-Range or Content-Length. */
function span(res: Response, url: string): { start: number; total: number | undefined } {
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m) throw new Error(`GET ${url}: a partial response without a valid Content-Range (${res.headers.get('content-range')})`);
    return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
  }
  const length = res.headers.get('content-length');
  return { start: 0, total: length === null ? undefined : Number(length) };
}

async function fromCache(repo: string, path: string, expected: string | undefined): Promise<PullResult> {
  const record = await readRecord(path);
  let sha256 = record?.sha256;
  if (expected !== undefined) {
    sha256 ??= await hashFile(path, createHash('sha256')).then((h) => h.digest('hex'));
    if (sha256 !== expected) throw new Error(`${path}: cached file has sha256 ${sha256}, not the expected ${expected}; pull again with --force`);
  }
  return {
    repo,
    path,
    size: (await sizeOf(path))!,
    sha256,
    verifiedAgainst: expected ? 'option' : (record?.verifiedAgainst ?? 'nothing'),
    cached: true,
    convertedFrom: record?.convertedFrom,
    strippedPrefix: record?.strippedPrefix ?? '',
  };
}

export interface CachedWeights {
  repo: string;
  path: string;
  size: number;
  /** From the download record; undefined for a file placed by hand. */
  sha256: string | undefined;
}

/** The checkpoints in the cache, by repository name. */
export async function listCachedWeights(cacheDir = weightsCacheDir()): Promise<CachedWeights[]> {
  let entries: string[];
  try {
    entries = await readdir(cacheDir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: CachedWeights[] = [];
  for (const entry of entries.filter((e) => e === FILE || e.endsWith(`${sep}${FILE}`)).sort()) {
    const path = join(cacheDir, entry);
    const repo = relative(cacheDir, dirname(path)).split(sep).join('/');
    out.push({ repo, path, size: (await sizeOf(path)) ?? 0, sha256: (await readRecord(path))?.sha256 });
  }
  return out;
}

async function readRecord(path: string): Promise<DownloadRecord | undefined> {
  try {
    return JSON.parse(await readFile(`${path}.json`, 'utf8')) as DownloadRecord;
  } catch {
    return undefined; // no record (a file copied in by hand) or an unreadable one: nothing known
  }
}

async function hashFile(path: string, hash: Hash): Promise<Hash> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function describeError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message}: ${cause}` : String(e.message ?? err);
}

/** owner/name, each part letters, digits, '-', '_' or '.', and not a path trick like '..'. */
function checkRepo(repo: string): string {
  if (typeof repo !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(repo) || repo.split('/').some((p) => /^\.+$/.test(p))) {
    throw invalidParameterError('repo', 'a hub repository "owner/name" such as "timm/vgg16.tv_in1k"', repo);
  }
  return repo;
}

function checkSha256(value: string): string {
  const v = typeof value === 'string' ? value.toLowerCase() : value;
  if (typeof v !== 'string' || !SHA256.test(v)) throw invalidParameterError('sha256', 'a sha256 of 64 hex digits', value);
  return v;
}
