import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cachedWeightsPath, listCachedWeights, pullWeights, weightsCacheDir, hubBaseUrl } from '../../src/io/hub.js';
import { loadSafetensors, readSafetensorsHeader, serializeSafetensors } from '../../src/io/safetensors.js';
import { loadTorchCheckpoint } from '../../src/io/torch_checkpoint.js';
import { hubRepo, hubWeights } from '../../src/models/weights.js';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/io -> repo root
let file: Buffer;
let sha: string;
let server: Server;
let base: string;
let cache: string;
/** Every request the hub saw: path and Range header. */
const seen: { path: string; range: string | undefined }[] = [];
/** How many times each path has been served. */
const served = new Map<string, number>();
/** torch.save checkpoints (test/fixtures/torch, from tools/make_torch_fixtures.py): keys under 'model.', and a malicious one. */
let miewidBin: Buffer;
let evilBin: Buffer;
/** A safetensors file whose keys all start with 'module.'. */
let prefixedSt: Buffer;
const MIEWID_ROOTS = ['backbone', 'pooling', 'bn'];
const sha256Of = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

// A hub whose repositories each exercise one behaviour (the repo name says which).
function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '';
  seen.push({ path, range: req.headers.range });
  const n = (served.get(path) ?? 0) + 1;
  served.set(path, n);
  const repo = /^\/timm\/([^/]+)\/resolve\/main\/model\.safetensors$/.exec(path)?.[1];
  if (path === '/cdn/blob') return send(req, res, file, {});
  // Repositories with only pytorch_model.bin: their model.safetensors falls through to a 404 below.
  const bin = /^\/([^/]+\/[^/]+)\/resolve\/main\/pytorch_model\.bin$/.exec(path)?.[1];
  if (bin !== undefined) {
    const body = bin === 'timm/bin-evil' ? evilBin : bin === 'timm/bin-only' || bin === 'conservationxlabs/miewid-msv3' ? miewidBin : undefined;
    if (!body) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    return send(req, res, body, { 'X-Linked-ETag': `"${sha256Of(body)}"` });
  }
  if (repo === 'st-prefixed') return send(req, res, prefixedSt, { 'X-Linked-ETag': `"${sha256Of(prefixedSt)}"` });
  if (!repo || repo === 'missing') {
    res.writeHead(404).end('Entry not found');
    return;
  }
  const headers: Record<string, string> = { 'X-Linked-ETag': `"${sha}"`, ETag: '"0123456789abcdef0123456789abcdef01234567"' };
  switch (repo) {
    case 'ok':
    case 'ok.v1':
      return send(req, res, file, headers);
    case 'redirect':
      res.writeHead(302, { ...headers, Location: '/cdn/blob' }).end();
      return;
    case 'etag-only':
      return send(req, res, file, { ETag: `W/"${sha}"` });
    case 'no-hash':
      return send(req, res, file, {});
    case 'bad-hash':
      return send(req, res, file, { 'X-Linked-ETag': `"${'0'.repeat(64)}"` });
    case 'not-safetensors':
      return send(req, res, Buffer.from('<html>rate limited</html>'), {});
    case 'drop-once':
      // The first response stops mid-body: half the bytes, a pause so they arrive, then a reset.
      if (n === 1) {
        res.writeHead(200, { ...headers, 'Content-Length': String(file.length) });
        res.write(file.subarray(0, file.length >> 1), () => setTimeout(() => res.destroy(), 100));
        return;
      }
      return send(req, res, file, headers);
    case 'no-ranges':
      // Drops once, then ignores Range and sends the whole file again.
      if (n === 1) {
        res.writeHead(200, { ...headers, 'Content-Length': String(file.length) });
        res.write(file.subarray(0, 1000), () => setTimeout(() => res.destroy(), 100));
        return;
      }
      return send({ headers: {} } as IncomingMessage, res, file, headers);
    default:
      res.writeHead(404).end();
  }
}

/** 200 with the whole body, or 206 from the Range start. */
function send(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string>): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  if (start >= body.length && m) {
    res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
    return;
  }
  const part = body.subarray(start);
  res.writeHead(m ? 206 : 200, {
    ...headers,
    'Content-Length': String(part.length),
    ...(m ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
  });
  res.end(part);
}

before(async () => {
  file = await readFile(join(repoRoot, 'test/fixtures/timm/vgg16_tiny.safetensors'));
  sha = createHash('sha256').update(file).digest('hex');
  miewidBin = await readFile(join(repoRoot, 'test/fixtures/torch/miewid_prefixed.bin'));
  evilBin = await readFile(join(repoRoot, 'test/fixtures/torch/evil_global.bin'));
  const a = torch.tensor(new Float32Array([1, 2, 3]));
  const b = torch.tensor(new Float32Array([4, 5]));
  prefixedSt = Buffer.from(serializeSafetensors(new Map([['module.a', a], ['module.b', b]]), { format: 'pt' }));
  a.dispose();
  b.dispose();
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  cache = await mkdtemp(join(tmpdir(), 'finprint-hub-'));
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(cache, { recursive: true, force: true });
});

const pull = (repo: string, options: Parameters<typeof pullWeights>[1] = {}): ReturnType<typeof pullWeights> =>
  pullWeights(`timm/${repo}`, { hubUrl: base, cacheDir: cache, quiet: true, ...options });
const requestsFor = (repo: string): typeof seen => seen.filter((s) => s.path.startsWith(`/timm/${repo}/`));

describe('pullWeights', () => {
  test('downloads, checks the sha256 from X-Linked-ETag, records it, and reuses the cache', async () => {
    const r = await pull('ok');
    assert.equal(r.path, join(cache, 'timm', 'ok', 'model.safetensors'));
    assert.equal(r.path, cachedWeightsPath('timm/ok', cache));
    assert.deepEqual({ size: r.size, sha256: r.sha256, verifiedAgainst: r.verifiedAgainst, cached: r.cached }, { size: file.length, sha256: sha, verifiedAgainst: 'hub', cached: false });
    assert.ok((await readFile(r.path)).equals(file));
    assert.ok(!existsSync(`${r.path}.partial`));
    const record = JSON.parse(await readFile(`${r.path}.json`, 'utf8'));
    assert.equal(record.sha256, sha);
    assert.equal(record.url, `${base}/timm/ok/resolve/main/model.safetensors`);

    const again = await pull('ok');
    assert.equal(again.cached, true);
    assert.equal(again.sha256, sha);
    assert.equal(requestsFor('ok').length, 1, 'a cached file is not downloaded again');
    await assert.rejects(pull('ok', { sha256: 'a'.repeat(64) }), /cached file has sha256 .* pull again with --force/);
    assert.equal((await pull('ok', { force: true })).cached, false);
    assert.equal(requestsFor('ok').length, 2);
  });

  test('follows the redirect to the CDN, keeping the hub hash from the redirect', async () => {
    const r = await pull('redirect');
    assert.equal(r.verifiedAgainst, 'hub');
    assert.equal(r.sha256, sha);
    assert.ok(seen.some((s) => s.path === '/cdn/blob'));
  });

  test('a sha256 in ETag counts; without any hash the file is still size- and format-checked', async () => {
    assert.equal((await pull('etag-only')).verifiedAgainst, 'hub');
    const r = await pull('no-hash');
    assert.equal(r.verifiedAgainst, 'nothing');
    assert.equal(r.sha256, sha, 'the hash is computed and recorded anyway');
    assert.equal((await pull('no-hash', { force: true, sha256: sha.toUpperCase() })).verifiedAgainst, 'option');
  });

  test('resumes an interrupted download with a Range request', async () => {
    await assert.rejects(pull('drop-once', { retries: 0 }), /interrupted at \d+ of \d+ bytes .*run the command again to resume/);
    const partial = `${cachedWeightsPath('timm/drop-once', cache)}.partial`;
    const have = (await stat(partial)).size;
    assert.ok(have > 0 && have < file.length, `partial holds ${have} of ${file.length} bytes`);
    assert.ok(!existsSync(cachedWeightsPath('timm/drop-once', cache)), 'nothing promoted yet');

    const r = await pull('drop-once');
    assert.equal(r.sha256, sha);
    assert.deepEqual(requestsFor('drop-once').map((s) => s.range), [undefined, `bytes=${have}-`]);
    assert.ok((await readFile(r.path)).equals(file));
    assert.ok(!existsSync(partial));
  });

  test('retries by itself after a dropped connection; a server ignoring Range restarts from 0', async () => {
    const r = await pull('no-ranges');
    assert.equal(r.sha256, sha);
    assert.equal(requestsFor('no-ranges').length, 2);
    assert.equal(requestsFor('no-ranges')[1]!.range, 'bytes=1000-');
    assert.ok((await readFile(r.path)).equals(file));
  });

  test('a hash mismatch is rejected and the partial file is not promoted', async () => {
    await assert.rejects(pull('bad-hash'), /sha256 mismatch: expected 0{64} \(from the hub's ETag\), got [0-9a-f]{64}; the download was discarded/);
    await assert.rejects(pull('ok', { force: true, sha256: 'b'.repeat(64), cacheDir: join(cache, 'other') }), /expected b{64} \(given\)/);
    const path = cachedWeightsPath('timm/bad-hash', cache);
    assert.ok(!existsSync(path));
    assert.ok(!existsSync(`${path}.partial`));
  });

  test('a file that is not safetensors is rejected', async () => {
    await assert.rejects(pull('not-safetensors'), /: not a safetensors file .*discarded/);
    assert.ok(!existsSync(cachedWeightsPath('timm/not-safetensors', cache)));
  });

  test('an unreachable hub names the URL, the error, and the ways out', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(pullWeights('timm/ok', { hubUrl: `http://127.0.0.1:${port}`, cacheDir: cache, quiet: true, force: true }), (err: Error) => {
      assert.match(err.message, new RegExp(`cannot reach the weights hub: GET http://127\\.0\\.0\\.1:${port}/timm/ok/resolve/main/model\\.safetensors failed \\(.*ECONNREFUSED\\)`));
      assert.match(err.message, /FINPRINT_HUB_URL/);
      assert.match(err.message, /--weights FILE/);
      return true;
    });
  });

  test('a hub that accepts the connection and never answers times out with an error naming the URL; so does one that stalls mid-file', async () => {
    // Accepts, reads the request, never answers.
    const silent = createServer(() => undefined);
    // Sends the headers and half the file, then nothing more.
    const stalling = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(file.length), 'X-Linked-ETag': `"${sha}"` });
      res.write(file.subarray(0, file.length >> 1));
    });
    const listen = async (s: Server): Promise<string> => {
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
    };
    const [silentUrl, stallingUrl] = [await listen(silent), await listen(stalling)];
    try {
      let started = performance.now();
      await assert.rejects(pullWeights('timm/ok', { hubUrl: silentUrl, cacheDir: cache, quiet: true, force: true, timeoutMs: 300 }), (err: Error) => {
        assert.equal(err.message.split('. ')[0], `the weights hub did not answer: GET ${silentUrl}/timm/ok/resolve/main/model.safetensors got no response within 0.3 s`);
        assert.match(err.message, /FINPRINT_HUB_TIMEOUT=SECONDS \(or --timeout\)/);
        return true;
      });
      const waited = performance.now() - started;
      assert.ok(waited >= 250 && waited < 5000, `gave up after ${waited} ms`);
      // The same wait from FINPRINT_HUB_TIMEOUT (seconds); a value that is no time is refused by name.
      const saved = process.env['FINPRINT_HUB_TIMEOUT'];
      try {
        process.env['FINPRINT_HUB_TIMEOUT'] = '0.2';
        await assert.rejects(pullWeights('timm/ok', { hubUrl: silentUrl, cacheDir: cache, quiet: true, force: true }), /got no response within 0\.2 s/);
        process.env['FINPRINT_HUB_TIMEOUT'] = 'soon';
        await assert.rejects(pullWeights('timm/ok', { hubUrl: silentUrl, cacheDir: cache, quiet: true, force: true }), /Expected a number of seconds > 0 for FINPRINT_HUB_TIMEOUT but received "soon"/);
      } finally {
        if (saved === undefined) delete process.env['FINPRINT_HUB_TIMEOUT'];
        else process.env['FINPRINT_HUB_TIMEOUT'] = saved;
      }
      await assert.rejects(pull('ok', { timeoutMs: 0 }), /for timeoutMs/);
      // A stall mid-file is a dropped connection: what arrived is kept to resume from.
      started = performance.now();
      await assert.rejects(pullWeights('timm/stall', { hubUrl: stallingUrl, cacheDir: cache, quiet: true, retries: 0, timeoutMs: 300 }), (err: Error) => {
        assert.equal(err.message, `download of ${stallingUrl}/timm/stall/resolve/main/model.safetensors interrupted at ${file.length >> 1} of ${file.length} bytes (the hub sent nothing for 0.3 s; FINPRINT_HUB_TIMEOUT or --timeout to wait longer), kept in ${cachedWeightsPath('timm/stall', cache)}.partial; run the command again to resume`);
        return true;
      });
      assert.ok(performance.now() - started < 5000);
      assert.equal((await stat(`${cachedWeightsPath('timm/stall', cache)}.partial`)).size, file.length >> 1);
      assert.ok(!existsSync(cachedWeightsPath('timm/stall', cache)));
    } finally {
      for (const s of [silent, stalling]) s.closeAllConnections();
      await Promise.all([silent, stalling].map((s) => new Promise((r) => s.close(r))));
    }
  });

  test('HTTP errors and bad arguments are explained', async () => {
    await assert.rejects(pull('missing'), (err: Error) => {
      assert.equal(err.message, `GET ${base}/timm/missing/resolve/main/model.safetensors answered 404 Not Found, and so did pytorch_model.bin: no model.safetensors (nor pytorch_model.bin) there; check the model name and --tag`);
      return true;
    });
    assert.deepEqual(requestsFor('missing').map((s) => s.path), ['/timm/missing/resolve/main/model.safetensors', '/timm/missing/resolve/main/pytorch_model.bin']);
    await assert.rejects(pull('missing', { pytorchFallback: false }), /answered 404 Not Found: no model\.safetensors there; check the model name and --tag$/);
    await assert.rejects(pull('ok', { keyRoots: ['backbone.x'] }), /for roots/);
    await assert.rejects(pull('ok', { sha256: 'xyz' }), /for sha256/);
    await assert.rejects(pullWeights('../../etc', { cacheDir: cache }), /for repo/);
    await assert.rejects(pull('ok', { retries: -1 }), /for retries/);
  });
});

/** Runs fn with process.stderr.write captured; returns what was written. */
async function captureStderr(fn: () => Promise<unknown>): Promise<string> {
  const write = process.stderr.write;
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    out += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

const values = (t: Tensor): number[] => Array.from(t.data() as Float32Array | BigInt64Array, Number);

describe('pullWeights: pytorch_model.bin', () => {
  test('a repository with only pytorch_model.bin: downloaded, verified, converted to safetensors with the prefix stripped, said and recorded', async () => {
    let r: Awaited<ReturnType<typeof pullWeights>> | undefined;
    const said = await captureStderr(async () => {
      r = await pull('bin-only', { keyRoots: MIEWID_ROOTS, quiet: false });
    });
    assert.ok(r);
    assert.match(said, /timm\/bin-only: no model\.safetensors on the hub; trying pytorch_model\.bin\n/);
    assert.match(said, /timm\/bin-only: stripped the key prefix 'model\.' from every key of the checkpoint\n/);
    assert.match(said, /timm\/bin-only: converted pytorch_model\.bin to model\.safetensors\n/);
    assert.deepEqual(requestsFor('bin-only').map((s) => s.path), ['/timm/bin-only/resolve/main/model.safetensors', '/timm/bin-only/resolve/main/pytorch_model.bin']);
    assert.equal(r.path, cachedWeightsPath('timm/bin-only', cache));
    assert.deepEqual(
      { sha256: r.sha256, verifiedAgainst: r.verifiedAgainst, cached: r.cached, convertedFrom: r.convertedFrom, strippedPrefix: r.strippedPrefix },
      { sha256: sha256Of(miewidBin), verifiedAgainst: 'hub', cached: false, convertedFrom: 'pytorch_model.bin', strippedPrefix: 'model.' },
    );
    assert.equal(r.size, (await stat(r.path)).size);

    // The cache holds safetensors with the model's own keys and exactly the values torch saved.
    const header = await readSafetensorsHeader(r.path);
    assert.deepEqual(header.metadata, { format: 'pt', finprint_source: 'timm/bin-only/pytorch_model.bin', finprint_stripped_prefix: 'model.' });
    const got = await loadSafetensors(r.path);
    const want = (await loadTorchCheckpoint(join(repoRoot, 'test/fixtures/torch/miewid_prefixed.bin'))).stateDict;
    try {
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].map((k) => k.slice('model.'.length)).sort());
      assert.ok([...got.keys()].every((k) => MIEWID_ROOTS.includes(k.split('.')[0]!)));
      for (const [k, t] of want) {
        const g = got.get(k.slice('model.'.length))!;
        assert.deepEqual({ dtype: g.dtype, shape: g.shape }, { dtype: t.dtype, shape: t.shape }, k);
        assert.deepEqual(values(g), values(t), k);
      }
    } finally {
      for (const t of [...got.values(), ...want.values()]) t.dispose();
    }

    const record = JSON.parse(await readFile(`${r.path}.json`, 'utf8'));
    assert.deepEqual(
      { url: record.url, sha256: record.sha256, size: record.size, convertedFrom: record.convertedFrom, strippedPrefix: record.strippedPrefix },
      { url: `${base}/timm/bin-only/resolve/main/pytorch_model.bin`, sha256: sha256Of(miewidBin), size: miewidBin.length, convertedFrom: 'pytorch_model.bin', strippedPrefix: 'model.' },
    );
    const dir = dirname(r.path);
    assert.ok(!existsSync(join(dir, 'pytorch_model.bin')) && !existsSync(join(dir, 'pytorch_model.bin.partial')) && !existsSync(`${r.path}.partial`), 'only the converted file stays');

    // Cached: nothing downloaded, the record still tells what was stripped; the hub's sha256 of the .bin is what --sha256 checks.
    const again = await pull('bin-only', { keyRoots: MIEWID_ROOTS, sha256: sha256Of(miewidBin) });
    assert.deepEqual({ cached: again.cached, convertedFrom: again.convertedFrom, strippedPrefix: again.strippedPrefix }, { cached: true, convertedFrom: 'pytorch_model.bin', strippedPrefix: 'model.' });
    assert.equal(requestsFor('bin-only').length, 2);

    // Without the model's roots, a known wrapper ('model.') still goes.
    const plain = await pull('bin-only', { cacheDir: join(cache, 'plain') });
    assert.equal(plain.strippedPrefix, 'model.');
    assert.ok((await readSafetensorsHeader(plain.path)).tensors.has('pooling.p'));
  });

  test('a pytorch_model.bin with a malicious global is refused and discarded; nothing is run or cached', async () => {
    await assert.rejects(pull('bin-evil'), (err: Error) => {
      assert.match(err.message, new RegExp(`^download of ${base}/timm/bin-evil/resolve/main/pytorch_model\\.bin: cannot convert it to safetensors: torch checkpoint .*pytorch_model\\.bin\\.partial: evil_global/data\\.pkl: refused the global 'os\\.system'`));
      assert.match(err.message, /; the download was discarded$/);
      return true;
    });
    const path = cachedWeightsPath('timm/bin-evil', cache);
    assert.ok(!existsSync(path) && !existsSync(`${path}.json`) && !existsSync(join(dirname(path), 'pytorch_model.bin.partial')));
    assert.ok(!existsSync('/tmp/finprint-torch-checkpoint-pwned'));
  });

  test("a safetensors download whose keys carry a wrapper prefix is rewritten without it only when the model's roots are given", async () => {
    const kept = await pull('st-prefixed');
    assert.equal(kept.strippedPrefix, '');
    assert.ok((await readFile(kept.path)).equals(prefixedSt), 'without roots the file is cached as served');
    const r = await pull('st-prefixed', { keyRoots: ['a', 'b'], cacheDir: join(cache, 'roots'), quiet: true });
    assert.equal(r.strippedPrefix, 'module.');
    assert.equal(r.sha256, sha256Of(prefixedSt), 'the hash is the one the hub served and it was checked against');
    const header = await readSafetensorsHeader(r.path);
    assert.deepEqual([...header.tensors.keys()].sort(), ['a', 'b']);
    assert.deepEqual(header.metadata, { format: 'pt', finprint_source: 'timm/st-prefixed/model.safetensors', finprint_stripped_prefix: 'module.' });
    assert.equal(JSON.parse(await readFile(`${r.path}.json`, 'utf8')).strippedPrefix, 'module.');
  });

  test("'miewid' names the MiewID repository, with the model's key roots and no tags", () => {
    assert.deepEqual(hubWeights('miewid'), { repo: 'conservationxlabs/miewid-msv3', keyRoots: MIEWID_ROOTS });
    assert.equal(hubRepo('miewid'), 'conservationxlabs/miewid-msv3');
    assert.throws(() => hubRepo('miewid.v2'), /Expected no tag: miewid has one published checkpoint \(conservationxlabs\/miewid-msv3\) for tag but received "v2"/);
    assert.throws(() => hubRepo('miewid', 'v2'), /for tag/);
    assert.deepEqual(hubWeights('vgg16', 'tv_in1k'), { repo: 'timm/vgg16.tv_in1k' });
  });
});

describe('the cache', () => {
  test('listCachedWeights shows repo, size, sha256 and path; files placed by hand have no hash', async () => {
    await pull('ok');
    const manual = cachedWeightsPath('me/by-hand', cache);
    await mkdir(dirname(manual), { recursive: true });
    await writeFile(manual, file);
    await writeFile(join(cache, 'placeholder.txt'), 'not a checkpoint');
    const list = await listCachedWeights(cache);
    const ok = list.find((w) => w.repo === 'timm/ok')!;
    assert.deepEqual(ok, { repo: 'timm/ok', path: cachedWeightsPath('timm/ok', cache), size: file.length, sha256: sha });
    assert.deepEqual(list.find((w) => w.repo === 'me/by-hand'), { repo: 'me/by-hand', path: manual, size: file.length, sha256: undefined });
    assert.ok(!list.some((w) => w.path.endsWith('.partial')));
    assert.deepEqual(await listCachedWeights(join(cache, 'nowhere')), []);
  });

  test('FINPRINT_CACHE and FINPRINT_HUB_URL move the cache and the hub', () => {
    const saved = { cache: process.env.FINPRINT_CACHE, hub: process.env.FINPRINT_HUB_URL };
    try {
      delete process.env.FINPRINT_CACHE;
      delete process.env.FINPRINT_HUB_URL;
      assert.equal(weightsCacheDir(), join(homedir(), '.cache', 'finprint', 'weights'));
      assert.equal(hubBaseUrl(), 'https://huggingface.co');
      process.env.FINPRINT_CACHE = '/data/finprint';
      process.env.FINPRINT_HUB_URL = 'http://mirror.local/hf/';
      assert.equal(weightsCacheDir(), '/data/finprint/weights');
      assert.equal(hubBaseUrl(), 'http://mirror.local/hf');
    } finally {
      for (const [k, v] of [['FINPRINT_CACHE', saved.cache], ['FINPRINT_HUB_URL', saved.hub]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

test('CLI: weights pull of a model without pretrained weights says so; --timeout gives up on a silent hub, exit 1', async () => {
  const run = promisify(execFile);
  const root = await mkdtemp(join(tmpdir(), 'finprint-hub-cli-'));
  const silent = createServer(() => undefined); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  const finprint = (env: Record<string, string>, ...args: string[]): Promise<unknown> =>
    run(process.execPath, [join(repoRoot, 'bin/finprint.js'), ...args], { env: { ...process.env, FINPRINT_CACHE: root, ...env } });
  try {
    await assert.rejects(finprint({ FINPRINT_HUB_URL: base }, 'weights', 'pull', 'vgg16_tiny'), (e: { code: number; stdout: string; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stdout, '');
      assert.match(e.stderr, /^finprint: no pretrained weights for vgg16_tiny \(models with pretrained weights: [^)]*\bvgg16\b[^)]*\)\n$/);
      return true;
    });
    await assert.rejects(finprint({ FINPRINT_HUB_URL: silentUrl }, 'weights', 'pull', 'vgg16', '--timeout', '0.3', '--quiet'), (e: { code: number; stdout: string; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stdout, '');
      assert.match(e.stderr, new RegExp(`^finprint: the weights hub did not answer: GET ${silentUrl.replace(/\./g, '\\.')}/timm/vgg16\\.tv_in1k/resolve/main/model\\.safetensors got no response within 0\\.3 s\\.`));
      return true;
    });
    await assert.rejects(finprint({ FINPRINT_HUB_URL: silentUrl }, 'weights', 'pull', 'vgg16', '--timeout', '0'), (e: { code: number; stderr: string }) => e.code === 1 && /--timeout.*Expected a number of seconds above 0 but received "0"/.test(e.stderr));
    assert.ok(!existsSync(join(root, 'weights', 'timm', 'vgg16.tv_in1k', 'model.safetensors')));
  } finally {
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
    await rm(root, { recursive: true, force: true });
  }
});

test('CLI: finprint weights pull NAME.TAG, then weights list --json', async () => {
  const run = promisify(execFile);
  const root = await mkdtemp(join(tmpdir(), 'finprint-hub-cli-'));
  const env = { ...process.env, FINPRINT_HUB_URL: base, FINPRINT_CACHE: root };
  const finprint = (...args: string[]): Promise<{ stdout: string; stderr: string }> => run(process.execPath, [join(repoRoot, 'bin/finprint.js'), ...args], { env });
  try {
    const { stdout } = await finprint('weights', 'pull', 'ok.v1', '--quiet');
    assert.equal(stdout.trim(), join(root, 'weights', 'timm', 'ok.v1', 'model.safetensors'));
    const listed = JSON.parse((await finprint('weights', 'list', '--json')).stdout);
    assert.deepEqual(listed, [{ repo: 'timm/ok.v1', path: stdout.trim(), size: file.length, sha256: sha }]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('CLI: finprint weights pull miewid converts the hub pytorch_model.bin, says what prefix it stripped', async () => {
  const run = promisify(execFile);
  const root = await mkdtemp(join(tmpdir(), 'finprint-hub-cli-'));
  const env = { ...process.env, FINPRINT_HUB_URL: base, FINPRINT_CACHE: root };
  try {
    const { stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bin/finprint.js'), 'weights', 'pull', 'miewid'], { env });
    const path = join(root, 'weights', 'conservationxlabs', 'miewid-msv3', 'model.safetensors');
    assert.equal(stdout.trim(), path);
    assert.match(stderr, /conservationxlabs\/miewid-msv3: stripped the key prefix 'model\.' from every key of the checkpoint/);
    assert.match(stderr, /conservationxlabs\/miewid-msv3: [\d.]+ KiB \(converted from pytorch_model\.bin, whose sha256 [0-9a-f]{64} verified against the hub's ETag\)/);
    const keys = [...(await readSafetensorsHeader(path)).tensors.keys()];
    assert.ok(keys.includes('backbone.conv_stem.weight') && keys.includes('pooling.p') && keys.includes('bn.weight'), keys.join(', '));
    assert.ok(keys.every((k) => !k.startsWith('model.')));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
