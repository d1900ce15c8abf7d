import { InvalidArgumentError } from 'commander';

/** commander argument parsers that reject junk with a message naming what was expected. */
export function intArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError(`Expected an integer but received "${value}".`);
  return n;
}

export function numberArg(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`Expected a number but received "${value}".`);
  return n;
}

/** A share or weight from 0 to 1. */
export function shareArg(value: string): number {
  const n = numberArg(value);
  if (n < 0 || n > 1) throw new InvalidArgumentError(`Expected a number from 0 to 1 but received "${value}".`);
  return n;
}

/** An integer of at least 1 (a count). */
export function positiveIntArg(value: string): number {
  const n = intArg(value);
  if (n < 1) throw new InvalidArgumentError(`Expected an integer of at least 1 but received "${value}".`);
  return n;
}

/** An integer of at least 0 (a patience, a limit). */
export function nonNegativeIntArg(value: string): number {
  const n = intArg(value);
  if (n < 0) throw new InvalidArgumentError(`Expected an integer of at least 0 but received "${value}".`);
  return n;
}

/** --workers: how many photos the loader hands to the decoder at once (data/loader.ts, DECODE_QUEUE). */
export const WORKERS_HELP = "photos handed to the decoder at once; libuv's pool decodes them UV_THREADPOOL_SIZE (4 by default) at a time";
