// Change classes (issue 18): every tenant schema field is classified; each class shows in plan's JSON and text
// with its reason; `plan --fail-on` exits 1 at its class or a worse one and names the changes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli, tempCopy } from './helpers';
import { CHANGE_CLASSES, LIFECYCLE, TENANT_FIELDS, classify } from '../src/plan/change-class';

type Node = Record<string, unknown>;
const schemas: Record<string, Node> = {
  'tenant.schema.json': JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'tenant.schema.json'), 'utf8')),
  'gateway.schema.json': JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'gateway.schema.json'), 'utf8')),
};

/** Resolves `#/$defs/x` (in `file`) or `other.schema.json#/$defs/x`. */
function deref(ref: string, file: string): { node: Node; file: string } {
  const [f, pointer] = ref.split('#');
  const target = f || file;
  let node: unknown = schemas[target];
  for (const part of pointer.split('/').filter(Boolean)) node = (node as Node)[part];
  assert.ok(node, `unresolved $ref ${ref} in ${file}`);
  return { node: node as Node, file: target };
}

/** Every property path of the tenant schema, `[]` for an array's items, through $refs, oneOf, anyOf, allOf, if/then/else. */
function fieldPaths(): string[] {
  const out = new Set<string>();
  const walk = (node: Node, file: string, at: string, seen: Set<string>) => {
    if (typeof node.$ref === 'string') {
      const key = `${file}${node.$ref}@${at}`;
      if (seen.has(key)) return;
      const d = deref(node.$ref, file);
      walk(d.node, d.file, at, new Set([...seen, key]));
    }
    for (const [k, v] of Object.entries((node.properties as Record<string, Node>) ?? {})) {
      const p = at ? `${at}.${k}` : k;
      out.add(p);
      walk(v, file, p, seen);
    }
    if (node.items && typeof node.items === 'object') {
      // Items that are plain values (strings, numbers) are the array field's own value.
      const items = node.items as Node;
      if (items.properties || items.$ref || items.oneOf || items.anyOf || items.allOf) {
        const resolved = items.$ref ? deref(items.$ref as string, file).node : items;
        if (resolved.properties || resolved.oneOf || resolved.anyOf || resolved.allOf) out.add(`${at}[]`);
        walk(items, file, `${at}[]`, seen);
      }
    }
    for (const k of ['oneOf', 'anyOf', 'allOf']) for (const s of (node[k] as Node[] | undefined) ?? []) walk(s, file, at, seen);
    for (const k of ['if', 'then', 'else', 'additionalProperties']) if (node[k] && typeof node[k] === 'object') walk(node[k] as Node, file, at, seen);
  };
  walk(schemas['tenant.schema.json'], 'tenant.schema.json', '', new Set());
  return [...out].sort();
}

test('every field of schema/tenant.schema.json has a change class, and the table names no field the schema lacks', () => {
  const fields = fieldPaths();
  assert.ok(fields.length > 50, `walked ${fields.length} fields`);
  // The walk reaches nested fields through $refs, also into gateway.schema.json.
  for (const f of ['network.vlan', 'connections[].auth.psk', 'connections[].ike.proposals', 'bgp.neighbors[].remoteAsn', 'filters[].permit[].icmpType']) assert.ok(fields.includes(f), f);
  const missing = fields.filter((f) => !TENANT_FIELDS[f]);
  assert.equal(missing, [], `classify these tenant fields in src/plan/change-class.ts: ${missing.join(', ')}`);
  const stale = Object.keys(TENANT_FIELDS).filter((f) => !fields.includes(f));
  assert.equal(stale, [], `src/plan/change-class.ts classifies fields the schema does not have: ${stale.join(', ')}`);
  for (const [f, c] of Object.entries({ ...TENANT_FIELDS, ...LIFECYCLE })) {
    assert.ok(CHANGE_CLASSES.includes(c.class), f);
    assert.ok(c.reason.length > 20, `${f}: a reason in words`);
    if (c.class === 'disruptive') assert.match(c.reason, /stop|until|for good|drops/, `${f}: a disruptive reason says how long traffic stops`);
  }
});

test('classify takes the worst class of the fields that changed', () => {
  assert.is(classify(['connections[].rate', 'connections[].ike']).class, 'rekey');
  assert.is(classify(['connections[].ike', 'connections[].destination']).class, 'replace');
  assert.is(classify(['network.vteps', 'network.vlan']).class, 'disruptive');
  assert.throws(() => classify(['no.such.field']), /no class for tenant field no\.such\.field/);
});

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, 'utf8');
  const next = text.replace(from, to);
  assert.is.not(next, text, `edit of ${file} changed nothing`);
  fs.writeFileSync(p, next);
}

/** Builds the example into out/, edits it, and plans against out/ (JSON and text). */
async function planAfter(change: (dir: string) => void, extra: string[] = []) {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  change(dir);
  const out = path.join(dir, 'out');
  const json = await cli(['plan', '--config', dir, '--against', out, '--format', 'json', ...extra]);
  const text = await cli(['plan', '--config', dir, '--against', out, ...extra]);
  return { dir, json, text, plan: JSON.parse(json.out) };
}

interface ClassCase {
  name: string;
  change: (dir: string) => void;
  /** The change's `kind subject action` and its class; the reason must match. */
  want: { kind: string; subject: string; action: string; class: string; reason: RegExp };
}

const CASES: ClassCase[] = [
  { name: 'a route', change: (d) => edit(d, 'tenants/contoso.yaml', 'metric: 100', 'metric: 90'), want: { kind: 'route', subject: '10.1.0.0/16 on IfCe1', action: 'changed', class: 'hitless', reason: /no SA or BGP session is touched/ } },
  { name: 'a filter', change: (d) => edit(d, 'tenants/contoso.yaml', '      - { protocol: icmp }', '      - { protocol: icmp }\n      - { protocol: udp, destinationPort: 53 }'), want: { kind: 'filter', subject: 'IfCi1 outbound', action: 'changed', class: 'hitless', reason: /nftables transaction/ } },
  { name: 'a rate', change: (d) => edit(d, 'tenants/contoso.yaml', 'txKbps: 1024,', 'txKbps: 2048,'), want: { kind: 'rate', subject: 'IfCe1', action: 'changed', class: 'hitless', reason: /tc rate/ } },
  { name: 'BGP policy', change: (d) => edit(d, 'tenants/contoso.yaml', 'advertise: [192.168.0.0/29]', 'advertise: [192.168.0.0/30]'), want: { kind: 'bgp', subject: 'AS 64512', action: 'changed', class: 'hitless', reason: /BGP policy/ } },
  { name: 'a prefix limit', change: (d) => edit(d, 'tenants/contoso.yaml', 'maxPrefixes: 1000', 'maxPrefixes: 500'), want: { kind: 'bgp', subject: 'AS 64512', action: 'changed', class: 'hitless', reason: /prefix limit/ } },
  { name: 'an ESP proposal', change: (d) => edit(d, 'tenants/contoso.yaml', '    rate: { txKbps: 1024', '    esp: { proposals: [aes128gcm16-ecp256] }\n    rate: { txKbps: 1024'), want: { kind: 'connection', subject: 'IfCe1', action: 'rekeyed', class: 'rekey', reason: /proposal or lifetime/ } },
  { name: 'an IKE lifetime', change: (d) => edit(d, 'tenants/contoso.yaml', '    rate: { txKbps: 1024', '    ike: { lifetime: 4h }\n    rate: { txKbps: 1024'), want: { kind: 'connection', subject: 'IfCe1', action: 'rekeyed', class: 'rekey', reason: /proposal or lifetime/ } },
  { name: 'a PSK reference', change: (d) => edit(d, 'tenants/contoso.yaml', 'env:CONTOSO_NY_PSK', 'env:CONTOSO_NY_PSK_2'), want: { kind: 'connection', subject: 'IfCe1', action: 'replaced', class: 'replace', reason: /make-before-break/ } },
  { name: 'a remote address', change: (d) => edit(d, 'tenants/contoso.yaml', '131.107.0.10', '131.107.0.20'), want: { kind: 'connection', subject: 'IfCe1', action: 'replaced', class: 'replace', reason: /address of the tunnel.*make-before-break/ } },
  { name: 'a remote identity', change: (d) => edit(d, 'tenants/contoso.yaml', '    connect: on-demand', '    remoteId: ny.contoso.example\n    connect: on-demand'), want: { kind: 'connection', subject: 'IfCe1', action: 'replaced', class: 'replace', reason: /identity or credentials/ } },
  { name: 'the traffic selectors', change: (d) => edit(d, 'tenants/contoso.yaml', '    connect: on-demand', '    trafficSelectors: policy-based\n    connect: on-demand'), want: { kind: 'connection', subject: 'IfCe1', action: 'replaced', class: 'replace', reason: /traffic selectors change/ } },
  { name: 'a VLAN', change: (d) => edit(d, 'tenants/contoso.yaml', 'vlan: 4000', 'vlan: 4010'), want: { kind: 'network', subject: 'IfCi1', action: 'changed', class: 'disruptive', reason: /link is recreated.*about a second/ } },
  { name: 'a tenant address', change: (d) => edit(d, 'tenants/contoso.yaml', 'addresses: [192.168.0.1/29]', 'addresses: [192.168.0.2/29]'), want: { kind: 'network', subject: 'IfCi1', action: 'changed', class: 'disruptive', reason: /address changes.*about a second/ } },
  { name: 'a tenant removed', change: (d) => fs.rmSync(path.join(d, 'tenants', 'contoso.yaml')), want: { kind: 'tenant', subject: 'IfCi1', action: 'removed', class: 'disruptive', reason: /stops for good/ } },
];

for (const c of CASES) {
  test(`class of ${c.name}: ${c.want.class}, in JSON and text`, async () => {
    const r = await planAfter(c.change);
    assert.is(r.json.code, 3, r.json.err);
    const changes = r.plan.gateways[0].impact.tenants.flatMap((t: { changes: unknown[] }) => t.changes) as Array<Record<string, string>>;
    const hit = changes.find((x) => x.kind === c.want.kind && x.subject === c.want.subject && x.action === c.want.action);
    assert.ok(hit, `${c.name}: ${JSON.stringify(changes)}`);
    assert.is(hit!.class, c.want.class);
    assert.match(hit!.reason, c.want.reason);
    // Every change has exactly one class, with a reason.
    for (const x of changes) assert.ok(CHANGE_CLASSES.includes(x.class as never) && x.reason, JSON.stringify(x));
    assert.is(r.plan.gateways[0].impact.totals.class, c.want.class);
    // The text names the class on the change's line and gives the reason below it.
    const lines = r.text.out.split('\n');
    const at = lines.findIndex((l) => l.includes(` ${c.want.subject} ${c.want.action}`) && l.includes(`[${c.want.class}]`));
    assert.ok(at >= 0, r.text.out);
    assert.is(lines[at + 1].trim(), `${c.want.class}: ${hit!.reason}`);
    assert.match(r.text.out, new RegExp(`worst class ${c.want.class}`));
  });
}

test('the markdown plan shows each change class with its reason', async () => {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  edit(dir, 'tenants/contoso.yaml', 'vlan: 4000', 'vlan: 4010');
  const r = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--format', 'markdown']);
  assert.is(r.code, 3);
  assert.match(r.out, /\| gw1 \| \*\*disruptive\*\* \|/);
  assert.match(r.out, /network `IfCi1` changed: .* — \*\*disruptive\*\*: the tenant's VLAN\/VXLAN link is recreated/);
});

// --fail-on: each threshold against each class; exit 1 at the threshold or worse, else the usual 3.
const FAIL_ON: Array<{ change: number; failOn: string; code: number }> = [];
const byClass = Object.fromEntries(Object.entries({ hitless: 'a route', rekey: 'an ESP proposal', replace: 'a PSK reference', disruptive: 'a VLAN' }).map(([k, n]) => [k, CASES.findIndex((c) => c.name === n)]));
for (const [cls, i] of Object.entries(byClass))
  for (const failOn of ['rekey', 'replace', 'disruptive']) FAIL_ON.push({ change: i, failOn, code: CHANGE_CLASSES.indexOf(cls as never) >= CHANGE_CLASSES.indexOf(failOn as never) ? 1 : 3 });

for (const f of FAIL_ON) {
  const c = CASES[f.change];
  test(`plan --fail-on ${f.failOn} with a ${c.want.class} change (${c.name}): exit ${f.code}`, async () => {
    const r = await planAfter(c.change, ['--fail-on', f.failOn]);
    assert.is(r.json.code, f.code, r.json.err);
    assert.is(r.text.code, f.code, r.text.err);
    // The plan is printed either way, so a pull request can still show it.
    assert.ok(JSON.parse(r.json.out).changed);
    if (f.code === 1) {
      assert.match(r.text.err, new RegExp(`--fail-on ${f.failOn}: 1 change of class ${f.failOn} or worse planned`));
      assert.match(r.text.err, new RegExp(`gw1 contoso: ${c.want.kind} ${c.want.subject.replace(/[./]/g, '\\$&')} ${c.want.action} \\(${c.want.class}: `));
    } else assert.not.match(r.text.err, /--fail-on/);
  });
}

test('plan --fail-on with no change exits 0; a bad class is a usage error', async () => {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.is((await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--fail-on', 'rekey'])).code, 0);
  for (const bad of ['hitless', 'outage']) {
    const r = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--fail-on', bad]);
    assert.is(r.code, 2, bad);
    assert.match(r.err, new RegExp(`--fail-on must be one of rekey, replace, disruptive, got ${bad}`));
  }
});

test('a tenant removal with several disruptive changes: --fail-on names each of them', async () => {
  const r = await planAfter((d) => fs.rmSync(path.join(d, 'tenants', 'woodgrove.yaml')), ['--fail-on', 'disruptive']);
  assert.is(r.text.code, 1);
  assert.match(r.text.err, /4 changes of class disruptive or worse planned/);
  for (const s of ['tenant IfWi1 removed', 'connection IfWe1 removed', 'connection IfWe2 removed', 'bgp AS 64512 removed']) assert.ok(r.text.err.includes(`gw1 woodgrove: ${s} (disruptive: `), s);
  assert.not.ok(r.text.err.includes('filter'), 'a hitless change is not named');
});

test.run();
