// The netplan target: golden files, netplan generate on a scratch root (networkd files asserted), merging with the host's own netplan, error mapping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock, Allocations } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { RenderedFile, TargetInput, text } from '../src/targets/target';
import { render, check, NETPLAN_YAML, NETPLAN_FDB, NETWORKD_CONF } from '../src/targets/netplan';
import { parseUnit } from '../src/targets/netplan/check';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLE = ROOT;
const VSID = path.join(ROOT, 'test', 'fixtures', 'links', 'vsid');
const GOLDEN = path.join(ROOT, 'test', 'fixtures', 'netplan');
const UPDATE = process.env.UPDATE === '1';

/** The real pipeline: load, validate, allocate; the first gateway's target input. */
function build(dir: string, prev: Allocations = emptyLock(), drop: string[] = []): TargetInput {
  const v = validate(loadConfig(dir));
  assert.ok(v.ok, JSON.stringify(v.diagnostics.filter((d) => d.severity === 'error'), null, 1));
  const model = { ...v.model, tenants: v.model.tenants.filter((t) => !drop.includes(t.name)) };
  const { alloc } = allocate(model, prev);
  const gateway = model.gateways[0];
  return { model, gateway, tenants: tenantsOn(model, gateway.name), alloc };
}

function golden(name: string, files: RenderedFile[], paths: string[]) {
  for (const p of paths) {
    const f = files.find((x) => x.path === p);
    assert.ok(f, `rendered ${p}`);
    const want = path.join(GOLDEN, name, 'expected', p);
    if (UPDATE) {
      fs.mkdirSync(path.dirname(want), { recursive: true });
      fs.writeFileSync(want, text(f!));
    }
    assert.fixture(text(f!), fs.readFileSync(want, 'utf8'), `${name}/${p}`);
  }
}

/** netplan generate on a scratch root holding our file (and optional host files); returns the networkd folder's files. */
function generate(files: Record<string, string>): { code: number; stderr: string; out: Map<string, string> } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-netplan-test-'));
  try {
    fs.mkdirSync(path.join(root, 'etc', 'netplan'), { recursive: true });
    for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(root, 'etc', 'netplan', name), body, { mode: 0o600 });
    const r = spawnSync('netplan', ['generate', '--root-dir', root], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    assert.ok(!r.error, `netplan must be installed: ${r.error?.message}`);
    const dir = path.join(root, 'run', 'systemd', 'network');
    const out = new Map<string, string>();
    if (fs.existsSync(dir)) for (const n of fs.readdirSync(dir).sort()) out.set(n, fs.readFileSync(path.join(dir, n), 'utf8'));
    return { code: r.status ?? 128, stderr: r.stderr, out };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const unitValue = (s: string | undefined, section: string, key: string) => parseUnit(s ?? '').get(section)?.get(key) ?? [];

test('golden: the bundled example and the VSID scenario', () => {
  golden('example', render(build(EXAMPLE)), [NETPLAN_YAML, NETPLAN_FDB, NETWORKD_CONF]);
  golden('vsid', render(build(VSID)), [NETPLAN_YAML, NETPLAN_FDB, NETWORKD_CONF]);
});

test('the netplan file is mode 0600 and two renders give the same bytes', () => {
  const a = render(build(VSID));
  const b = render(build(VSID));
  assert.is(a.find((f) => f.path === NETPLAN_YAML)!.mode, 0o600);
  assert.equal(a.map((f) => [f.path, text(f)]), b.map((f) => [f.path, text(f)]));
});

test('netplan generate writes the VLAN, VXLAN and VRF networkd files for the VSID scenario', () => {
  const yaml = text(render(build(VSID)).find((f) => f.path === NETPLAN_YAML)!);
  const r = generate({ '90-s2sgw.yaml': yaml });
  assert.is(r.code, 0, r.stderr);
  assert.equal(
    [...r.out.keys()],
    ['IfCi1', 'IfNi1', 'contoso', 'eth1', 'northwind', 'null', 'true'].flatMap((n) => (n === 'eth1' ? [`10-netplan-${n}.network`] : [`10-netplan-${n}.netdev`, `10-netplan-${n}.network`])).sort(),
  );
  const vx = r.out.get('10-netplan-IfNi1.netdev');
  assert.equal(unitValue(vx, 'NetDev', 'Kind'), ['vxlan']);
  assert.equal(unitValue(vx, 'VXLAN', 'VNI'), ['5001']);
  assert.equal(unitValue(vx, 'VXLAN', 'Remote'), ['10.0.0.20'], 'the first VTEP is the device remote; the others are flood entries');
  assert.equal(unitValue(vx, 'VXLAN', 'Local'), ['10.0.0.5']);
  assert.equal(unitValue(vx, 'VXLAN', 'DestinationPort'), ['4789']);
  const vxn = r.out.get('10-netplan-IfNi1.network');
  assert.equal(unitValue(vxn, 'Network', 'Address'), ['192.168.10.1/24', '2001:db8:10::1/64']);
  assert.equal(unitValue(vxn, 'Network', 'VRF'), ['northwind']);
  assert.equal(unitValue(r.out.get('10-netplan-IfCi1.netdev'), 'VLAN', 'Id'), ['4000']);
  assert.equal(unitValue(r.out.get('10-netplan-IfCi1.network'), 'Network', 'Address'), ['192.168.0.1/29', 'fd00:c::1/64']);
  assert.equal(unitValue(r.out.get('10-netplan-northwind.netdev'), 'VRF', 'Table'), ['1002']);
  assert.equal(unitValue(r.out.get('10-netplan-null.netdev'), 'VRF', 'Table'), ['1003'], 'a VRF named null stays a string');
  assert.equal(unitValue(r.out.get('10-netplan-true.network'), 'Network', 'VRF'), ['null'], 'an interface named true stays a string');
  assert.equal(unitValue(r.out.get('10-netplan-eth1.network'), 'Network', 'VLAN'), ['IfCi1']);
  assert.equal(unitValue(r.out.get('10-netplan-eth1.network'), 'Network', 'VXLAN').sort(), ['IfNi1', 'true']);
});

test("the trunk entry merges with the host's own netplan definition of it and changes none of its settings", () => {
  const host = 'network:\n  version: 2\n  ethernets:\n    eth1:\n      addresses: [10.0.0.5/24]\n      mtu: 9000\n      dhcp4: false\n';
  const alone = generate({ '50-host.yaml': host });
  assert.is(alone.code, 0, alone.stderr);
  const yaml = text(render(build(VSID)).find((f) => f.path === NETPLAN_YAML)!);
  const both = generate({ '50-host.yaml': host, '90-s2sgw.yaml': yaml });
  assert.is(both.code, 0, both.stderr);
  const before = parseUnit(alone.out.get('10-netplan-eth1.network')!);
  const after = parseUnit(both.out.get('10-netplan-eth1.network')!);
  for (const [section, keys] of before) for (const [k, v] of keys) assert.equal(after.get(section)?.get(k), v, `host's [${section}] ${k} kept`);
  assert.equal(after.get('Network')?.get('Address'), ['10.0.0.5/24']);
  assert.equal(after.get('Network')?.get('VLAN'), ['IfCi1']);
  assert.equal(both.out.get('10-netplan-eth1.link'), alone.out.get('10-netplan-eth1.link'), "the .link (MTU) is the host's");
});

test('check: netplan generate accepts both scenarios and the networkd files match', async () => {
  for (const dir of [EXAMPLE, VSID]) {
    const input = build(dir);
    const files = render(input);
    const d = await check({ dir: '', files, gateway: input.gateway, tenants: input.tenants });
    assert.equal(d, [], `${dir}: ${JSON.stringify(d)}`);
  }
});

test('check: a line netplan rejects is reported at the tenant line its section came from', async () => {
  const input = build(VSID);
  const files = render(input);
  const f = files.find((x) => x.path === NETPLAN_YAML)!;
  const s = f.sections.find((x) => x.tenant === 'contoso' && x.text.includes('id: 4000'))!;
  s.text = s.text.replace('id: 4000', 'id: 5000');
  const d = await check({ dir: '', files, gateway: input.gateway, tenants: input.tenants });
  assert.is(d.length, 1, JSON.stringify(d));
  assert.is(d[0].code, 'netplan/check');
  assert.is(d[0].severity, 'error');
  const contoso = input.tenants.find((t) => t.name === 'contoso')!;
  assert.equal([d[0].file, d[0].line], [contoso.file, contoso.network.origin.line]);
  assert.match(d[0].message, /invalid id '5000'/);
  assert.match(d[0].message, /netplan\/90-s2sgw\.yaml:\d+:\d+ \(id: 5000\)/);
});

test('check: netplan 0.106 crashing (routes under a VRF) is an error, not a pass', async () => {
  const input = build(EXAMPLE);
  const files = render(input);
  const f = files.find((x) => x.path === NETPLAN_YAML)!;
  const s = f.sections.find((x) => x.tenant === 'contoso' && x.text.includes('table:'))!;
  s.text += '      routes: [{ to: 10.9.0.0/16, via: 192.168.0.2 }]\n';
  const d = await check({ dir: '', files, gateway: input.gateway, tenants: input.tenants });
  assert.ok(d.some((x) => x.code === 'netplan/check' && x.severity === 'error' && /netplan generate crashed \(segmentation fault\)/.test(x.message)), JSON.stringify(d));
});

test("adding a tenant changes no other tenant's sections", () => {
  const before = build(VSID, emptyLock(), ['northwind']);
  const after = build(VSID, before.alloc);
  const sections = (fs2: RenderedFile[], tenant: string) => fs2.flatMap((f) => f.sections.filter((s) => s.tenant === tenant).map((s) => `${f.path}\n${s.text}`));
  const a = render(before);
  const b = render(after);
  for (const t of ['contoso', 'null']) assert.equal(sections(b, t), sections(a, t), t);
  assert.ok(sections(b, 'northwind').length > 0);
  assert.ok(text(b.find((f) => f.path === NETPLAN_FDB)!).includes('dev IfNi1 dst 10.0.0.22'));
});

test.run();
