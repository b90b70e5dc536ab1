// The frr target: exact frr.conf for the bundled example and a richer scenario, tenant isolation, and FRR's own tools on the output.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import type { Model } from '../src/model/model';
import type { CheckInput, RenderedFile, TargetInput } from '../src/targets/target';
import { text } from '../src/targets/target';
import { target, render, FRR_CONF } from '../src/targets/frr';
import { toView } from '../src/targets/frr/view';
import { reloadDiff, parseReloadDiff, vtyshCheck, describe } from '../src/targets/frr/check';
import { formatLines } from '../src/model/format';

const ROOT = path.resolve(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'frr');
const UPDATE = process.env.UPDATE === '1';

/** The real pipeline: load, validate (schema + rules), allocate from an empty lock. */
function inputFor(dir: string, gateway = 'gw1'): TargetInput {
  const v = validate(loadConfig(dir));
  assert.is(formatLines(v.diagnostics), '', `${dir} should validate clean`);
  const { alloc } = allocate(v.model, emptyLock());
  const gw = v.model.gateways.find((g) => g.name === gateway)!;
  return { model: v.model, gateway: gw, tenants: tenantsOn(v.model, gw.name), alloc };
}

function conf(input: TargetInput): RenderedFile {
  const files = render(input);
  assert.equal(files.map((f) => f.path), [FRR_CONF]);
  return files[0];
}

function golden(name: string, actual: string): void {
  const file = path.join(FIX, name);
  if (UPDATE) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
  }
  assert.fixture(actual, fs.readFileSync(file, 'utf8'), name);
}

const temps: string[] = [];
process.on('exit', () => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-frr-test-'));
  temps.push(d);
  return d;
}

/** A temp copy of a config folder (gateways/ and tenants/). */
function copyConfig(dir: string): string {
  const d = tempDir();
  for (const sub of ['gateways', 'tenants']) fs.cpSync(path.join(dir, sub), path.join(d, sub), { recursive: true });
  return d;
}

/** Writes a rendered frr.conf where the check expects it and runs the target's check. */
async function check(input: TargetInput, file: RenderedFile): Promise<ReturnType<typeof target.check>> {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'frr'), { recursive: true });
  fs.writeFileSync(path.join(dir, FRR_CONF), text(file));
  const c: CheckInput = { dir, files: [file], gateway: input.gateway, tenants: input.tenants };
  return target.check(c);
}

function tenantText(file: RenderedFile, tenant: string): string {
  return file.sections.filter((s) => s.tenant === tenant).map((s) => s.text).join('');
}

/** 1-based line in a YAML file of the first line starting with `prefix`. */
function yamlLine(file: string, prefix: string): number {
  return fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.startsWith(prefix)) + 1;
}

test('bundled example: exact frr.conf', () => {
  golden('example.frr.conf', text(conf(inputFor(ROOT))));
});

test('richer scenario: exact frr.conf (IPv6, 4-byte ASN, standby route, tenant without BGP, nothing to advertise)', () => {
  golden('rich/frr.conf', text(conf(inputFor(path.join(FIX, 'rich')))));
});

test('metric becomes the distance; the default distance 1 is left out as FRR prints it; trigger routes at distance 1', () => {
  const f = text(conf(inputFor(path.join(FIX, 'rich'))));
  assert.ok(f.includes('\n ip route 10.20.0.0/16 IfAe1 10\n ip route 10.20.0.0/16 IfAe2 200\n'), 'primary and standby of one prefix');
  assert.ok(f.includes('\n ip route 10.30.0.0/16 IfAe1\n'), 'metric 1 (default) without a distance');
  assert.ok(f.includes('\n ipv6 route fd00:21::/48 IfAe2 255\n'), 'the top of the range');
  assert.ok(f.includes('\n ip route 10.20.0.1/32 IfAe1\n'), 'IPv4 trigger route');
  assert.ok(f.includes('\n ipv6 route fd00:20::1/128 IfAe1\n'), 'IPv6 trigger route');
  assert.not.ok(/10\.40\.0\.0|172\.31\.0\.0/.test(f), 'post-connect routes are the updown hook\'s, not FRR\'s');
});

test('IPv6 neighbors are activated under ipv6 unicast only, IPv4 ones under ipv4 unicast only', () => {
  const f = tenantText(conf(inputFor(path.join(FIX, 'rich'))), 'alpha');
  const af = (afi: string) => f.split(`address-family ${afi} unicast\n`)[1].split(' exit-address-family')[0];
  assert.ok(af('ipv6').includes('  neighbor fd00:20::1 activate\n'));
  assert.not.ok(af('ipv6').includes('10.20.0.1'));
  assert.ok(af('ipv4').includes('  neighbor 10.20.0.1 activate\n'));
  assert.not.ok(af('ipv4').includes('fd00:20::1'));
  assert.ok(f.includes(' no bgp default ipv4-unicast\n'));
  assert.ok(f.includes(' neighbor fd00:20::1 update-source fd00:a::1\n'), 'update-source is the tenant address of the neighbor family');
  assert.ok(f.includes(' neighbor 10.20.0.1 update-source 10.10.0.1\n'));
  assert.ok(af('ipv6').includes('  network fd00:a::/64\n'));
  assert.ok(f.includes('ipv6 prefix-list s2sgw-alpha-out6 seq 5 permit fd00:a::/64\n'));
});

test('4-byte ASNs are written as plain numbers', () => {
  const f = tenantText(conf(inputFor(path.join(FIX, 'rich'))), 'alpha');
  assert.ok(f.includes('router bgp 4200000001 vrf alpha\n'));
  assert.ok(f.includes(' neighbor 10.20.0.1 remote-as 4200000002\n'));
});

test('a tenant without BGP has its VRF routes and nothing else', () => {
  const f = tenantText(conf(inputFor(path.join(FIX, 'rich'))), 'beta');
  assert.is(f, '!\n! tenant beta: tenants/beta.yaml\n!\nvrf beta\n ip route 172.16.0.0/12 IfBe1 5\nexit-vrf\n');
});

test('a tenant with nothing to advertise denies everything outbound', () => {
  const f = tenantText(conf(inputFor(path.join(FIX, 'rich'))), 'gamma');
  assert.ok(f.includes('ipv6 prefix-list s2sgw-gamma-out6 seq 5 deny any\n'));
  assert.not.ok(f.includes('network '));
  assert.not.ok(f.includes('address-family ipv4'));
});

test('every tenant section names only its own tenant', () => {
  for (const dir of [ROOT, path.join(FIX, 'rich')]) {
    const file = conf(inputFor(dir));
    for (const s of file.sections) {
      const names = [...s.text.matchAll(/\bvrf (\S+)|s2sgw-([a-z0-9-]+?)-(?:in|out)[46]\b|^! tenant (\S+):/gm)].map((m) => m[1] ?? m[2] ?? m[3]);
      if (s.tenant === undefined) assert.equal(names, [], 'gateway sections name no tenant');
      else for (const n of names) assert.is(n, s.tenant, `a line of ${s.tenant}'s section names ${n}`);
    }
  }
});

test('determinism: same input, same bytes; tenant order in the model does not matter', () => {
  const input = inputFor(path.join(FIX, 'rich'));
  const a = text(conf(input));
  assert.is(text(conf(inputFor(path.join(FIX, 'rich')))), a);
  const model: Model = { ...input.model, tenants: [...input.model.tenants].reverse() };
  assert.is(text(conf({ ...input, model, tenants: [...input.tenants].reverse() })), a);
});

test('adding a tenant changes no other tenant\'s lines and no gateway line', () => {
  const dir = copyConfig(ROOT);
  const before = conf(inputFor(dir));
  fs.writeFileSync(
    path.join(dir, 'tenants', 'adatum.yaml'),
    [
      'tenant: adatum',
      'routingDomain: "{12345678-1000-2000-3000-123456780003}"',
      'gateways: [gw1]',
      'network: { interface: IfDi1, vlan: 4002, addresses: [192.168.0.1/29] }',
      'connections:',
      '  - { interface: IfDe1, destination: 131.107.3.10, auth: { psk: env:ADATUM_PSK }, routes: [ { to: 10.1.0.0/16, metric: 100 } ] }',
      'bgp: { asn: 64512, routerId: 192.168.0.1, neighbors: [ { address: 10.1.0.1, remoteAsn: 65003, via: IfDe1 } ], advertise: [192.168.0.0/29] }',
      '',
    ].join('\n'),
  );
  const after = conf(inputFor(dir));
  for (const t of ['contoso', 'woodgrove']) assert.is(tenantText(after, t), tenantText(before, t), t);
  const gw = (f: RenderedFile) => f.sections.filter((s) => s.tenant === undefined).map((s) => s.text).join('');
  assert.is(gw(after), gw(before));
  assert.ok(tenantText(after, 'adatum').includes('router bgp 64512 vrf adatum\n'));
  // The new tenant sorts first, so the old text is a suffix of the new one, after adatum's lines.
  assert.is(text(after), gw(after) + tenantText(after, 'adatum') + text(before).slice(gw(before).length));
});

test('names that would inject a line or a token are refused by the view', () => {
  const input = inputFor(ROOT);
  const bad = (mut: (i: TargetInput) => void) => {
    const i = { ...input, tenants: input.tenants.map((t) => structuredClone(t)) };
    mut(i);
    assert.throws(() => toView(i), /cannot be written/);
  };
  bad((i) => (i.tenants[0].connections[0].interface = 'IfCe1\nip route 0.0.0.0/0 eth0'));
  bad((i) => (i.tenants[0].bgp!.neighbors[0].address = '10.1.0.1 remote-as 1'));
  bad((i) => (i.tenants[0].name = 'contoso evil'));
  bad((i) => (i.tenants[0].file = 'tenants/x\ny.yaml'));
});

test('vtysh -C and a load into zebra/staticd/bgpd accept the bundled example', async () => {
  const input = inputFor(ROOT);
  assert.equal(await check(input, conf(input)), []);
});

test('vtysh -C and a load into zebra/staticd/bgpd accept the richer scenario', async () => {
  const input = inputFor(path.join(FIX, 'rich'));
  assert.equal(await check(input, conf(input)), []);
});

test('a line vtysh rejects maps to the frr.conf line and the tenant file place', async () => {
  const input = inputFor(ROOT);
  const file = conf(input);
  const broken: RenderedFile = {
    ...file,
    sections: file.sections.map((s) => (s.tenant === 'woodgrove' && s.text.startsWith('!\nrouter bgp') ? { ...s, text: s.text.replace(' timers connect 5\n', ' timers connect 5\n neighbor 10.2.0.1 no-such-option\n') } : s)),
  };
  const lineNo = text(broken).split('\n').indexOf(' neighbor 10.2.0.1 no-such-option') + 1;
  assert.ok(lineNo > 0);
  const diags = await check(input, broken);
  assert.is(diags.length, 1, JSON.stringify(diags));
  const d = diags[0];
  assert.is(d.code, 'frr/check');
  assert.is(d.severity, 'error');
  assert.is(d.file, 'tenants/woodgrove.yaml');
  assert.is(d.line, yamlLine(path.join(ROOT, 'tenants', 'woodgrove.yaml'), 'bgp:') + 1, 'the bgp block of the tenant file');
  assert.match(d.message, `line ${lineNo}`);
  assert.match(d.message, 'no-such-option');
  assert.equal(d.related, [{ file: 'out/gw1/frr/frr.conf', line: lineNo, col: 1, message: 'rendered line:  neighbor 10.2.0.1 no-such-option' }]);
});

test('a line FRR stores in another form is reported by the load check at the tenant', async () => {
  const input = inputFor(ROOT);
  const file = conf(input);
  // Explicit distance 1: vtysh -C accepts it, but FRR stores it without, so every reload would churn.
  const odd: RenderedFile = { ...file, sections: file.sections.map((s) => ({ ...s, text: s.text.replace(' ip route 10.1.0.1/32 IfCe1\n', ' ip route 10.1.0.1/32 IfCe1 1\n') })) };
  const lineNo = text(odd).split('\n').indexOf(' ip route 10.1.0.1/32 IfCe1 1') + 1;
  const diags = await check(input, odd);
  // The VRF block comes from the tenant's connections: the list starts on the line after `connections:`.
  const connections = yamlLine(path.join(ROOT, 'tenants', 'contoso.yaml'), 'connections:') + 1;
  assert.equal(
    diags.map((d) => [d.code, d.file, d.line, d.related[0]?.line]),
    [
      ['frr/load', 'tenants/contoso.yaml', connections, lineNo],
      ['frr/load', 'tenants/contoso.yaml', connections, text(odd).split('\n').indexOf('vrf contoso') + 1],
    ],
    JSON.stringify(diags, null, 1),
  );
  assert.match(diags[0].message, 'frr-reload would add "vrf contoso / ip route 10.1.0.1/32 IfCe1 1"');
  assert.match(diags[1].message, 'frr-reload would add "vrf contoso / no ip route 10.1.0.1/32 IfCe1"');
});

test('a missing vtysh is an error, not a pass', async () => {
  const input = inputFor(ROOT);
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const diags = await check(input, conf(input));
    assert.equal(diags.map((d) => [d.code, d.severity, d.file]), [['frr/tool-missing', 'error', 'gateways/gw1.yaml']]);
  } finally {
    process.env.PATH = saved;
  }
});

test('vtysh -C reports every refused line with its number', async () => {
  const dir = tempDir();
  const f = path.join(dir, 'bad.conf');
  fs.writeFileSync(f, 'hostname x\nip route 10.0.0.0/8 eth0 256\nrouter bgp 1\n neighbor 1.2.3.4 remote\nexit\n');
  const r = await vtyshCheck(f);
  assert.not.ok(r.ok);
  assert.equal(r.rejections.map((x) => [x.line, x.message]), [
    [2, 'Unknown command'],
    [4, 'Command incomplete'],
  ]);
});

test('reloadDiff: frr-reload\'s offline diff of two versions of the example touches only the changed tenant', async () => {
  const oldDir = copyConfig(ROOT);
  const newDir = copyConfig(ROOT);
  const t = path.join(newDir, 'tenants', 'contoso.yaml');
  fs.writeFileSync(t, fs.readFileSync(t, 'utf8').replace('{ to: 10.1.0.0/16, metric: 100 }', '{ to: 10.1.0.0/16, metric: 90 }').replace('maxPrefixes: 1000', 'maxPrefixes: 500'));
  const files = tempDir();
  const a = path.join(files, 'old.conf');
  const b = path.join(files, 'new.conf');
  fs.writeFileSync(a, text(conf(inputFor(oldDir))));
  fs.writeFileSync(b, text(conf(inputFor(newDir))));
  assert.equal(await reloadDiff(a, a), { delete: [], add: [] }, 'no change, no commands');
  const diff = await reloadDiff(a, b);
  // As FRR 8.4's frr-reload prints it: deletions are already `no` commands; a changed static route is
  // added and its old form removed with `no` in the add list; `exit-vrf` comes along with the VRF context.
  const bgp = ['router bgp 64512 vrf contoso', ' address-family ipv4 unicast'];
  assert.equal(diff, {
    delete: [{ context: bgp, line: '  no neighbor 10.1.0.1 maximum-prefix 1000' }],
    add: [
      { context: ['vrf contoso'], line: ' ip route 10.1.0.0/16 IfCe1 90' },
      { context: ['vrf contoso'], line: ' exit-vrf' },
      { context: bgp, line: '  neighbor 10.1.0.1 maximum-prefix 500' },
      { context: ['vrf contoso'], line: ' no ip route 10.1.0.0/16 IfCe1 100' },
    ],
  });
});

test('parseReloadDiff keeps each change with its context', () => {
  const out = 'Lines To Delete\n===============\nrouter bgp 1 vrf a\n no neighbor 1.2.3.4 remote-as 2\n\nLines To Add\n============\nvrf a\n ip route 1.0.0.0/8 x 9\nip prefix-list p seq 5 permit any\nrouter bgp 1 vrf a\n address-family ipv4 unicast\n  network 1.0.0.0/8\n';
  assert.equal(parseReloadDiff(out), {
    delete: [{ context: ['router bgp 1 vrf a'], line: ' no neighbor 1.2.3.4 remote-as 2' }],
    add: [
      { context: ['vrf a'], line: ' ip route 1.0.0.0/8 x 9' },
      { context: [], line: 'ip prefix-list p seq 5 permit any' },
      { context: ['router bgp 1 vrf a', ' address-family ipv4 unicast'], line: '  network 1.0.0.0/8' },
    ],
  });
});

test.run();
