// What the browser tests share: Debian's chromium and when to skip without it, the CLI, the pages
// rebuilt when their sources changed, and `finprint serve` started on a free port.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'bin', 'finprint.js');
const isRoot = process.getuid?.() === 0;
// Root (CI) installs chromium with scripts/setup.sh, so there the tests always run.
export const skip = !existsSync(CHROMIUM) && !isRoot ? `chromium is not installed (${CHROMIUM}) and this is not root, so it cannot be installed here: apt-get install chromium (or run scripts/setup.sh as root)` : false;

/** Runs a finprint command with its cache in `work`; its stdout, or a failed assertion with stderr. */
export function finprintIn(work: string, args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } });
  assert.equal(r.status, 0, `finprint ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The pages as served: rebuilt when web/ or web-field/ is newer than what dist/ holds. */
export function buildPages(): void {
  const newest = (dir: string): number => Math.max(...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
  const built = (f: string): number => (existsSync(f) ? statSync(f).mtimeMs : -1);
  const fresh = (page: string): boolean => built(join(root, 'dist', page, 'main.js')) >= newest(join(root, page)) && built(join(root, 'dist', page, 'index.html')) >= 0;
  if (fresh('web') && fresh('web-field')) return;
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-web.mjs')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/build-web.mjs: ${r.stdout}${r.stderr}`);
}

/** Starts `finprint serve ARGS --port 0`; resolves to the process and the URL its line matching `said` names. */
export function startServe(work: string, args: string[], said: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'serve', ...args, '--port', '0'], { env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') }, stdio: ['ignore', 'pipe', 'pipe'] });
  process.on('exit', () => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`finprint serve ${args.join(' ')} did not say where it listens in 60 s: ${out}${err}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = said.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[1]! });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`finprint serve exited (${code}): ${out}${err}`));
    });
  });
}

/** Headless chromium, or a clear error where it should be installed and is not. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh as root (it installs the Debian package chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'], headless: true });
}
