// The nftables target: golden rulesets, per-tenant sections, the real nft (check, load twice, mapped rejection) and packets through it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, Allocations, emptyLock } from '../src/model/lock';
import { Model, tenantsOn } from '../src/model/model';
import { RenderedFile, text, TargetInput } from '../src/targets/target';
import { target, render } from '../src/targets/nftables';
import { FILE, parseNftErrors } from '../src/targets/nftables/check';
import { match } from '../src/targets/nftables/view';
import { run, which, withNetns, withTempDir } from '../src/util/exec';

const ROOT = path.resolve(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'nftables');
const UPDATE = process.env.UPDATE === '1';

/** Builds through the real pipeline: load, validate (schema, model, rules), allocate. */
function build(dir: string, prev: Allocations = emptyLock()): { model: Model; input: TargetInput } {
  const v = validate(loadConfig(dir));
  assert.equal(v.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.code}: ${d.message}`), [], `${dir} should validate clean`);
  const { alloc } = allocate(v.model, prev);
  const gateway = v.model.gateways[0];
  return { model: v.model, input: { model: v.model, gateway, tenants: tenantsOn(v.model, gateway.name), alloc } };
}

function rendered(dir: string, prev?: Allocations): { file: RenderedFile; input: TargetInput } {
  const { input } = build(dir, prev);
  const files = render(input);
  assert.is(files.length, 1);
  assert.is(files[0].path, FILE);
  return { file: files[0], input };
}

/** A temp copy of a config folder, removed at exit. */
function copy(dir: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-nft-'));
  for (const d of ['gateways', 'tenants']) fs.cpSync(path.join(dir, d), path.join(tmp, d), { recursive: true });
  process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
  return tmp;
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(which(cmd) ?? cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

const CASES: Array<[string, string]> = [
  ['example', ROOT],
  ['filters', path.join(FIX, 'filters')],
];

for (const [name, dir] of CASES) {
  test(`golden ruleset: ${name}`, () => {
    const out = text(rendered(dir).file);
    const expected = path.join(FIX, name, 'expected.nft');
    if (UPDATE) {
      fs.mkdirSync(path.dirname(expected), { recursive: true });
      fs.writeFileSync(expected, out);
    }
    assert.fixture(out, fs.readFileSync(expected, 'utf8'));
  });

  test(`real nft -c accepts the ${name} ruleset`, async () => {
    const { file, input } = rendered(dir);
    await withTempDir('nft', async (tmp) => {
      fs.mkdirSync(path.join(tmp, 'nftables'));
      fs.writeFileSync(path.join(tmp, FILE), text(file));
      const diags = await target.check({ dir: tmp, files: [file], gateway: input.gateway, tenants: input.tenants });
      assert.equal(diags, []);
    });
  });
}

test('the view: base chains never drop, dispatch by verdict map, zones at raw priority', () => {
  const out = text(rendered(ROOT).file);
  assert.not.match(out, /policy drop/);
  assert.match(out, /meta sdifname vmap @outbound\n/);
  assert.match(out, /oifname vmap @inbound\n/);
  assert.match(out, /type filter hook prerouting priority raw; policy accept;\n\t\tct zone set iifname map @zone_iif\n/);
  assert.match(out, /add element inet s2sgw zone_oif \{ "contoso" comment "tenants\/contoso.yaml:3" : 1 \}/);
  // Every tenant line names where it came from.
  const { file } = rendered(ROOT);
  for (const s of file.sections.filter((x) => x.tenant)) {
    for (const l of s.text.split('\n')) {
      if (/^\s*(add element|.*(return|drop) )/.test(l)) assert.match(l, new RegExp(`comment "tenants/${s.tenant}\\.yaml:\\d+"`), l);
    }
  }
});

test('match expressions per protocol and family', () => {
  const o = { file: 'f', line: 1, col: 1, path: [] };
  assert.is(match({ origin: o }), '');
  assert.is(match({ source: '10.0.0.0/8', origin: o }), 'ip saddr 10.0.0.0/8');
  assert.is(match({ destination: '2001:db8::1', protocol: 'tcp', origin: o }), 'ip6 daddr 2001:db8::1 meta l4proto tcp');
  assert.is(match({ protocol: 'udp', sourcePort: 53, destinationPort: '1024-65535', origin: o }), 'udp sport 53 udp dport 1024-65535');
  assert.is(match({ protocol: 'icmpv6', origin: o }), 'meta l4proto ipv6-icmp');
  assert.is(match({ protocol: 'icmp', icmpType: 3, icmpCode: 4, origin: o }), 'icmp type 3 icmp code 4');
  assert.throws(() => match({ protocol: 'tcp', destinationPort: '443; drop', origin: o }), /not a port/);
  assert.throws(() => match({ source: '10.0.0.0/8 counter accept', origin: o }), /not an address/);
});

test('same input, same bytes', () => {
  assert.is(text(rendered(path.join(FIX, 'filters')).file), text(rendered(path.join(FIX, 'filters')).file));
});

test('adding a tenant changes no other tenant lines and no gateway lines', () => {
  const dir = copy(path.join(FIX, 'filters'));
  const before = rendered(dir);
  // Sorts first, so it would shift everything if zones or order leaked between tenants.
  fs.writeFileSync(
    path.join(dir, 'tenants', 'aardvark.yaml'),
    [
      'tenant: aardvark',
      'routingDomain: "{00000000-0000-0000-0000-0000000000aa}"',
      'gateways: [gw1]',
      'network: { interface: IfXi1, vlan: 300, addresses: [192.168.0.1/29] }',
      'connections:',
      '  - { interface: IfXe1, destination: 198.51.100.9, auth: { psk: env:AARDVARK_PSK }, routes: [ { to: 10.1.0.0/16 } ] }',
      'filters:',
      '  - { interface: IfXi1, direction: outbound, permit: [ { protocol: icmp } ] }',
      '',
    ].join('\n'),
  );
  const after = rendered(dir, before.input.alloc);
  const by = (f: RenderedFile) => new Map(f.sections.map((s) => [s.tenant ?? '', s.text]));
  const b = by(before.file);
  const a = by(after.file);
  for (const [who, t] of b) assert.is(a.get(who), t, `section of ${who || 'the gateway'} changed`);
  assert.ok(a.get('aardvark')?.includes('jump outbound_IfXi1'));
  assert.is(after.input.alloc.tenants.aardvark.zone, 4, 'the new tenant gets a fresh zone');
});

test('nft errors are parsed with their places', () => {
  const errs = parseNftErrors('/tmp/x/nftables/s2sgw.nft:46:14-18: Error: Service out of range\n\t\tsctp dport 99999\n\t\t           ^^^^^\nError: something global\n');
  assert.equal(errs, [
    { line: 46, col: 14, message: 'Service out of range' },
    { line: 0, col: 0, message: 'something global' },
  ]);
});

test('a broken rule is rejected by the real nft and reported at the tenant line', async () => {
  const { file, input } = rendered(path.join(FIX, 'filters'));
  const broken: RenderedFile = { ...file, sections: file.sections.map((s) => (s.tenant === 'alpha' ? { ...s, text: s.text.replace('tcp dport 1024-2047', 'tcp dport 1024-99999') } : s)) };
  const lineNo = text(broken).split('\n').findIndex((l) => l.includes('99999')) + 1;
  await withTempDir('nft', async (tmp) => {
    fs.mkdirSync(path.join(tmp, 'nftables'));
    fs.writeFileSync(path.join(tmp, FILE), text(broken));
    const diags = await target.check({ dir: tmp, files: [broken], gateway: input.gateway, tenants: input.tenants });
    assert.is(diags.length, 1, JSON.stringify(diags));
    const d = diags[0];
    assert.is(d.code, 'nftables/check');
    assert.is(d.severity, 'error');
    // tenants/alpha.yaml line 20 is the rule `- { destination: 2001:db8:a::/64, protocol: tcp, destinationPort: 1024-2047 }`.
    assert.equal([d.file, d.line, d.col], ['tenants/alpha.yaml', 20, 9]);
    assert.match(d.message, new RegExp(`line ${lineNo}: .*out of range`));
    assert.equal([d.related[0].file, d.related[0].line], ['out/gw1/nftables/s2sgw.nft', lineNo]);
    assert.match(d.related[0].message, /tcp dport 1024-99999/);
  });
});

test('real nft -f loads the ruleset twice (atomic replace) and lists it', async () => {
  const { file } = rendered(path.join(FIX, 'filters'));
  await withTempDir('nft', async (tmp) => {
    const f = path.join(tmp, 's2sgw.nft');
    fs.writeFileSync(f, text(file));
    await withNetns(async (ns) => {
      for (let i = 0; i < 2; i++) {
        const r = await run('nft', ['-f', f], { netns: ns });
        assert.is(r.missing, undefined, 'nft must be installed');
        assert.is(r.code, 0, `load ${i + 1}: ${r.stderr}`);
      }
      const list = await run('nft', ['list', 'table', 'inet', 's2sgw'], { netns: ns });
      assert.is(list.code, 0, list.stderr);
      // Loaded twice, present once: the second load replaced the first.
      assert.is(list.stdout.match(/chain inbound_IfAi1 \{/g)?.length, 1);
      assert.match(list.stdout, /"IfBi1" comment "tenants\/bravo.yaml:16" : jump outbound_IfBi1/);
      assert.match(list.stdout, /"IfCi9" comment "tenants\/charlie.yaml:6" : 3/);
      const tables = await run('nft', ['list', 'tables'], { netns: ns });
      assert.is(tables.stdout.trim(), 'table inet s2sgw');
    });
  });
});

/**
 * Packets through the ruleset. No VRF on this kernel, so the tenant's devices are plain veths in a
 * "gw" namespace: the outbound chain is reached by iifname (sdifname is empty outside a VRF), the
 * inbound chain by oifname. Contoso's filters: outbound permits 192.168.0.0/29 -> 10.1.0.0/16 and
 * ICMP; inbound permits TCP 443 and echo requests to 192.168.0.0/29.
 */
test('packets: a permitted flow passes, a denied one is dropped, flows land in the tenant zone', async () => {
  const { file } = rendered(ROOT);
  await withTempDir('nft', async (tmp) => {
    const f = path.join(tmp, 's2sgw.nft');
    fs.writeFileSync(f, text(file));
    const probe = path.join(tmp, 'probe.nft');
    // A second table on the same hook counts forwarded packets per zone: it must still see them (no drop in our base chain for other traffic).
    fs.writeFileSync(probe, 'table inet probe {\n\tchain c {\n\t\ttype filter hook forward priority 10; policy accept;\n\t\tct zone 1 counter\n\t\tct zone 0 counter\n\t}\n}\n');
    await withNetns(async (gw) => {
      await withNetns(async (lan) => {
        await withNetns(async (site) => {
          sh('ip', ['link', 'add', 'IfCi1', 'netns', gw, 'type', 'veth', 'peer', 'name', 'lan0', 'netns', lan]);
          sh('ip', ['link', 'add', 'IfCe1', 'netns', gw, 'type', 'veth', 'peer', 'name', 'site0', 'netns', site]);
          for (const [ns, dev, addr, via] of [
            [gw, 'IfCi1', '192.168.0.1/29', ''],
            [gw, 'IfCe1', '10.1.0.1/16', ''],
            [lan, 'lan0', '192.168.0.2/29', '192.168.0.1'],
            [site, 'site0', '10.1.0.5/16', '10.1.0.1'],
          ]) {
            sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev]);
            sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
            if (via) sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', via]);
          }
          sh('ip', ['netns', 'exec', gw, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
          for (const file of [f, probe]) {
            const r = await run('nft', ['-f', file], { netns: gw });
            assert.is(r.code, 0, r.stderr);
          }
          const ping = (ns: string, to: string) => run('ping', ['-c', '1', '-W', '1', to], { netns: ns, timeoutMs: 5000 });
          // TCP: a refused connection answered fast means the SYN got through; a timeout means it was dropped.
          const tcp = (ns: string, to: string, port: number) => run('bash', ['-c', `timeout 2 bash -c '</dev/tcp/${to}/${port}' 2>&1; echo rc=$?`], { netns: ns, timeoutMs: 20000 });

          assert.is((await ping(lan, '10.1.0.5')).code, 0, 'lan -> site ping: outbound permits ICMP, its reply is established');
          assert.is((await ping(site, '192.168.0.2')).code, 0, 'site -> lan echo request: inbound permits type 8 code 0');
          const https = await tcp(site, '192.168.0.2', 443);
          assert.match(https.stdout, /Connection refused/, `site -> lan TCP 443 passes: ${https.stdout}`);
          const ssh = await tcp(site, '192.168.0.2', 22);
          assert.match(ssh.stdout, /rc=124/, `site -> lan TCP 22 is dropped by the inbound permit list: ${ssh.stdout}`);
          const lanTcp = await tcp(lan, '10.1.0.5', 8080);
          assert.match(lanTcp.stdout, /Connection refused/, `lan -> site TCP passes the outbound permit: ${lanTcp.stdout}`);

          const list = (await run('nft', ['list', 'ruleset'], { netns: gw })).stdout;
          const counter = (re: RegExp) => Number(re.exec(list)?.[1] ?? NaN);
          assert.ok(counter(/chain inbound_IfCi1 \{[^}]*?counter packets (\d+) bytes \d+ drop/) >= 1, 'the drop at the end of inbound_IfCi1 counted the SSH SYN');
          assert.ok(counter(/tcp dport 443 counter packets (\d+)/) >= 1, 'the HTTPS rule counted');
          assert.ok(counter(/ct zone 1 counter packets (\d+)/) >= 4, 'forwarded flows on Contoso devices are in zone 1');
          assert.is(counter(/ct zone 0 counter packets (\d+)/), 0, 'nothing of Contoso in the default zone');
        });
      });
    });
  });
});

test.run();
