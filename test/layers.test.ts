// The import graph of src/: every import (type imports and dynamic imports included) between
// top-level folders points down the layer order below, no files import each other in a circle,
// and the README's picture of the layers names the same folders.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = join(root, 'src');

/** Lowest first; a folder may import its own files and the folders of lower rows. */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['torch'],
  ['nn', 'optim'],
  ['io'],
  ['models'],
  ['data'],
  ['eval'],
  ['train'],
  ['identify', 'detect'],
  ['export'],
  ['catalogue'],
  // the library's entry point ('finprint'); the run workflow's is src/runs/index.ts ('finprint/runs')
  ['index.ts'],
  // applications
  ['report'],
  ['runs'],
  ['server'],
  ['bench'],
  ['cli'],
];
const APPLICATIONS = new Set(['report', 'runs', 'server', 'bench', 'cli']);

const rank = new Map(LAYERS.flatMap((row, i) => row.map((name) => [name, i] as const)));

type Graph = Map<string, Set<string>>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** The code without its comments (which may quote an import). */
const withoutComments = (text: string): string => text.replace(/\/\*[^]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

/** File -> the files it imports (paths relative to src/, .ts). */
function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(src)) {
    const from = relative(src, file);
    const to = new Set<string>();
    for (const m of withoutComments(readFileSync(file, 'utf8')).matchAll(IMPORT)) to.add(normalize(join(dirname(from), m[1]!)).replace(/\.js$/, '.ts'));
    graph.set(from, to);
  }
  return graph;
}

/** The layer a file belongs to: its top-level folder, or its own name at the top of src/. */
const layerOf = (file: string): string => file.split(/[\\/]/)[0]!;

/** Imports that go up or sideways between layers, or out of any known layer. */
function wrongWay(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = layerOf(from);
      const b = layerOf(to);
      if (a === b) continue;
      const ra = rank.get(a);
      const rb = rank.get(b);
      if (ra === undefined || rb === undefined || rb >= ra) out.push(`${from} -> ${to}`);
    }
  }
  return out;
}

/** Groups of files that import each other in a circle (strongly connected components, Tarjan). */
function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || graph.get(v)!.has(v)) found.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('every folder of src/ has a place in the layer order', () => {
  const tops = new Set([...importGraph().keys()].map(layerOf));
  const unplaced = [...tops].filter((t) => !rank.has(t));
  assert.deepEqual(unplaced, [], `add these to LAYERS in test/layers.test.ts and to the README's picture: ${unplaced.join(', ')}`);
});

test('imports point down the layers: no library layer imports an application', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `expected the whole of src/, read ${graph.size} files`);
  assert.deepEqual(wrongWay(graph), []);
});

test('no import cycles between files, type imports included', () => {
  assert.deepEqual(cycles(importGraph()), []);
});

test('the checks catch an upward import, a sideways one and a cycle', () => {
  const graph: Graph = new Map([
    ['train/trainer.ts', new Set(['runs/train_run.ts'])],
    ['identify/embed.ts', new Set(['detect/model.ts'])],
    ['runs/train_run.ts', new Set(['train/trainer.ts'])],
    ['detect/model.ts', new Set<string>()],
    ['data/a.ts', new Set(['data/b.ts'])],
    ['data/b.ts', new Set(['data/a.ts'])],
  ]);
  assert.deepEqual(wrongWay(graph), ['train/trainer.ts -> runs/train_run.ts', 'identify/embed.ts -> detect/model.ts']);
  assert.deepEqual(cycles(graph).map((c) => c.join(' ')).sort(), ['data/a.ts data/b.ts', 'runs/train_run.ts train/trainer.ts']);
  // the pattern sees every form of import
  const forms = ["import { a } from './a.js';", "import type { B } from '../b/b.js';", "export { c } from './c.js';", "const d = await import('../d.js');", "import './e.js';"].join('\n');
  assert.deepEqual([...forms.matchAll(IMPORT)].map((m) => m[1]), ['./a.js', '../b/b.js', './c.js', '../d.js', './e.js']);
});

test("the README's picture of the layers draws the same order, applications on top", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## How it is built');
  assert.ok(start >= 0, 'README has a "How it is built" section');
  const open = readme.indexOf('```', start);
  const lines = readme.slice(open, readme.indexOf('```', open + 3)).split('\n');
  const lineOf = (name: string): number => lines.findIndex((l) => l.includes(name === 'index.ts' ? 'src/index.ts' : `src/${name}/`));
  assert.deepEqual(LAYERS.flat().filter((l) => lineOf(l) < 0), [], 'layers missing from the README picture');
  const libraryLine = lines.findIndex((l) => /─ library ─/.test(l));
  assert.ok(libraryLine >= 0, 'the picture marks where the library starts');
  for (const name of LAYERS.flat()) assert.equal(lineOf(name) < libraryLine, APPLICATIONS.has(name), `${name} is on the wrong side of the library line in the README`);
  // higher layers are drawn above lower ones (a row's folders may share a line)
  for (let i = 0; i + 1 < LAYERS.length; i++) {
    const below = Math.min(...LAYERS[i]!.map(lineOf));
    const above = Math.max(...LAYERS[i + 1]!.map(lineOf));
    assert.ok(above <= below, `README draws ${LAYERS[i + 1]!.join(', ')} below ${LAYERS[i]!.join(', ')}`);
  }
});
