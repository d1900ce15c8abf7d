#!/usr/bin/env node
// Builds the review page: web/src/*.ts compiled for the browser (web/tsconfig.json) into
// dist/web, with web/index.html and web/style.css copied beside it. `finprint serve` serves
// dist/web at /. Then the offline field page the same way: web-field/src/*.ts (the page and its
// service worker, web-field/tsconfig.json) into dist/web-field with its index.html, style.css,
// web app manifest and icon; `finprint serve --pack` serves dist/web-field at /.
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

const field = spawnSync(process.execPath, [tsc, '-p', join(root, 'web-field', 'tsconfig.json')], { stdio: 'inherit' });
if (field.status !== 0) {
  console.error('build-web: the field page did not compile');
  process.exit(field.status ?? 1);
}
const fieldOut = join(root, 'dist', 'web-field');
mkdirSync(fieldOut, { recursive: true });
for (const f of ['index.html', 'style.css', 'manifest.webmanifest', 'icon.svg']) copyFileSync(join(root, 'web-field', f), join(fieldOut, f));
