// Hostile hosts for apply: a device of the same name as a tenant's VRF, network or connection interface that s2sgw did
// not create is refused before anything changes (naming the device and the tenant line), and is never modified or
// deleted by a rollback. Foreign devices are veths and bridges in a throwaway namespace (this kernel has no VRF or XFRM
// interfaces; the lab checks the same with real ones: lab/guest/check-foreign-device.sh).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, ROOT, compileDir } from './helpers';
import { writeTree } from '../src/bundle/write';
import { FIXTURE_ENV, fingerprint, fixtureBundle, openSandbox, prepareFixtureHost, Sandbox } from '../src/apply/sandbox';
import { Runner, parseFaults } from '../src/apply/runner';
import { apply, describeError } from '../src/apply/engine';
import { frrBlocksNaming, LINK_GROUP, lineDevices, markLinkAdds, nftOutsideOwnTable } from '../src/apply/owned';
import { prefetchSwanOwnership } from '../src/apply/steps';
import { parseManifest } from '../src/bundle/manifest';
import * as net from 'node:net';
import { spawnSync } from 'node:child_process';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-owned-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const v1 = path.join(tmp, 'v1');
fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), v1);
const example = path.join(tmp, 'example');
const compiled = compileDir(ROOT);
writeTree(example, compiled.bundles.find((b) => b.gateway === 'gw1')!.files);
const exampleEnv: NodeJS.ProcessEnv = {};
for (const m of fs.readFileSync(path.join(example, 'swanctl/secrets.refs'), 'utf8').matchAll(/ env:(\S+)/g)) exampleEnv[m[1]] = `example-secret-for-${m[1]}`;

/** Everything the kernel says about the namespace's links and addresses: names, kinds, masters, groups, states, addresses. */
function links(sb: Sandbox): string {
  const r = sb.sh('ip', ['-d', '-j', 'address', 'show']);
  const all = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  return JSON.stringify(all.map((l) => ({ n: l.ifname, m: l.master, g: l.group, s: l.operstate, f: l.flags, k: (l.linkinfo as { info_kind?: string } | undefined)?.info_kind, a: l.addr_info })));
}

function sh(sb: Sandbox, line: string): void {
  const r = sb.sh('ip', line.split(' '));
  assert.is(r.code, 0, `ip ${line}: ${r.stderr}`);
}

async function host(fn: (sb: Sandbox) => Promise<void>): Promise<void> {
  const sb = await openSandbox({ frr: false });
  try {
    prepareFixtureHost(sb);
    // The fixture host's stand-ins for XFRM interfaces are themselves foreign devices: these tests make their own.
    for (const d of ['IfCe1', 'IfWe1', 'IfWe2']) sh(sb, `link del ${d}`);
    await fn(sb);
  } finally {
    await sb.close();
  }
}

function runApply(sb: Sandbox, bundle: string, env: NodeJS.ProcessEnv, extra: { dryRun?: boolean; faults?: string } = {}) {
  const runner = new Runner({ ...sb.runner({ skip: ['vrf', 'frr'] }), faults: parseFaults(extra.faults) });
  runner.dryRun = !!extra.dryRun;
  const said: string[] = [];
  return apply(runner, { bundle, env, say: (s) => said.push(s) }).then((out) => ({ out, runner, said: said.join('\n') }));
}

const REFUSAL = (dev: string) => `device ${dev} exists on this host and s2sgw did not create it (not in link group ${LINK_GROUP}, not in the release the host runs): refusing to modify or delete it; the host was not changed`;

const CASES: Array<{ name: string; bundle: string; env: NodeJS.ProcessEnv; make: string[]; dryRun?: boolean; device: string; tool: string; where: string }> = [
  {
    name: 'a veth named like a connection interface, in a host bridge, addressed and up',
    bundle: v1,
    env: FIXTURE_ENV,
    make: ['link add br-host type bridge', 'link add IfCe1 type veth peer name IfCe1p', 'link set IfCe1 master br-host', 'address add 192.0.2.1/24 dev IfCe1', 'link set IfCe1 up'],
    device: 'IfCe1',
    tool: 'IfCe1 (veth, master br-host, group 0): tenant contoso, connection IfCe1 (tenants/contoso.yaml:10)',
    where: 'tenant contoso, connection IfCe1 (tenants/contoso.yaml:10)',
  },
  {
    name: 'the same, seen by --dry-run: the same refusal',
    bundle: v1,
    env: FIXTURE_ENV,
    make: ['link add br-host type bridge', 'link add IfCe1 type veth peer name IfCe1p', 'link set IfCe1 master br-host', 'address add 192.0.2.1/24 dev IfCe1'],
    dryRun: true,
    device: 'IfCe1',
    tool: 'IfCe1 (veth, master br-host, group 0): tenant contoso, connection IfCe1 (tenants/contoso.yaml:10)',
    where: 'tenant contoso, connection IfCe1 (tenants/contoso.yaml:10)',
  },
  {
    name: 'a bridge named like a tenant VRF (the example repository: the VRF, and its network interface enslaved to it)',
    bundle: example,
    env: exampleEnv,
    make: ['link add woodgrove type bridge', 'address add 198.51.100.1/24 dev woodgrove'],
    device: 'woodgrove',
    tool: 'woodgrove (bridge, no master, group 0): tenant woodgrove, VRF woodgrove (tenants/woodgrove.yaml:3)',
    where: 'tenant woodgrove, VRF woodgrove (tenants/woodgrove.yaml:3)',
  },
  {
    name: 'a veth named like a tenant network interface (the example repository, VRFs and VLANs from the netplan batch)',
    bundle: example,
    env: exampleEnv,
    make: ['link add IfCi1 type veth peer name IfCi1p', 'address add 203.0.113.1/24 dev IfCi1', 'link set IfCi1 up'],
    device: 'IfCi1',
    tool: 'IfCi1 (veth, no master, group 0): tenant contoso, network interface IfCi1 (tenants/contoso.yaml:7)',
    where: 'tenant contoso, network interface IfCi1 (tenants/contoso.yaml:7)',
  },
];

for (const c of CASES) {
  test(`refused before the host changes: ${c.name}`, async () => {
    await host(async (sb) => {
      for (const l of c.make) sh(sb, l);
      const before = { links: links(sb), fp: fingerprint(sb) };
      const r = await runApply(sb, c.bundle, c.env, { dryRun: c.dryRun });
      assert.is(r.out.code, 1, r.said);
      assert.is(r.out.error!.step, 'ownership');
      assert.is(r.out.error!.message, REFUSAL(c.device));
      assert.is(r.out.error!.tool!.split('\n')[0], c.tool);
      assert.is(r.out.error!.where, c.where);
      assert.equal(links(sb), before.links);
      assert.equal(fingerprint(sb), before.fp);
      // Nothing but the read-only checks ran, and no journal was started.
      for (const e of r.runner.log) assert.ok(['check', 'ownership'].includes(e.step), `${e.step}: ${e.argv.join(' ')}`);
      assert.not.ok(fs.existsSync(path.join(sb.root, 'var/lib/s2sgw/journal.json')));
    });
  });
}

test('a foreign device that appears while apply runs is left alone by the links step and by the rollback that follows', async () => {
  await host(async (sb) => {
    // The switch pauses after the ownership check; meanwhile a foreign IfCe1 appears. This kernel has no XFRM
    // interfaces, so reload-links then fails on IfWe1 and the rollback removes what the failed release made.
    const r = runApply(sb, v1, FIXTURE_ENV, { faults: 'pause@switch:1500' });
    const t0 = Date.now();
    while (!fs.existsSync(path.join(sb.root, 'var/lib/s2sgw/journal.json')) && Date.now() - t0 < 20000) await new Promise((x) => setTimeout(x, 20));
    for (const l of ['link add br-host type bridge', 'link add IfCe1 type veth peer name IfCe1p', 'link set IfCe1 master br-host', 'address add 192.0.2.1/24 dev IfCe1', 'link set IfCe1 up']) sh(sb, l);
    const before = links(sb);
    const { out, runner, said } = await r;
    assert.is(out.code, 1, said);
    assert.is(out.error!.step, 'reload-links', out.error && describeError(out.error));
    assert.match(said, /reload-links: left IfCe1 alone: s2sgw did not create it/);
    assert.match(said, /remove-links: left IfCe1 alone: s2sgw did not create it/);
    assert.equal(links(sb), before);
    // No command named the foreign device except the read-only `link show` questions.
    for (const e of runner.log) if (e.argv[0] === 'ip' && !e.argv.includes('-j')) assert.not.ok(`${e.argv.join(' ')} ${e.input ?? ''}`.split(/\s+/).includes('IfCe1'), `${e.step}: ${e.input}`);
  });
});

/** The v1 fixture with `edit` applied to a copy of its source folder. */
function variant(name: string, edit: (dir: string) => void): string {
  const src = path.join(tmp, `${name}-src`);
  fs.cpSync(path.join(FIXTURES, 'apply', 'v1'), src, { recursive: true });
  edit(src);
  const out = path.join(tmp, name);
  fixtureBundle(src, out);
  return out;
}

const swanctl = (sb: Sandbox, conf: string, what: '--load-conns' | '--load-creds') => {
  const file = path.join(sb.root, 'etc/swanctl/conf.d/host.conf');
  fs.writeFileSync(file, conf);
  const r = sb.sh('swanctl', [what, ...(what === '--load-creds' ? ['--noprompt'] : []), '--file', path.join(sb.root, 'etc/swanctl/swanctl.conf'), '--uri', sb.vici]);
  assert.is(r.code, 0, r.stderr + r.stdout);
};
const vtysh = (sb: Sandbox, ...cmds: string[]) => {
  const r = sb.sh('vtysh', ['-N', sb.pathspace!, '-c', 'configure terminal', ...cmds.flatMap((c) => ['-c', c])]);
  assert.is(r.code, 0, r.stderr + r.stdout);
};

const OTHERS: Array<{ name: string; bundle: () => string; skip: string[]; make: (sb: Sandbox) => void; step: string; message: string; tool: string; where?: string }> = [
  {
    name: 'a `router bgp N vrf X` block in FRR for a tenant s2sgw has not applied',
    bundle: () => v1,
    skip: ['links', 'vrf'],
    make: (sb) => vtysh(sb, 'router bgp 65123 vrf contoso', 'bgp router-id 192.0.2.77'),
    step: 'ownership',
    message: 'FRR already runs `router bgp 65123 vrf contoso`, which s2sgw did not write: refusing to take it over; the host was not changed',
    tool: 'router bgp 65123 vrf contoso: tenant contoso, VRF contoso (tenants/contoso.yaml:2)',
    where: 'tenant contoso, VRF contoso (tenants/contoso.yaml:2)',
  },
  {
    name: 'a `vrf X` block with a static route in FRR',
    bundle: () => v1,
    skip: ['links', 'vrf'],
    make: (sb) => vtysh(sb, 'vrf woodgrove', 'ip route 10.77.0.0/16 blackhole'),
    step: 'ownership',
    message: 'FRR already runs `vrf woodgrove`, which s2sgw did not write: refusing to take it over; the host was not changed',
    tool: 'vrf woodgrove: tenant woodgrove, VRF woodgrove (tenants/woodgrove.yaml:2)',
    where: 'tenant woodgrove, VRF woodgrove (tenants/woodgrove.yaml:2)',
  },
  {
    name: 'a charon connection of a tenant connection\'s name, loaded by someone else',
    bundle: () => v1,
    skip: ['links', 'vrf'],
    make: (sb) => swanctl(sb, 'connections {\n  IfWe1 {\n    remote_addrs = 192.0.2.200\n    children {\n      c {\n      }\n    }\n  }\n}\n', '--load-conns'),
    step: 'ownership',
    message: 'charon already holds connection IfWe1, which s2sgw did not load: refusing to replace it; the host was not changed',
    tool: 'connection IfWe1: tenant woodgrove, connection IfWe1 (tenants/woodgrove.yaml:10)',
    where: 'tenant woodgrove, connection IfWe1 (tenants/woodgrove.yaml:10)',
  },
  {
    name: 'a charon shared secret of the id a tenant connection\'s PSK would load',
    bundle: () => v1,
    skip: ['links', 'vrf'],
    make: (sb) => swanctl(sb, 'secrets {\n  ike-IfCe1 {\n    id-1 = 192.0.2.201\n    secret = someone-elses-secret-0123456789\n  }\n}\n', '--load-creds'),
    step: 'ownership',
    message: 'charon already holds shared secret ike-IfCe1, which s2sgw did not load: refusing to replace it; the host was not changed',
    tool: 'shared secret ike-IfCe1: tenant contoso, connection IfCe1 (tenants/contoso.yaml:10)',
    where: 'tenant contoso, connection IfCe1 (tenants/contoso.yaml:10)',
  },
  {
    name: 'a `table inet s2sgw` on a host where no s2sgw release is applied',
    bundle: () => v1,
    skip: ['links', 'vrf'],
    make: (sb) => {
      assert.is(sb.sh('nft', ['add', 'table', 'inet', 's2sgw']).code, 0);
      assert.is(sb.sh('nft', ['add', 'chain', 'inet', 's2sgw', 'host_input']).code, 0);
    },
    step: 'ownership',
    message: 'nftables table inet s2sgw exists and s2sgw did not make it (no s2sgw release is applied on this host): refusing to replace it; the host was not changed',
    tool: 'table inet s2sgw: delete it, or rename it, if it is not s2sgw\'s from an earlier install',
  },
  {
    name: 'routes in the routing table a new tenant\'s VRF would use (someone\'s policy routing)',
    bundle: () => v1,
    skip: [],
    make: (sb) => assert.is(sb.sh('ip', ['route', 'add', 'blackhole', '10.88.0.0/16', 'table', '1002']).code, 0),
    step: 'ownership',
    message: 'VRF woodgrove would use routing table 1002, which already holds routes s2sgw did not add; the host was not changed',
    tool: 'table 1002 (1 route, first 10.88.0.0/16): tenant woodgrove, VRF woodgrove (tenants/woodgrove.yaml:2)',
    where: 'tenant woodgrove, VRF woodgrove (tenants/woodgrove.yaml:2)',
  },
  {
    name: 'a reserved routing table (254, main) for a tenant VRF',
    bundle: () => variant('table-main', (d) => fs.writeFileSync(path.join(d, 'tenants.json'), fs.readFileSync(path.join(d, 'tenants.json'), 'utf8').replace('"table":1001', '"table":254'))),
    skip: [],
    make: () => undefined,
    step: 'ownership',
    message: 'VRF contoso would use routing table 254, which the kernel reserves; the host was not changed',
    tool: 'table 254: tenant contoso, VRF contoso (tenants/contoso.yaml:2)',
    where: 'tenant contoso, VRF contoso (tenants/contoso.yaml:2)',
  },
  {
    name: 'an nft file that reaches outside table inet s2sgw',
    bundle: () => variant('nft-outside', (d) => fs.appendFileSync(path.join(d, 'nftables/s2sgw.nft'), 'delete table ip filter\n')),
    skip: ['links', 'vrf'],
    make: (sb) => assert.is(sb.sh('nft', ['add table ip filter']).code, 0),
    step: 'check',
    message: 'the release fails its checks; the host was not changed',
    tool: 'nftables/s2sgw.nft line 11 reaches outside table inet s2sgw: delete table ip filter',
  },
];

for (const c of OTHERS) {
  test(`refused before the host changes: ${c.name}`, async () => {
    const sb = await openSandbox({ frr: true });
    try {
      prepareFixtureHost(sb);
      for (const d of ['IfCe1', 'IfWe1', 'IfWe2']) sh(sb, `link del ${d}`);
      c.make(sb);
      const before = { links: links(sb), fp: fingerprint(sb), routes: sb.sh('ip', ['route', 'show', 'table', 'all']).stdout };
      // tc needs the devices links would make (this kernel has no XFRM interfaces): a refusal comes before both.
      const runner = new Runner(sb.runner({ skip: [...c.skip, 'tc'] }));
      const said: string[] = [];
      const out = await apply(runner, { bundle: c.bundle(), env: FIXTURE_ENV, say: (x) => said.push(x) });
      assert.is(out.code, 1, said.join('\n'));
      assert.is(out.error!.step, c.step, describeError(out.error!));
      assert.is(out.error!.message, c.message);
      assert.is(out.error!.tool!.split('\n')[0], c.tool);
      assert.is(out.error!.where, c.where);
      assert.equal({ links: links(sb), fp: fingerprint(sb), routes: sb.sh('ip', ['route', 'show', 'table', 'all']).stdout }, before);
      for (const e of runner.log) assert.ok(['check', 'ownership'].includes(e.step), `${e.step}: ${e.argv.join(' ')}`);
    } finally {
      await sb.close();
    }
  });
}

// An incremental add (a connection the current release does not have): charon was asked right after verify
// (prefetchSwanOwnership), and the answer still refuses a secret or connection someone else loaded under its name.
const withoutIfWe2 = () =>
  variant('without-IfWe2', (d) => {
    const conf = path.join(d, 'swanctl/conf.d/woodgrove.conf');
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(/ {2}IfWe2 \{[\s\S]*\n {2}\}\n(?=\}\n$)/, ''));
    const refs = path.join(d, 'swanctl/secrets.refs');
    fs.writeFileSync(refs, fs.readFileSync(refs, 'utf8').replace(/^IfWe2 .*\n/m, ''));
    const t = path.join(d, 'tenants.json');
    const j = JSON.parse(fs.readFileSync(t, 'utf8')) as Record<string, { connections: Record<string, unknown> }>;
    delete j.woodgrove.connections.IfWe2;
    fs.writeFileSync(t, JSON.stringify(j));
  });
for (const c of [
  { name: 'shared secret', conf: 'secrets {\n  ike-IfWe2 {\n    id-1 = 192.0.2.202\n    secret = someone-elses-secret-0123456789\n  }\n}\n', what: '--load-creds' as const, message: 'charon already holds shared secret ike-IfWe2, which s2sgw did not load: refusing to replace it; the host was not changed' },
  { name: 'connection', conf: 'connections {\n  IfWe2 {\n    remote_addrs = 192.0.2.202\n    children {\n      c {\n      }\n    }\n  }\n}\n', what: '--load-conns' as const, message: 'charon already holds connection IfWe2, which s2sgw did not load: refusing to replace it; the host was not changed' },
]) {
  test(`an added connection's name held by charon as a ${c.name} someone else loaded is refused over a current release`, async () => {
    const sb = await openSandbox({ frr: false });
    try {
      prepareFixtureHost(sb);
      const runner = () => new Runner(sb.runner({ skip: ['links', 'vrf', 'frr', 'tc'] }));
      const said: string[] = [];
      const before = withoutIfWe2();
      const first = await apply(runner(), { bundle: before, env: FIXTURE_ENV, say: (x) => said.push(x) });
      assert.is(first.code, 0, said.join('\n'));
      swanctl(sb, c.conf, c.what);
      const r = runner();
      const out = await apply(r, { bundle: v1, env: FIXTURE_ENV, say: (x) => said.push(x) });
      assert.is(out.code, 1, said.join('\n'));
      assert.is(out.error!.step, 'ownership', describeError(out.error!));
      assert.is(out.error!.message, c.message);
      assert.is(out.error!.where, 'tenant woodgrove, connection IfWe2 (tenants/woodgrove.yaml:11)');
      assert.ok(r.timings.some((t) => t.step === 'ownership'));
    } finally {
      await sb.close();
    }
  });
}

test('the early questions to charon: only connections the current release\'s tenant entry lacks; an apply that ends first closes them (a charon that never answers)', async () => {
  const m = (tenants: Record<string, string[]>) => parseManifest(JSON.stringify({ compiler: 'x', gateway: 'gw', gatewayDigest: 'd', tenants: Object.fromEntries(Object.entries(tenants).map(([t, c]) => [t, { digest: t + c.join(), file: `tenants/${t}.yaml`, connections: c }])), files: {} }));
  const sock = path.join(tmp, 'mute.vici');
  const held: net.Socket[] = [];
  const server = net.createServer((c) => held.push(c));
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const runner = new Runner({ vici: sock });
    assert.is(prefetchSwanOwnership(runner, m({ a: ['A1'] }), m({ a: ['A1'] })), undefined);
    assert.is(prefetchSwanOwnership(new Runner({ vici: sock, skip: ['strongswan'] }), undefined, m({ a: ['A1'] })), undefined);
    const p = prefetchSwanOwnership(runner, m({ a: ['A1'], b: ['B1'] }), m({ a: ['A1', 'A2'], c: ['C1', 'C2'] }))!;
    assert.equal([...p.names].sort(), ['A2', 'C1', 'C2']);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    p.cancel();
    assert.is(await p.held, undefined);
    assert.ok(Date.now() - t0 < 1000, `settled ${Date.now() - t0} ms after cancel`);
  } finally {
    for (const c of held) c.destroy();
    server.close();
  }
});

test('the early questions to charon are answered though the main thread is busy for a while after they are asked (as verify\'s followers keep it)', async () => {
  const sb = await openSandbox({ frr: false });
  try {
    swanctl(sb, 'secrets {\n  ike-Early2 {\n    id-1 = 192.0.2.203\n    secret = someone-elses-secret-0123456789\n  }\n}\n', '--load-creds');
    // A one-shot process, as apply is: the questions asked, then 400 ms of synchronous work before the event loop turns
    // (longer than any deadline a connection could be given for itself: its timer would fire before its callback ran).
    const script = `
      const { prefetchSwanOwnership } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'apply', 'steps.js'))});
      const { Runner } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'apply', 'runner.js'))});
      const { parseManifest } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'bundle', 'manifest.js'))});
      const to = parseManifest(JSON.stringify({ compiler: 'x', gateway: 'gw', gatewayDigest: 'd', tenants: { e: { digest: 'e', file: 'tenants/e.yaml', connections: ['Early1', 'Early2'] } }, files: {} }));
      const p = prefetchSwanOwnership(new Runner({ vici: ${JSON.stringify(sb.vici)} }), undefined, to);
      for (const t0 = Date.now(); Date.now() - t0 < 400; );
      p.held.then((h) => console.log(JSON.stringify(h)));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout), { conns: [], shared: ['ike-Early2'] });
  } finally {
    await sb.close();
  }
});

test('links apply creates carry its group from their first moment; the link add parent and kind options are not its devices', () => {
  assert.equal(markLinkAdds(['link add link eth1 name IfCi1 type vlan id 400', 'link set dev IfCi1 master contoso', 'link add name contoso type vrf table 1001']), [
    `link add link eth1 name IfCi1 group ${LINK_GROUP} type vlan id 400`,
    `link set dev IfCi1 group ${LINK_GROUP}`,
    'link set dev IfCi1 master contoso',
    `link add name contoso group ${LINK_GROUP} type vrf table 1001`,
    `link set dev contoso group ${LINK_GROUP}`,
  ]);
  assert.equal(lineDevices('link add name IfCe1 type xfrm dev eth0 if_id 1'), ['IfCe1']);
  assert.equal(lineDevices('link add link eth1 name IfCi1 type vlan id 400'), ['IfCi1']);
  assert.equal(lineDevices('link set dev IfCe1 master contoso'), ['IfCe1', 'contoso']);
  assert.equal(lineDevices('address add 10.0.0.1/24 dev IfCi1'), ['IfCi1']);
  assert.equal(lineDevices('fdb append 00:00:00:00:00:00 dev IfRi1 dst 192.0.2.9'), ['IfRi1']);
  assert.equal(lineDevices('link del dev IfCe1'), ['IfCe1']);
});

test('nft: a top-level statement outside table inet s2sgw is found, with its line; the tables own lines and quoted text are not', () => {
  const head = 'table inet s2sgw {}\ndelete table inet s2sgw\ntable inet s2sgw {\n\tchain c {\n\t}\n}\n# tenant a (tenants/a.yaml)\nadd element inet s2sgw zone_iif { "IfAi1" comment "tenants/a.yaml:7; x" : 1 }\n';
  assert.is(nftOutsideOwnTable(head), undefined);
  assert.is(nftOutsideOwnTable('delete element inet s2sgw zone_iif { "IfAi1" }\nflush chain inet s2sgw in_IfAi1\ndelete chain inet s2sgw in_IfAi1\n'), undefined);
  for (const [bad, n] of [
    ['flush ruleset', 9],
    ['delete table ip filter', 9],
    ['table ip nat {', 9],
    ['include "/etc/nftables.d/*.nft"', 9],
    ['add element inet s2sgw zone_iif { "IfAi2" : 2 }; delete table ip filter', 9],
    ['add element inet s2sgwx zone_iif { "IfAi2" : 2 }', 9],
  ] as const) {
    assert.equal(nftOutsideOwnTable(head + bad + '\n'), { n, line: bad }, bad);
  }
});

test('FRR: the running config blocks naming a new tenant, and only those', () => {
  const running = 'frr version 8.4\n!\nvrf contoso\n ip route 10.0.0.0/8 blackhole\nexit-vrf\n!\nrouter bgp 65001 vrf woodgrove\n bgp router-id 1.2.3.4\nexit\n!\nrouter bgp 65002\nexit\ninterface contoso\n';
  assert.equal(frrBlocksNaming(running, new Set(['contoso', 'woodgrove', 'fabrikam'])), [
    { vrf: 'contoso', line: 'vrf contoso' },
    { vrf: 'woodgrove', line: 'router bgp 65001 vrf woodgrove' },
  ]);
  assert.equal(frrBlocksNaming(running, new Set(['fabrikam'])), []);
});

test('a link made with the mark is apply\'s own: a second apply over it is not refused', async () => {
  await host(async (sb) => {
    // What reload-links would have made for IfCe1 before this kernel failed on XFRM: a link in apply's group.
    sh(sb, `link add IfCe1 group ${LINK_GROUP} type veth peer name IfCe1p`);
    const r = await runApply(sb, v1, FIXTURE_ENV, { dryRun: true });
    assert.is(r.out.code, 0, r.out.error && describeError(r.out.error));
  });
});

test.run();
