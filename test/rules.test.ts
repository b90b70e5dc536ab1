// The rule catalogue is complete: every rule and every schema/yaml code has a docs/rules.md entry and a fixture that triggers it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allRules, runRules, runModelRules, runTenantRules } from '../src/validate/rules';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { sortDiagnostics } from '../src/model/diagnostics';
import { pack, summarize, unpack } from '../src/validate/summary';

const ROOT = path.resolve(__dirname, '..', fs.existsSync(path.join(__dirname, '..', 'package.json')) ? '' : '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'validate');
const docs = fs.readFileSync(path.join(ROOT, 'docs', 'rules.md'), 'utf8');
const headings = new Set([...docs.matchAll(/^## (\S+)$/gm)].map((m) => m[1]));
const errorsTxt = fs
  .readdirSync(FIXTURES)
  .filter((d) => fs.existsSync(path.join(FIXTURES, d, 'errors.txt')))
  .map((d) => fs.readFileSync(path.join(FIXTURES, d, 'errors.txt'), 'utf8'))
  .join('');
const fixtureCodes = new Set([...errorsTxt.matchAll(/^\S+:\d+:\d+: (?:error|warning) (\S+):/gm)].map((m) => m[1]));

/** Every literal schema/* and yaml/* code in the sources that emit them. */
function emittedCodes(): string[] {
  const src = ['src/validate/schema.ts', 'src/model/load.ts'].map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8')).join('\n');
  return [...new Set([...src.matchAll(/'((?:schema|yaml)\/[a-z-]+)'/g)].map((m) => m[1]))].sort();
}

test('rule files are kebab-case, export a rule whose id is the file name, with a summary', () => {
  const files = fs.readdirSync(path.join(ROOT, 'src', 'validate', 'rules')).filter((f) => f.endsWith('.ts') && f !== 'rule.ts' && f !== 'index.ts');
  const ids = allRules().map((r) => r.id);
  assert.equal(ids, files.map((f) => f.replace(/\.ts$/, '')).sort());
  assert.ok(ids.length >= 27, `only ${ids.length} rules`);
  for (const r of allRules()) {
    assert.match(r.id, /^[a-z]+(-[a-z]+)*$/);
    assert.ok(r.summary.length > 10, `${r.id} has no summary`);
  }
});

for (const r of allRules()) {
  test(`rule ${r.id}: a docs/rules.md entry and a fixture`, () => {
    assert.ok(headings.has(r.id), `docs/rules.md has no "## ${r.id}"`);
    assert.ok(fixtureCodes.has(r.id), `no fixture's errors.txt has ${r.id}`);
  });
}

test('every schema/* and yaml/* code has a docs entry and a fixture or test', () => {
  const codes = emittedCodes();
  assert.ok(codes.length >= 20, codes.join(' '));
  for (const code of codes) {
    assert.ok(headings.has(code), `docs/rules.md has no "## ${code}"`);
    // Tested in validate-cli.test.ts and hostile-validate.test.ts: a 1 MiB fixture would bloat the repository, and Git keeps no dangling symlink, FIFO or device well.
    if (code !== 'yaml/too-large' && code !== 'yaml/unreadable' && code !== 'yaml/not-a-file') assert.ok(fixtureCodes.has(code), `no fixture's errors.txt has error ${code}`);
  }
});

test('every code in the fixtures is documented', () => {
  for (const code of fixtureCodes) assert.ok(headings.has(code), `docs/rules.md has no "## ${code}"`);
});


test("a tenant-scope rule's findings over the model are its findings over each tenant alone, on every fixture", () => {
  const dirs = [
    ROOT,
    ...['validate', 'build'].flatMap((suite) => {
      const root = path.join(ROOT, 'test', 'fixtures', suite);
      return fs.readdirSync(root).map((n) => path.join(root, n)).filter((d) => fs.existsSync(path.join(d, 'tenants')));
    }),
  ];
  let split = 0;
  for (const dir of dirs) {
    const { model } = validate(loadConfig(dir));
    const whole = sortDiagnostics(runRules(model));
    const parts = sortDiagnostics([...runModelRules(model), ...model.tenants.flatMap((t) => runTenantRules(model, t))]);
    assert.equal(parts, whole, path.relative(ROOT, dir) || 'examples');
    split += parts.filter((d) => allRules().find((r) => r.id === d.code)?.scope === 'tenant').length;
  }
  assert.ok(split >= 10, `the fixtures hold only ${split} findings of tenant-scope rules`);
  assert.ok(allRules().filter((r) => r.scope === 'tenant').length >= 10);
});

test("the rules that see every tenant find the same over the tenants' summaries as over their whole entities, on every fixture", () => {
  const dirs = [
    ROOT,
    ...['validate', 'build'].flatMap((suite) => {
      const root = path.join(ROOT, 'test', 'fixtures', suite);
      return fs.readdirSync(root).map((n) => path.join(root, n)).filter((d) => fs.existsSync(path.join(d, 'tenants')));
    }),
  ];
  let found = 0;
  for (const dir of dirs) {
    const { model } = validate(loadConfig(dir));
    const whole = sortDiagnostics(runModelRules(model));
    const summaries = sortDiagnostics(runModelRules({ ...model, tenants: model.tenants.map(summarize) }));
    // As the pack stores them: lists without key names, through JSON.
    // unpack() keeps each place as its list until read (a getter on the prototype): compared as plain objects.
    for (const t of model.tenants) assert.equal(plainCopy(unpack(JSON.parse(JSON.stringify(pack(summarize(t)))), t.file)), summarize(t), `${t.file}: pack and unpack`);
    // The summaries as unpack() gives them: the rules find the same over them too.
    const unpacked = sortDiagnostics(runModelRules({ ...model, tenants: model.tenants.map((t) => unpack(JSON.parse(JSON.stringify(pack(summarize(t)))), t.file)) }));
    assert.equal(unpacked, whole, `${path.relative(ROOT, dir) || 'examples'}: over unpacked summaries`);
    assert.equal(summaries, whole, path.relative(ROOT, dir) || 'examples');
    found += whole.length;
  }
  assert.ok(found >= 20, `the fixtures hold only ${found} findings of the rules that see every tenant`);
});

test.run();

/** A deep copy of own and inherited enumerable data and of prototype getters, as plain objects and arrays. */
function plainCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainCopy);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = plainCopy((v as Record<string, unknown>)[k]);
  for (let p = Object.getPrototypeOf(v); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) if (d.get && !(k in out)) out[k] = plainCopy((v as Record<string, unknown>)[k]);
  }
  return out;
}
