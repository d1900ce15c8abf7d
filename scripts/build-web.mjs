#!/usr/bin/env node
// Builds the review page: web/src/*.ts compiled for the browser (web/tsconfig.json) into
// dist/web, with web/index.html and web/style.css copied beside it. `finprint serve` serves
// dist/web at /.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const out = join(root, 'dist', 'web');

const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'web', 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build-web: the review page did not compile');
  process.exit(r.status ?? 1);
}
mkdirSync(out, { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(out, f));
