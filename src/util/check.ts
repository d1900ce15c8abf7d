/**
 * Argument checks in sharp's style: every public entry point validates its inputs and throws an
 * Error that names the parameter, what was expected and what it received.
 */

export function invalidParameterError(name: string, expected: string, actual: unknown): Error {
  const shown = typeof actual === 'string' ? JSON.stringify(actual) : Array.isArray(actual) ? `[${actual.join(', ')}]` : String(actual);
  return new Error(`Expected ${expected} for ${name} but received ${shown} of type ${Array.isArray(actual) ? 'array' : typeof actual}`);
}

export function checkInteger(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidParameterError(name, rangeText('integer', min, max), value);
  }
  return value;
}

export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidParameterError(name, rangeText('number', min, max), value);
  }
  return value;
}

/** A finite number > 0 (a scale, a divisor, a norm's power). */
export function checkPositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) throw invalidParameterError(name, 'positive number', value);
  return value;
}

/** A [lo, hi] pair with min <= lo <= hi <= max. */
export function checkRange(name: string, value: unknown, min = -Infinity, max = Infinity): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))
    || value[0] > value[1] || value[0] < min || value[1] > max) {
    throw invalidParameterError(name, `[lo, hi] with ${min} <= lo <= hi <= ${max}`, value);
  }
  return [value[0], value[1]];
}

export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidParameterError(name, `one of ${allowed.join(', ')}`, value);
  }
  return value as T;
}

/** Exactly one of exclusive options is given (not undefined); returns its name. `options` maps each name to its value. */
export function checkExactlyOne(name: string, options: Record<string, unknown>): string {
  const given = Object.keys(options).filter((k) => options[k] !== undefined);
  if (given.length !== 1) throw new Error(`Expected exactly one of ${Object.keys(options).join(', ')} for ${name} but received ${given.length ? given.join(' and ') : 'none of them'}`);
  return given[0]!;
}

/** Three finite numbers, e.g. a per-channel mean or std. */
export function checkTriple(name: string, value: unknown, min = -Infinity): [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3 || value.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < min)) {
    throw invalidParameterError(name, `an array of 3 numbers${min > -Infinity ? ` >= ${min}` : ''}`, value);
  }
  return [value[0], value[1], value[2]];
}

function rangeText(kind: string, min: number, max: number): string {
  if (min === -Infinity && max === Infinity) return kind;
  if (max === Infinity) return min === 1 && kind === 'integer' ? 'positive integer' : `${kind} >= ${min}`;
  if (min === -Infinity) return `${kind} <= ${max}`;
  return `${kind} between ${min} and ${max}`;
}
