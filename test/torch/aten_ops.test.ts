// Every ATen operator name src/ hands the dispatcher resolves in the linked libtorch, so a typo or
// a schema renamed between libtorch versions fails here, not at a user's first call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { hasOperator } from '../../src/torch/ops.js';
import { buildInfo } from '../../src/torch/runtime.js';

const PREFIX = 'aten::';

/** The function a node sits in, with the name it is called by (a declaration, or a const arrow). */
function enclosingFunction(node: ts.Node): { fn: ts.SignatureDeclaration; name: ts.Identifier; decl: ts.Declaration } | undefined {
  let n = node.parent;
  while (n && !ts.isFunctionLike(n)) n = n.parent;
  if (!n) return undefined;
  if (ts.isFunctionDeclaration(n) && n.name) return { fn: n, name: n.name, decl: n };
  if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && ts.isVariableDeclaration(n.parent) && ts.isIdentifier(n.parent.name)) {
    return { fn: n, name: n.parent.name, decl: n.parent };
  }
  return undefined;
}

/**
 * A template such as `aten::${name}.Tensor` as the names it takes: each hole must be a parameter of
 * a module-private function that is only ever called directly, with string literals for those
 * parameters, so every call in the file shows a name. Undefined when the names cannot be known.
 */
function expandTemplate(t: ts.TemplateExpression, source: ts.SourceFile): string[] | undefined {
  const f = enclosingFunction(t);
  if (!f || ts.getCombinedModifierFlags(f.decl) & ts.ModifierFlags.Export) return undefined;
  const params = t.templateSpans.map((s) => f.fn.parameters.findIndex((p) => ts.isIdentifier(s.expression) && ts.isIdentifier(p.name) && p.name.text === s.expression.text));
  if (params.includes(-1)) return undefined;
  const names: string[] = [];
  let resolved = true;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === f.name.text && node !== f.name) {
      const call = node.parent;
      const args = ts.isCallExpression(call) && call.expression === node ? params.map((i) => call.arguments[i]) : [];
      if (args.length && args.every((a) => a && ts.isStringLiteral(a))) {
        names.push(t.head.text + t.templateSpans.map((s, j) => (args[j] as ts.StringLiteral).text + s.literal.text).join(''));
      } else {
        resolved = false;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return resolved && names.length ? names : undefined;
}

/**
 * The operator names in one source file: every 'aten::…' string literal (wherever it is passed
 * from), and every `aten::…${…}` template expanded; templates that cannot be expanded are listed.
 */
function operatorNames(file: string, text: string): { names: string[]; unresolved: string[] } {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const names: string[] = [];
  const unresolved: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && node.text.startsWith(PREFIX) && node.text !== PREFIX) {
      names.push(node.text);
    } else if (ts.isTemplateExpression(node) && node.head.text.startsWith(PREFIX)) {
      const expanded = expandTemplate(node, source);
      if (expanded) names.push(...expanded);
      else unresolved.push(`${file}: ${node.getText(source)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { names, unresolved };
}

test('the scan finds literal names and expands templates filled from literal arguments', () => {
  const found = operatorNames('a.ts', [
    "const zeros = () => op('aten::zeros', [2]);",
    "const strip = (n: string) => n.replace('aten::', '');",
    'function compare(name: string, a: T, b: T) { return op(`aten::${name}.Tensor`, a, b); }',
    "const eq = (a: T, b: T) => compare('eq', a, b);",
    "const lt = (a: T, b: T) => compare('lt', a, b);",
    'export function pool(kind: string) { return op(`aten::${kind}_pool2d`); }',
    'const g = (name: string) => op(`aten::${name}`);',
    "['relu'].map(g);",
  ].join('\n'));
  assert.deepEqual(found.names, ['aten::zeros', 'aten::eq.Tensor', 'aten::lt.Tensor']);
  assert.deepEqual(found.unresolved, ['a.ts: `aten::${kind}_pool2d`', 'a.ts: `aten::${name}`']);
});

test('every aten operator used in src/ resolves in the linked libtorch', () => {
  const srcDir = fileURLToPath(new URL('../../../src/', import.meta.url));
  const files = new Map<string, string>(); // name -> the first file that uses it
  const unresolved: string[] = [];
  for (const rel of readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).sort()) {
    const found = operatorNames(join('src', rel), readFileSync(join(srcDir, rel), 'utf8'));
    for (const name of found.names) if (!files.has(name)) files.set(name, join('src', rel));
    unresolved.push(...found.unresolved);
  }
  assert.deepEqual(unresolved, [], 'operator names this test cannot know: build them from string literals');
  assert.ok(files.size > 100, `only ${files.size} operator names found in src/: is the scan still finding them?`);
  const missing = [...files].filter(([name]) => !hasOperator(name)).map(([name, file]) => `${name} (${file})`);
  assert.deepEqual(missing, [], `not in the linked libtorch ${buildInfo().version}`);
});

test('hasOperator: known names, overloads, unknown names, and bad arguments', () => {
  assert.equal(hasOperator('aten::add.Tensor'), true);
  assert.equal(hasOperator('aten::sum'), true);
  assert.equal(hasOperator('aten::definitely_not_an_op'), false);
  assert.equal(hasOperator('aten::add.no_such_overload'), false);
  assert.throws(() => hasOperator('add.Tensor'), /Expected an operator name such as "aten::add.Tensor" for name but received "add.Tensor" of type string/);
  assert.throws(() => hasOperator(3 as unknown as string), /for name but received 3 of type number/);
});
