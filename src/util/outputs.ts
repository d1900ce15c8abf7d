// One rule for every command that writes a file the user names: it never replaces one of the
// command's inputs (a dataset file, a photo, a model's weights), never writes inside a folder whose
// contents are inputs, and replaces an existing file only when asked (--force). Errors name the
// path as the user gave it.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface OutputRule {
  /** The option the path came from, for messages: '--out', '--report'. */
  flag: string;
  /** Files the command reads. */
  inputs?: readonly string[];
  /** Folders whose contents the command reads or owns (a data folder's images, a run folder), with what they are. */
  folders?: readonly { dir: string; what: string }[];
  /** Replace an existing file. */
  force?: boolean;
}

/** The path with every existing part's symlinks resolved, so two spellings of one file compare equal. */
function canonical(path: string): string {
  const abs = resolve(path);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(canonical(parent), basename(abs));
}

function sameFile(a: string, b: string): boolean {
  if (canonical(a) === canonical(b)) return true;
  if (!existsSync(a) || !existsSync(b)) return false;
  const sa = statSync(a);
  const sb = statSync(b);
  return sa.dev === sb.dev && sa.ino === sb.ino; // hard links
}

/** Whether `path` is `dir` or lies under it. */
function inside(path: string, dir: string): boolean {
  const rel = relative(canonical(dir), canonical(path));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Checks an output file against the rule; returns it resolved. */
export function checkOutputFile(path: string, rule: OutputRule): string {
  const shown = `${rule.flag} ${path}`;
  for (const input of rule.inputs ?? []) {
    if (sameFile(path, input)) throw new Error(`${shown} is one of this command's inputs (${input}); write the output elsewhere`);
  }
  for (const { dir, what } of rule.folders ?? []) {
    if (inside(path, dir)) throw new Error(`${shown} is inside ${what} (${dir}), which this command reads; write the output elsewhere`);
  }
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw new Error(`${shown} is a folder; name a file`);
    if (!rule.force) throw new Error(`${shown} already exists; pass --force to replace it, or choose another path`);
  }
  return resolve(path);
}
