// allocations.lock.yaml is written and read line by line: the result must be exactly what the yaml
// package writes and reads, for every lock in the fixtures, a large one, and keys YAML would misread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { Allocations, formatLock, parseLock } from '../src/compiler/lock';
import { compileDir, tempCopy } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');

/** What the lock was before the line-by-line writer: the yaml package's own output. */
function viaYaml(alloc: Allocations): string {
  const sorted = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  const tenants = Object.fromEntries(Object.keys(alloc.tenants).sort().map((k) => [k, { table: alloc.tenants[k].table, zone: alloc.tenants[k].zone, ifIds: sorted(alloc.tenants[k].ifIds) }]));
  const body = stringify({ version: 1, next: alloc.next, tenants }, { lineWidth: 0 });
  return `# Written by s2sgw build: ids the gateway hosts need that the YAML does not give.\n# Commit it like a lock file. Ids never move and are never reused; do not edit by hand.\n${body}`;
}

function lockFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.') && !e.name.startsWith('dist')) out.push(...lockFiles(p));
    else if (e.name === 'allocations.lock.yaml') out.push(p);
  }
  return out;
}

function big(n: number): Allocations {
  const a: Allocations = { version: 1, next: { table: 1001 + n, zone: 1 + n, ifId: 1 + 3 * n }, tenants: {} };
  for (let i = 0; i < n; i++) a.tenants[`t${i}`] = { table: 1001 + i, zone: 1 + i, ifIds: { [`t${i}e1`]: 3 * i + 1, [`t${i}e2`]: 3 * i + 2, [`t${i}e3`]: 3 * i + 3 } };
  return a;
}

test('every lock in the repository reads the same as through the YAML parser and writes back byte for byte', () => {
  const files = lockFiles(ROOT);
  assert.ok(files.length >= 5, `found ${files.length} lock files`);
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    assert.equal(parseLock(text), parseDocument(text).toJS(), f);
    assert.is(formatLock(parseLock(text)), text, f);
  }
});

test('a 3,000-tenant lock, an empty one and awkward keys: written as the yaml package writes them, read back the same', () => {
  const odd: Allocations = { version: 1, next: { table: 1005, zone: 5, ifId: 9 }, tenants: {
    true: { table: 1001, zone: 1, ifIds: { null: 1, '123': 2 } },
    'a.b': { table: 1002, zone: 2, ifIds: {} },
    'yes': { table: 1003, zone: 3, ifIds: { 'x y': 3 } },
    plain: { table: 1004, zone: 4, ifIds: { 'If-1_a': 4 } },
  } };
  for (const a of [big(3000), { version: 1 as const, next: { table: 1001, zone: 1, ifId: 1 }, tenants: {} }, odd]) {
    const text = formatLock(a);
    assert.is(text, viaYaml(a));
    assert.equal(parseLock(text), parseDocument(text).toJS());
    assert.equal(parseLock(text), JSON.parse(JSON.stringify(a)));
  }
});

test('a hand-edited lock in another YAML layout is still read (through the YAML parser)', () => {
  const text = 'version: 1\nnext: { table: 1002, zone: 2, ifId: 2 }\ntenants:\n  contoso: { table: 1001, zone: 1, ifIds: { IfCe1: 1 } }\n';
  assert.equal(parseLock(text), { version: 1, next: { table: 1002, zone: 2, ifId: 2 }, tenants: { contoso: { table: 1001, zone: 1, ifIds: { IfCe1: 1 } } } });
  assert.throws(() => parseLock('version: 2\n'), /not an s2sgw lock file/);
});


test('names that are Object.prototype words: tenant `constructor`, connections `__proto__` and `toString` get ids that stay', () => {
  const dir = tempCopy(ROOT);
  const contoso = fs.readFileSync(path.join(dir, 'tenants/contoso.yaml'), 'utf8');
  fs.rmSync(path.join(dir, 'tenants/contoso.yaml'));
  fs.rmSync(path.join(dir, 'allocations.lock.yaml'), { force: true });
  const t = contoso.replace('tenant: contoso', 'tenant: constructor').replace('env:CONTOSO_NY_PSK', 'env:CONSTRUCTOR_NY_PSK').replace(/IfCe1/g, '__proto__');
  const second = t.replace(/^connections:\n/m, 'connections:\n  - { interface: toString, destination: 131.107.0.99, auth: { psk: env:CONSTRUCTOR_SF_PSK } }\n');
  fs.writeFileSync(path.join(dir, 'tenants/constructor.yaml'), second);
  const first = compileDir(dir);
  assert.equal(first.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  const ids = first.alloc!.tenants['constructor'];
  assert.ok(Object.hasOwn(first.alloc!.tenants, 'constructor') && Object.hasOwn(ids.ifIds, '__proto__') && Object.hasOwn(ids.ifIds, 'toString'));
  assert.equal([typeof ids.table, typeof ids.ifIds['__proto__'], typeof ids.ifIds['toString']], ['number', 'number', 'number']);
  // Written and read back, the ids stay: a second build changes nothing (build --locked would pass).
  fs.writeFileSync(path.join(dir, 'allocations.lock.yaml'), first.lockText!);
  assert.equal(parseLock(first.lockText!).tenants['constructor'].ifIds, ids.ifIds);
  const again = compileDir(dir);
  assert.equal(again.lockChanges, []);
  assert.is(again.lockText, first.lockText);
});

test.run();
