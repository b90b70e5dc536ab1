// The bench generator writes repositories that the real validate pipeline accepts, across the VLAN/VSID boundary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { generateTempRepo, MAX_VLAN, pskDestination, tenantName } from '../bench/generate';

/** Every diagnostic as one line, so a failure shows what the rules said. */
function show(dir: string): { ok: boolean; lines: string[]; tenants: number; codes: string[] } {
  const result = validate(loadConfig(dir));
  return {
    ok: result.ok,
    lines: result.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.severity} ${d.code}: ${d.message}`),
    tenants: result.model.tenants.length,
    codes: result.diagnostics.map((d) => d.code),
  };
}

function withRepo(opts: { tenants: number; first?: number }, fn: (dir: string) => void): void {
  const g = generateTempRepo(opts);
  try {
    fn(g.dir);
  } finally {
    fs.rmSync(g.dir, { recursive: true, force: true });
  }
}

test('50 generated tenants validate clean, every tenant in the model', () => {
  withRepo({ tenants: 50 }, (dir) => {
    assert.is(fs.readdirSync(path.join(dir, 'tenants')).length, 50);
    const r = show(dir);
    assert.equal(r.lines, [], 'no diagnostics at all, warnings included');
    assert.ok(r.ok);
    assert.is(r.tenants, 50);
  });
});

test('tenants on both sides of the last VLAN validate clean: VLAN up to 4094, VSID with VTEPs after', () => {
  withRepo({ tenants: 6, first: MAX_VLAN - 2 }, (dir) => {
    const r = show(dir);
    assert.equal(r.lines, []);
    assert.is(r.tenants, 6);
    const last = fs.readFileSync(path.join(dir, 'tenants', `${tenantName(MAX_VLAN)}.yaml`), 'utf8');
    const next = fs.readFileSync(path.join(dir, 'tenants', `${tenantName(MAX_VLAN + 1)}.yaml`), 'utf8');
    assert.match(last, /^ {2}vlan: 4094$/m);
    assert.not.match(next, /vlan:/);
    assert.match(next, /^ {2}vsid: \d+$/m);
    assert.match(next, /^ {2}vteps: \[/m);
  });
});

test('names stay within Linux limits and are unique at the largest index the bench uses', () => {
  const seen = new Set<string>();
  for (const i of [1, 9_999, 10_000, 123_456]) {
    const t = tenantName(i);
    assert.match(t, /^[a-z][a-z0-9-]{0,14}$/);
    for (const iface of [`${t}i`, `${t}e1`, `${t}e2`, `${t}e3`]) {
      assert.ok(iface.length <= 15, iface);
      assert.not.ok(seen.has(iface), iface);
      seen.add(iface);
    }
  }
  const dests = new Set<string>();
  for (let i = 1; i <= 10_000; i++) for (let k = 1; k <= 3; k++) dests.add(pskDestination(i, k));
  assert.is(dests.size, 30_000, 'PSK destinations are unique across 10,000 tenants');
});

test('the clean result is not vacuous: a copied PSK destination is reported', () => {
  withRepo({ tenants: 3 }, (dir) => {
    const file = path.join(dir, 'tenants', `${tenantName(3)}.yaml`);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(pskDestination(3, 1), pskDestination(1, 1)));
    const r = show(dir);
    assert.not.ok(r.ok);
    assert.ok(r.codes.includes('psk-destination-conflict'), r.lines.join('\n'));
  });
});

test.run();
