import { checkInteger } from './check.js';

export type Limiter = <R>(task: () => Promise<R>) => Promise<R>;

/**
 * Run at most `concurrency` tasks at once; the rest wait in FIFO order. sharp does its work on
 * libuv threads, so a few in-flight images keep every core busy without flooding memory.
 */
export function createLimiter(concurrency: number): Limiter {
  checkInteger('concurrency', concurrency, 1);
  let active = 0;
  const waiting: (() => void)[] = [];
  // A finishing task hands its slot straight to the next waiter, so a newcomer cannot slip in between.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async <R>(task: () => Promise<R>): Promise<R> => {
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/** Map with bounded concurrency; results keep the input order. */
export async function mapPool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limit = createLimiter(concurrency);
  return Promise.all(items.map((item, i) => limit(() => fn(item, i))));
}
