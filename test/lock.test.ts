// allocations.lock.yaml is written and read line by line: the result must be exactly what the yaml
// package writes and reads, for every lock in the fixtures, a large one, and keys YAML would misread.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { Allocations, formatLock, parseLock } from '../src/model/lock';
import { cli, compileDir, tempCopy } from './helpers';

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

// Issue 17: whatever main's `build --locked` refuses, the pull request's `validate --locked` and `plan --locked`
// refuse first, with the same finding in the same order and the same exit code (one function: allocateLocked).
const STALE: Array<{ name: string; change: (dir: string) => void; what: RegExp }> = [
  {
    name: 'a tenant added without its lock entry',
    change: (d) => fs.writeFileSync(path.join(d, 'tenants', 'fabrikam-lab.yaml'), 'tenant: fabrikam-lab\nroutingDomain: "{12345678-1000-2000-3000-123456780009}"\ngateways: [gw1]\nnetwork: { interface: IfLi1, vlan: 4009, addresses: [192.168.0.1/29] }\nconnections:\n  - interface: IfLe1\n    destination: 131.107.9.10\n    auth: { psk: env:FABRIKAM_LAB_PSK }\n'),
    what: /--locked: the lock file would change \(2 changes\): tenant fabrikam-lab: table 1003, zone 3; connection fabrikam-lab\/IfLe1: if_id 4/,
  },
  { name: 'a tenant removed with its lock entry left', change: (d) => fs.rmSync(path.join(d, 'tenants', 'woodgrove.yaml')), what: /--locked: the lock file would change \(1 change\): .*woodgrove/ },
  { name: 'a connection added without its if_id', change: (d) => fs.writeFileSync(path.join(d, 'tenants', 'contoso.yaml'), fs.readFileSync(path.join(d, 'tenants', 'contoso.yaml'), 'utf8').replace('bgp:\n', '  - interface: IfCe2\n    destination: 131.107.0.20\n    auth: { psk: env:CONTOSO_SF_PSK }\nbgp:\n')), what: /--locked: the lock file would change \(1 change\): .*IfCe2/ },
];

for (const c of STALE) {
  test(`stale lock (${c.name}): validate --locked, plan --locked and build --locked give the same finding and exit 1`, async () => {
    const dir = tempCopy(ROOT);
    const out = path.join(dir, 'base');
    assert.is((await cli(['build', '--config', dir, '--out', out])).code, 0);
    const lockBefore = fs.readFileSync(path.join(dir, 'allocations.lock.yaml'), 'utf8');
    c.change(dir);
    // Without --locked, validate and plan pass: the gap issue 17 closes.
    assert.is((await cli(['validate', '--config', dir])).code, 0);
    assert.is((await cli(['plan', '--config', dir, '--against', out])).code, 3);
    const runs = {
      validate: await cli(['validate', '--locked', '--config', dir, '--format', 'json']),
      plan: await cli(['plan', '--locked', '--config', dir, '--against', out, '--format', 'json']),
      build: await cli(['build', '--locked', '--config', dir, '--format', 'json']),
    };
    const findings = (JSON.parse(runs.build.out) as { diagnostics: Array<{ code: string; message: string }> }).diagnostics;
    const stop = findings.filter((f) => f.code === 'lock/would-change');
    assert.is(stop.length, 1, runs.build.out);
    assert.match(stop[0].message, c.what, stop[0].message);
    for (const [name, r] of Object.entries(runs)) {
      assert.is(r.code, 1, `${name}: ${r.err}`);
      // The same findings, byte for byte (build's JSON wraps them in its versioned envelope).
      assert.is(JSON.stringify((JSON.parse(r.out) as { diagnostics: unknown }).diagnostics), JSON.stringify(findings), name);
    }
    // In text the same finding, word for word (build adds only that it wrote nothing).
    const text = {
      validate: await cli(['validate', '--locked', '--config', dir]),
      plan: await cli(['plan', '--locked', '--config', dir, '--against', out]),
      build: await cli(['build', '--locked', '--config', dir]),
    };
    assert.is(text.build.err, `${text.validate.err}build: nothing written\n`);
    assert.is(text.plan.err, text.validate.err);
    assert.is(text.plan.out, '');
    // Nothing was written: not the lock, not out/.
    assert.is(fs.readFileSync(path.join(dir, 'allocations.lock.yaml'), 'utf8'), lockBefore);
    assert.not.ok(fs.existsSync(path.join(dir, 'out')));
    // Once the lock is rebuilt and committed, all three pass.
    assert.is((await cli(['build', '--config', dir, '--out', path.join(dir, 'scratch')])).code, 0);
    assert.is((await cli(['validate', '--locked', '--config', dir])).code, 0);
    assert.is((await cli(['plan', '--locked', '--config', dir, '--against', out])).code, 3);
    assert.is((await cli(['build', '--locked', '--config', dir])).code, 0);
  });
}

test('validate --locked and plan --locked on a current lock change nothing about their results', async () => {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  const plain = await cli(['validate', '--config', dir, '--format', 'json']);
  const locked = await cli(['validate', '--locked', '--config', dir, '--format', 'json']);
  assert.equal([locked.code, locked.out], [plain.code, plain.out]);
  assert.is((await cli(['plan', '--locked', '--config', dir, '--against', path.join(dir, 'out')])).code, 0);
});

test.run();
