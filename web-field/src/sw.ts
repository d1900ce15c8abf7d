// The service worker: keeps everything the page needs to work with no network in one cache: the
// page's own files, ONNX Runtime Web's module and wasm (served by finprint under ort/, never a
// CDN) and the field pack (manifest, model, detector, embeddings, index, every thumbnail). Every
// URL is relative to the worker's scope (the page's folder): / under finprint serve --pack,
// /field/ on the review server; the cache keys are the absolute URLs.
// Requests are answered from the cache first and fall back to the network (a response that comes
// back whole is cached too). The page asks for a refresh ({ type: 'cache' }) each time it loads
// online, so a replaced pack is fetched again (the server's ETags make unchanged files cheap); the
// worker answers { type: 'cached', files, missing } when done.
export {};
declare const self: ServiceWorkerGlobalScope;

const CACHE = 'finprint-field-v1';

/** The page's files (dist/web-field), as scripts/build-web.mjs writes them, relative to the scope. */
const SHELL = ['./', 'style.css', 'manifest.webmanifest', 'icon.svg', 'main.js', 'dom.js', 'exif.js', 'identify.js', 'onnx_meta.js', 'ort.js', 'pack.js', 'store.js', 'sync.js'];
/** ONNX Runtime Web: the wasm-only ES module, its threaded wasm and the loader that module imports. */
export const ORT_FILES = ['ort/ort.wasm.min.mjs', 'ort/ort-wasm-simd-threaded.mjs', 'ort/ort-wasm-simd-threaded.wasm'];

/** A URL relative to the worker's scope, absolute. */
const at = (relative: string): string => new URL(relative, self.registration.scope).href;

interface PackManifestLike {
  detector: { file: string } | null;
}
interface PackIndexLike {
  individuals: { thumbs: number[] }[];
}

/** Every URL the page needs offline: the shell, ONNX Runtime, and the pack as its manifest and index list it. */
async function wanted(): Promise<string[]> {
  const manifest = (await (await fetch(at('pack/manifest.json'), { cache: 'no-cache' })).json()) as PackManifestLike;
  const index = (await (await fetch(at('pack/index.json'), { cache: 'no-cache' })).json()) as PackIndexLike;
  const pack = ['pack/manifest.json', 'pack/index.json', 'pack/model.onnx', 'pack/embeddings.bin'];
  if (manifest.detector) pack.push(`pack/${manifest.detector.file}`);
  for (const i of index.individuals) for (const t of i.thumbs) pack.push(`pack/thumbs/${t}.jpg`);
  return [...SHELL, ...ORT_FILES, ...pack].map(at);
}

let refreshing: Promise<{ files: number; missing: string[] }> | null = null;

/** (Re)fetches every wanted file into the cache; files that fail are listed, the others kept. */
function refresh(): Promise<{ files: number; missing: string[] }> {
  refreshing ??= (async () => {
    const cache = await caches.open(CACHE);
    const urls = await wanted();
    const missing: string[] = [];
    // A few at a time: a pack may hold tens of thousands of thumbnails.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < urls.length) {
        const url = urls[next++]!;
        try {
          const res = await fetch(url, { cache: 'no-cache' });
          if (!res.ok) throw new Error(String(res.status));
          await cache.put(url, res);
        } catch {
          if (!(await cache.match(url))) missing.push(url);
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    return { files: urls.length - missing.length, missing };
  })().finally(() => (refreshing = null));
  return refreshing;
}

self.addEventListener('install', (event) => {
  event.waitUntil(refresh().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  const data = event.data as { type?: string } | null;
  if (data?.type !== 'cache') return;
  const source = event.source;
  event.waitUntil(refresh().then((r) => source?.postMessage({ type: 'cached', ...r })));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  const scope = self.registration.scope;
  if (request.method !== 'GET' || !url.href.startsWith(scope)) return;
  url.search = '';
  url.hash = '';
  const key = url.href === at('index.html') ? scope : url.href;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(key, { ignoreSearch: true });
    if (hit) return hit;
    const res = await fetch(request);
    if (res.ok && res.status === 200) await cache.put(key, res.clone());
    return res;
  })());
});
