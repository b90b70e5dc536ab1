// The tree reads as the pipeline and every import points down it (docs/architecture.md, "Layers"): a module may
// import its own folder or a folder below it, never one above. A new top-level folder must be given its place here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const SRC = path.resolve(__dirname, '..', '..', 'src');

/** Bottom first. */
export const LAYERS = ['util', 'model', 'validate', 'vici', 'targets', 'bundle', 'plan', 'peer', 'init', 'apply', 'commands', 'cli.ts'];

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Each relative import of a source file, as [importer, imported], both relative to src/. */
function imports(files: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.relative(SRC, path.resolve(path.dirname(f), m[1]));
      out.push([path.relative(SRC, f), target]);
    }
  }
  return out;
}

const layerOf = (p: string): number => LAYERS.indexOf(p.split(path.sep)[0]);

/** The imports that point up, or out of any layer (a JSON file outside src/ is data, not a layer). */
export function upward(edges: Array<[string, string]>): string[] {
  const bad: string[] = [];
  for (const [from, to] of edges) {
    if (to.startsWith('..')) continue;
    const a = layerOf(from);
    const b = layerOf(to);
    if (a < 0) bad.push(`${from}: not in any layer`);
    else if (b < 0) bad.push(`${from} -> ${to}: not in any layer`);
    else if (b > a) bad.push(`${from} -> ${to}: ${LAYERS[a]} imports ${LAYERS[b]}, which is above it`);
  }
  return [...new Set(bad)].sort();
}

test('every import in src/ points down the layers', () => {
  assert.equal(upward(imports(walk(SRC))), []);
});

test('every top-level entry of src/ has a layer, and every layer exists', () => {
  const entries = fs.readdirSync(SRC).filter((e) => !e.startsWith('.')).sort();
  assert.equal(entries, [...LAYERS].sort());
});

test('an import that points up is reported with both ends', () => {
  assert.equal(upward([['model/model.ts', 'validate/formats'], ['apply/options.ts', 'commands/common'], ['bundle/compile.ts', 'validate']]), [
    'apply/options.ts -> commands/common: apply imports commands, which is above it',
    'model/model.ts -> validate/formats: model imports validate, which is above it',
  ]);
});

test.run();
