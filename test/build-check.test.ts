// The golden scenarios as a whole: together they use every key and enum value of both schemas, each validates clean, and every real tool accepts each bundle.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { FIXTURES, ROOT, cli, compileDir } from './helpers';
import { checkBundle } from '../src/bundle/check';
import { formatLines } from '../src/model/format';

const BUILD = path.join(FIXTURES, 'build');
/** The scenarios this suite owns: every build case with a tenants/ folder; the example's sources are the repository's own. */
const scenarios = fs
  .readdirSync(BUILD)
  .filter((c) => c !== 'example' && fs.existsSync(path.join(BUILD, c, 'tenants')))
  .sort();

/* eslint-disable @typescript-eslint/no-explicit-any */
type Schema = any;

const SCHEMA_DIR = path.join(ROOT, 'schema');
const schemas = new Map<string, Schema>(
  ['gateway.schema.json', 'tenant.schema.json'].map((f) => [f, JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, f), 'utf8'))]),
);

/** Follows `$ref` (local `#/...` or `other.schema.json#/...`) until a node without one; returns it and the file it lives in. */
function deref(node: Schema, file: string): { node: Schema; file: string } {
  while (node && typeof node.$ref === 'string') {
    const [target, pointer] = node.$ref.split('#');
    const f = target || file;
    let n = schemas.get(f);
    if (!n) throw new Error(`unresolvable $ref ${node.$ref} in ${file}`);
    for (const part of (pointer ?? '').split('/').filter(Boolean)) n = n[part];
    if (n === undefined) throw new Error(`unresolvable $ref ${node.$ref} in ${file}`);
    node = n;
    file = f;
  }
  return { node, file };
}

/**
 * Every property path of a schema (`a.b`, array items as `a[]`, e.g. `connections[].auth.eap.method`),
 * with the resolved node at each path. anyOf/oneOf/allOf branches are walked too.
 */
function schemaPaths(root: Schema, file: string): Map<string, Schema> {
  const out = new Map<string, Schema>();
  const walk = (raw: Schema, f: string, at: string, depth: number) => {
    if (depth > 20) throw new Error(`schema too deep at ${at}: a recursive $ref?`);
    const { node, file: nf } = deref(raw, f);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries<Schema>(node.properties ?? {})) {
      const p = at ? `${at}.${k}` : k;
      out.set(p, deref(v, nf).node);
      walk(v, nf, p, depth + 1);
    }
    if (node.items) walk(node.items, nf, `${at}[]`, depth + 1);
    // A map keyed by names (network.ha.addresses: gateway -> address): its keys are spelled `*`.
    if (node.additionalProperties && typeof node.additionalProperties === 'object') {
      out.set(`${at}.*`, deref(node.additionalProperties, nf).node);
      walk(node.additionalProperties, nf, `${at}.*`, depth + 1);
    }
    for (const key of ['anyOf', 'oneOf', 'allOf']) for (const b of node[key] ?? []) walk(b, nf, at, depth + 1);
  };
  walk(root, file, '', 0);
  return out;
}

/** Every key path a YAML value uses (same spelling as schemaPaths), with the scalar values seen at each. */
function dataPaths(value: unknown, at = '', out = new Map<string, unknown[]>()): Map<string, unknown[]> {
  if (Array.isArray(value)) for (const v of value) dataPaths(v, `${at}[]`, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = at ? `${at}.${k}` : k;
      if (!out.has(p)) out.set(p, []);
      if (v === null || typeof v !== 'object') out.get(p)!.push(v);
      dataPaths(v, p, out);
    }
  }
  return out;
}

function yamlFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(dir, f)) : [];
}

/** What the scenarios use, per kind of file; the keys of a map the schema names `*` (see schemaPaths) are spelled `*`. */
function usage(kind: 'gateways' | 'tenants'): Map<string, unknown[]> {
  const schema = KINDS.find((k) => k.kind === kind)!.schema;
  const maps = [...schemaPaths(schemas.get(schema), schema).keys()].filter((p) => p.endsWith('.*')).map((p) => p.slice(0, -1));
  const spell = (p: string) => {
    const m = maps.find((x) => p.startsWith(x));
    return m ? m + '*' + p.slice(m.length).replace(/^[^.[]+/, '') : p;
  };
  const all = new Map<string, unknown[]>();
  for (const c of scenarios) {
    for (const f of yamlFiles(path.join(BUILD, c, kind))) {
      for (const [raw, vs] of dataPaths(parse(fs.readFileSync(f, 'utf8')))) {
        const p = spell(raw);
        all.set(p, [...(all.get(p) ?? []), ...vs]);
      }
    }
  }
  return all;
}

const KINDS = [
  { kind: 'gateways' as const, schema: 'gateway.schema.json' },
  { kind: 'tenants' as const, schema: 'tenant.schema.json' },
];

test('the schema walker sees nested, array and cross-file paths (so the coverage test can fail)', () => {
  const t = schemaPaths(schemas.get('tenant.schema.json'), 'tenant.schema.json');
  for (const p of ['network.vsid', 'connections[].auth.eap.method', 'connections[].postConnectRoutes[].metric', 'connections[].rate.rxKbps', 'connections[].ike.lifetime', 'filters[].deny[].icmpCode', 'bgp.neighbors[].via']) {
    assert.ok(t.has(p), `tenant schema path ${p}`);
  }
  const g = schemaPaths(schemas.get('gateway.schema.json'), 'gateway.schema.json');
  for (const p of ['identity.trustAnchors', 'defaults.esp.proposals', 'defaults.rate.txKbps', 'trunk.underlayAddress']) assert.ok(g.has(p), `gateway schema path ${p}`);
  // A path the scenarios do not use is reported.
  const used = dataPaths(parse('tenant: a\nnetwork: { interface: x, vlan: 1 }\n'));
  assert.ok([...t.keys()].some((p) => !used.has(p)));
});

test(`the scenarios (${scenarios.join(', ')}) are at least six, each with a README.md`, () => {
  assert.ok(scenarios.length >= 6, `${scenarios.length} scenarios`);
  for (const c of scenarios) assert.ok(fs.existsSync(path.join(BUILD, c, 'README.md')), `${c}/README.md`);
});

for (const { kind, schema } of KINDS) {
  test(`every property path of ${schema} appears in a scenario's ${kind}/*.yaml`, () => {
    const used = usage(kind);
    const missing = [...schemaPaths(schemas.get(schema), schema).keys()].filter((p) => !used.has(p));
    assert.equal(missing, [], `unused ${schema} paths`);
    // And nothing the scenarios write is outside the schema (a typo would have been a validate error anyway).
    const known = schemaPaths(schemas.get(schema), schema);
    assert.equal([...used.keys()].filter((p) => !known.has(p)), []);
  });

  // (The gateway schema has no enum.)
  if (kind === 'tenants') test(`every enum value of ${schema} appears in a scenario's ${kind}/*.yaml`, () => {
    const used = usage(kind);
    // Paths sharing one definition (permit[] and deny[] rules) share their enum coverage.
    const seen = new Map<Schema, { paths: string[]; values: Set<unknown> }>();
    for (const [p, node] of schemaPaths(schemas.get(schema), schema)) {
      if (!Array.isArray(node.enum)) continue;
      const e = seen.get(node) ?? { paths: [], values: new Set() };
      e.paths.push(p);
      for (const v of used.get(p) ?? []) e.values.add(v);
      seen.set(node, e);
    }
    const missing = [...seen.entries()].flatMap(([node, { paths, values }]) =>
      (node.enum as unknown[]).filter((v) => !values.has(v)).map((v) => `${paths.join(' | ')}: ${String(v)}`),
    );
    assert.ok(seen.size > 0, 'the schema has enums');
    assert.equal(missing, []);
  });
}

/** fleet's lock still holds a removed tenant and connection (its README): the two warnings that build retires them, nothing else. */
const STALE_LOCK: Record<string, string[]> = { fleet: ['lock/unknown-connection', 'lock/unknown-tenant'] };

for (const c of scenarios) {
  test(`${c}: validates clean (no finding at all)`, async () => {
    const r = await cli(['validate', '--config', path.join(BUILD, c), '--format', 'json']);
    assert.is(r.code, 0, r.out + r.err);
    assert.equal(JSON.parse(r.out).diagnostics.map((d: { code: string }) => d.code), STALE_LOCK[c] ?? []);
  });
}

// The real tools: nft, vtysh, netplan generate, charon + swanctl, tc, ip, sysctl. This kernel lacks the
// vrf, 8021q, xfrm_interface and police modules: those lines are reported as */kernel-unsupported warnings
// (errors in CI with the lab's strict setting) and are exercised in the lab VM.
const times: string[] = [];
for (const [name, dir] of [['example', ROOT], ...scenarios.map((c) => [c, path.join(BUILD, c)])]) {
  test(`${name}: every real tool accepts every gateway's bundle`, async () => {
    const r = compileDir(dir);
    assert.is(formatLines(r.diagnostics.filter((d) => !(STALE_LOCK[name] ?? []).includes(d.code))), '');
    assert.ok(r.bundles.length > 0);
    for (const b of r.bundles) {
      const t0 = Date.now();
      const d = await checkBundle(b, r.model);
      times.push(`${name}/${b.gateway} ${Date.now() - t0} ms`);
      const bad = d.filter((x) => x.severity === 'error' || !/^[a-z]+\/kernel-unsupported$/.test(x.code));
      assert.equal(bad.map((x) => `${x.severity} ${x.code} ${x.file}:${x.line}: ${x.message}`), [], `${name}/${b.gateway}`);
    }
  });
}

test.after(() => {
  if (times.length) console.log(`\n  real-tool check times: ${times.join(', ')}`);
});

test.run();
