// What the review server's tests share: the CLI run as a child process, and a small catalogue made
// the way a user makes one (tiny synthetic data, a vgg16_tiny run trained for one epoch, catalogue
// init), once per test file.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../data/helpers.js';

export const cli = fileURLToPath(new URL('../../../bin/finprint.js', import.meta.url));

export interface Fixture {
  work: string;
  data: string;
  run: string;
  catalogue: string;
  env: NodeJS.ProcessEnv;
}

export function finprint(fixture: Pick<Fixture, 'env'>, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: fixture.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `finprint ...` started in the background. */
export function finprintChild(fixture: Pick<Fixture, 'env'>, args: string[]): ChildProcess {
  return spawn(process.execPath, [cli, ...args], { env: fixture.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A catalogue of a tiny synthetic set's training photos; with `importTest`, its test photos imported as encounters to review. */
export async function trainedCatalogue(prefix: string, options: { importTest?: boolean; individuals?: number } = {}): Promise<Fixture> {
  const work = await tempDir(prefix);
  const f: Fixture = { work, data: join(work, 'data'), run: join(work, 'run'), catalogue: join(work, 'catalogue'), env: { ...process.env, FINPRINT_CACHE: join(work, 'cache') } };
  const steps = [
    ['synth', '--out', f.data, '--species', '3', '--individuals', String(options.individuals ?? 12), '--mean-images', '4', '--size', '64', '--seed', '5', '--quiet'],
    ['train', '--data', f.data, '--task', 'joint', '--backbone', 'vgg16_tiny', '--image-size', '48', '--epochs', '1', '--batch-size', '16', '--workers', '2', '--unfreeze-top', 'all', '--seed', '1', '--out', f.run, '--quiet'],
    ['catalogue', 'init', f.catalogue, '--run', f.run, '--quiet'],
    ...(options.importTest ? [['catalogue', 'import', f.catalogue, join(f.data, 'test_images'), '--quiet']] : []),
  ];
  for (const args of steps) {
    const r = finprint(f, args);
    assert.equal(r.status, 0, `finprint ${args.join(' ')}:\n${r.stderr}`);
  }
  return f;
}

/** The first line of a child's stdout that matches, or a failure with what it printed. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before printing ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
    });
  });
}

/** Resolves when the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A decompression bomb: a few hundred bytes whose PNG header claims width x height pixels. */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}
