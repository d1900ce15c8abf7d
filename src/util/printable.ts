/**
 * User-supplied text (file names, CSV values, labels) made safe to print in a message: control
 * characters (C0, DEL, C1) and the invisible bidirectional overrides are shown as escapes (\x1b,
 * \n, \u202e) so a name cannot move the cursor, recolour the terminal or reorder a line; a value
 * longer than `max` characters is cut to its first `keep`, followed by "… (N characters)".
 */
export function printable(value: string, options: { max?: number; keep?: number } = {}): string {
  const text = String(value);
  const max = options.max ?? 255;
  const keep = Math.min(options.keep ?? 40, max);
  const cut = text.length > max;
  const shown = (cut ? text.slice(0, keep) : text).replace(UNSAFE, escape);
  return cut ? `${shown}… (${text.length} characters)` : shown;
}

// C0 controls, DEL, C1 controls, and the bidi embedding/override/isolate marks.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}
