// The review server's API: JSON in and out, errors as ApiError (status, the server's message and,
// on a 409, the record as it is now). The reviewer's token goes with every request once the
// server says writes need one.
import { loadToken } from './storage.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    /** On a 409: the record as it is now. */
    readonly current?: unknown,
  ) {
    super(message);
  }
}

type Params = Record<string, string | number | boolean | null | undefined>;

/** `path?a=1&b=2`, leaving out empty values. */
export function withQuery(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Whether requests carry the reviewer's token (the server asks for one). */
let tokensNeeded = false;

/** Object URLs of photos fetched with the token, by API URL; the oldest revoked past the limit. */
const blobs = new Map<string, Promise<string>>();
const BLOB_LIMIT = 400;

/**
 * Shows an API photo in an <img>. An <img> cannot send an Authorization header, so where the
 * server needs a token (every API call, photos too) the bytes are fetched with it and shown from
 * an object URL.
 */
export function setImage(img: HTMLImageElement, url: string): void {
  img.dataset.src = url;
  const token = loadToken();
  if (!tokensNeeded || !token) {
    img.src = url;
    return;
  }
  let blob = blobs.get(url);
  if (!blob) {
    blob = fetch(url, { headers: { Authorization: `Bearer ${token}` } }).then(async (res) => {
      if (!res.ok) throw new ApiError(res.status, `photo ${url}: ${res.status} ${res.statusText}`);
      return URL.createObjectURL(await res.blob());
    });
    blobs.set(url, blob);
    blob.catch(() => blobs.delete(url));
    while (blobs.size > BLOB_LIMIT) {
      const [oldest, value] = blobs.entries().next().value as [string, Promise<string>];
      blobs.delete(oldest);
      void value.then((u) => URL.revokeObjectURL(u), () => undefined);
    }
  }
  blob.then((objectUrl) => {
    if (img.dataset.src === url) img.src = objectUrl;
  }, () => img.classList.add('broken'));
}

export class Api {
  /** From /api/stats (or a 401): the server needs a reviewer token; send it as a bearer token. */
  get writesNeedToken(): boolean {
    return tokensNeeded;
  }

  set writesNeedToken(value: boolean) {
    if (value !== tokensNeeded) blobs.clear();
    tokensNeeded = value;
  }

  constructor(private readonly base = 'api') {}

  url(path: string, params?: Params): string {
    return withQuery(`${this.base}${path}`, params);
  }

  photoUrl(id: number): string {
    return this.url(`/photos/${id}`);
  }

  thumbnailUrl(id: number, size = 256): string {
    return this.url(`/photos/${id}/thumbnail`, { size });
  }

  private headers(json: boolean): Headers {
    const h = new Headers({ Accept: 'application/json' });
    if (json) h.set('Content-Type', 'application/json');
    const token = loadToken();
    if (this.writesNeedToken && token) h.set('Authorization', `Bearer ${token}`);
    return h;
  }

  async get<T>(path: string, params?: Params): Promise<T> {
    return this.send<T>(this.url(path, params), { method: 'GET', headers: this.headers(false) });
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>(this.url(path), { method: 'POST', headers: this.headers(true), body: JSON.stringify(body) });
  }

  /** An <img> of an API photo (see setImage). */
  img(url: string, attrs: { class?: string; alt: string; loading?: 'lazy' }): HTMLImageElement {
    const img = document.createElement('img');
    img.alt = attrs.alt;
    if (attrs.class) img.className = attrs.class;
    if (attrs.loading) img.loading = attrs.loading;
    setImage(img, url);
    return img;
  }

  async upload<T>(path: string, form: FormData): Promise<T> {
    return this.send<T>(this.url(path), { method: 'POST', headers: this.headers(false), body: form });
  }

  private async send<T>(url: string, init: RequestInit): Promise<T> {
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (err) {
      throw new ApiError(0, `cannot reach the review server (${(err as Error).message}); is finprint serve still running?`);
    }
    const text = await res.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const body = (data ?? {}) as { error?: unknown; message?: unknown; current?: unknown };
      const message = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, message, body.current);
    }
    return data as T;
  }
}
