// The links target: golden batches, a VXLAN tenant's lines really run by ip/bridge in a netns, the unsupported-kernel path reported line by line, error mapping, deletes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock, Allocations } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { RenderedFile, TargetInput, text } from '../src/targets/target';
import { run, withNetns } from '../src/util/exec';
import { render as renderLinks, check, BATCH_ORDER, LINKS_BATCH, NETPLAN_BATCH } from '../src/targets/links';
import { render as renderNetplan, NETPLAN_FDB } from '../src/targets/netplan';
import { batchLines, runBatches, addStandIns } from '../src/targets/links/check';
import { tenantLinkDeletes, tenantLinks } from '../src/targets/links/view';
import { kernelGapSeverity } from '../src/targets/links/lines';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLE = ROOT;
const VSID = path.join(ROOT, 'test', 'fixtures', 'links', 'vsid');
const GOLDEN = path.join(ROOT, 'test', 'fixtures', 'links');
const UPDATE = process.env.UPDATE === '1';

function build(dir: string, prev: Allocations = emptyLock(), drop: string[] = []): TargetInput {
  const v = validate(loadConfig(dir));
  assert.ok(v.ok, JSON.stringify(v.diagnostics.filter((d) => d.severity === 'error'), null, 1));
  const model = { ...v.model, tenants: v.model.tenants.filter((t) => !drop.includes(t.name)) };
  const { alloc } = allocate(model, prev);
  const gateway = model.gateways[0];
  return { model, gateway, tenants: tenantsOn(model, gateway.name), alloc };
}

/** Both targets whose files the links check runs (the fdb file is netplan's). */
function files(input: TargetInput): RenderedFile[] {
  return [...renderNetplan(input), ...renderLinks(input)];
}

function golden(name: string, fs2: RenderedFile[], paths: string[]) {
  for (const p of paths) {
    const f = fs2.find((x) => x.path === p)!;
    const want = path.join(GOLDEN, name, 'expected', p);
    if (UPDATE) {
      fs.mkdirSync(path.dirname(want), { recursive: true });
      fs.writeFileSync(want, text(f));
    }
    assert.fixture(text(f), fs.readFileSync(want, 'utf8'), `${name}/${p}`);
  }
}

/** Whether this kernel can create a device kind (probed in a throwaway namespace). */
async function kernelHas(kind: string): Promise<boolean> {
  return withNetns(async (ns) => {
    const r = await run('ip', ['link', 'add', 'name', 'probe0', 'type', kind, ...(kind === 'vrf' ? ['table', '10'] : [])], { netns: ns });
    assert.ok(!r.missing, 'ip must be installed');
    return !/Unknown device type/.test(r.stderr);
  });
}

async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

test('golden: the bundled example and the VSID scenario', () => {
  golden('example', files(build(EXAMPLE)), [LINKS_BATCH, NETPLAN_BATCH]);
  golden('vsid', files(build(VSID)), [LINKS_BATCH, NETPLAN_BATCH]);
});

test('render is deterministic; every XFRM interface uses its allocated if_id on the external interface', () => {
  const input = build(VSID);
  assert.equal(renderLinks(input).map(text), renderLinks(build(VSID)).map(text));
  const batch = text(renderLinks(input).find((f) => f.path === LINKS_BATCH)!);
  for (const t of input.tenants) {
    for (const c of t.connections) {
      assert.ok(batch.includes(`link add name ${c.interface} type xfrm dev eth0 if_id ${input.alloc.tenants[t.name].ifIds[c.interface]}\n`), c.interface);
      assert.ok(batch.includes(`link set dev ${c.interface} master ${t.name}\n`));
    }
  }
});

test('a VXLAN tenant\'s lines really run: device, IPv6 address and flood entries for further VTEPs', async () => {
  const input = build(VSID);
  const all = BATCH_ORDER.flatMap((o) => batchLines(files(input).find((f) => f.path === o.path)!, o.tool));
  await withNetns(async (ns) => {
    assert.is(await addStandIns(ns, ['eth0', 'eth1']), undefined);
    const out = await runBatches(ns, all);
    assert.equal(out.errors, [], JSON.stringify(out.errors));
    assert.is(out.other, undefined);
    const ran = out.checked.map((l) => l.text);
    assert.ok(ran.includes('link add name IfNi1 type vxlan id 5001 dev eth1 local 10.0.0.5 remote 10.0.0.20 dstport 4789'), ran.join('\n'));
    assert.ok(ran.includes('address add 2001:db8:10::1/64 dev IfNi1'));
    assert.ok(ran.includes('fdb append 00:00:00:00:00:00 dev IfNi1 dst 10.0.0.22'));
    const link = JSON.parse((await run('ip', ['-d', '-j', 'link', 'show', 'dev', 'IfNi1'], { netns: ns })).stdout)[0];
    assert.is(link.linkinfo.info_kind, 'vxlan');
    assert.is(link.linkinfo.info_data.id, 5001);
    assert.is(link.linkinfo.info_data.remote, '10.0.0.20');
    assert.is(link.linkinfo.info_data.local, '10.0.0.5');
    assert.is(link.linkinfo.info_data.port, 4789);
    assert.ok(link.flags.includes('UP'));
    const addrs = JSON.parse((await run('ip', ['-j', 'address', 'show', 'dev', 'IfNi1'], { netns: ns })).stdout)[0].addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`);
    assert.ok(addrs.includes('192.168.10.1/24') && addrs.includes('2001:db8:10::1/64'), addrs.join(' '));
    const fdb = (await run('bridge', ['fdb', 'show', 'dev', 'IfNi1'], { netns: ns })).stdout;
    for (const vtep of ['10.0.0.20', '10.0.0.21', '10.0.0.22']) assert.match(fdb, new RegExp(`^00:00:00:00:00:00 dst ${vtep.replace(/\./g, '\\.')} `, 'm'));
    // What was left out is exactly what needs a device this kernel cannot make, never the VXLAN's own lines.
    for (const u of out.unchecked) {
      const named = [...(u.at.creates ? [u.at.creates.name] : []), ...u.at.needs];
      assert.ok(named.some((n) => ['contoso', 'northwind', 'null', 'IfCi1', 'IfCe1', 'IfNe1', 'IfNe2', 'on'].includes(n)), u.at.text);
    }
    // The deletes apply will use: XFRM interfaces first, then the network, then the VRF; missing ones do not stop -force.
    const del = tenantLinkDeletes(tenantLinks(input.tenants.find((t) => t.name === 'northwind')!));
    assert.equal(del, ['link del dev IfNe1', 'link del dev IfNe2', 'link del dev IfNi1', 'link del dev northwind']);
    await run('ip', ['-force', '-batch', '-'], { netns: ns, input: del.join('\n') + '\n' });
    assert.is((await run('ip', ['link', 'show', 'dev', 'IfNi1'], { netns: ns })).code, 1, 'IfNi1 deleted');
    assert.is((await run('ip', ['link', 'show', 'dev', 'true'], { netns: ns })).code, 0, "another tenant's VXLAN stays");
  });
});

test('check: what this kernel cannot create is reported line by line, as a warning, and as an error in CI when required', async () => {
  const input = build(VSID);
  const rendered = files(input);
  const vrf = await kernelHas('vrf');
  const xfrm = await kernelHas('xfrm');
  const d = await withEnv({ CI: undefined, S2SGW_REQUIRE_KERNEL_LINKS: undefined }, () => check({ dir: '', files: rendered, gateway: input.gateway, tenants: input.tenants }));
  assert.ok(!d.some((x) => x.code === 'links/check'), JSON.stringify(d));
  const gaps = d.filter((x) => x.code === 'links/kernel-unsupported');
  if (vrf && xfrm && (await kernelHas('vlan'))) {
    assert.equal(gaps, [], 'a kernel with every kind checks every line');
    return;
  }
  // This kernel (no vrf, 8021q, xfrm_interface): the netplan batch has 20 lines, 7 of them the VXLANs' own.
  assert.is(gaps.length, 2, JSON.stringify(gaps));
  for (const g of gaps) assert.is(g.severity, 'warning');
  const [nb, lb] = [gaps.find((g) => g.message.includes(NETPLAN_BATCH))!, gaps.find((g) => g.message.includes(LINKS_BATCH))!];
  assert.match(nb.message, /^13 of 20 lines of netplan\/90-s2sgw\.ipbatch were not checked: this kernel cannot create vlan \(802\.1Q, module 8021q\), vrf \(VRF\) devices/);
  assert.match(nb.message, /lines 7-13, 15-16, 18, 23-24, 26 /);
  assert.match(nb.message, /The other 7 ran in a throwaway namespace and were accepted\./);
  assert.match(lb.message, /^12 of 12 lines of links\.ipbatch were not checked: this kernel cannot create vrf \(VRF\), xfrm \(XFRM interface, module xfrm_interface\) devices/);
  assert.match(lb.message, /lines 7-9, 11-16, 18-20 /);
  assert.match(lb.hint!, /npm run lab/);
  assert.ok(!gaps.some((g) => g.message.includes(NETPLAN_FDB)), 'the flood entries all ran');
  const strict = await withEnv({ CI: '1', S2SGW_REQUIRE_KERNEL_LINKS: '1' }, () => check({ dir: '', files: rendered, gateway: input.gateway, tenants: input.tenants }));
  assert.equal(strict.filter((x) => x.code === 'links/kernel-unsupported').map((x) => x.severity), ['error', 'error']);
  await withEnv({ CI: '1', S2SGW_REQUIRE_KERNEL_LINKS: undefined }, async () => assert.is(kernelGapSeverity(), 'warning'));
  await withEnv({ CI: undefined, S2SGW_REQUIRE_KERNEL_LINKS: '1' }, async () => assert.is(kernelGapSeverity(), 'warning'));
});

test('check: an ip rejection is an error at the tenant line, naming the batch line', async () => {
  const input = build(VSID);
  const rendered = files(input);
  const nb = rendered.find((f) => f.path === NETPLAN_BATCH)!;
  const s = nb.sections.find((x) => x.tenant === 'northwind' && x.text.includes('type vxlan'))!;
  s.text = s.text.replace('remote 10.0.0.20', 'remote 10.0.0.300');
  const fdb = rendered.find((f) => f.path === NETPLAN_FDB)!;
  const fs2 = fdb.sections.find((x) => x.tenant === 'northwind')!;
  fs2.text = fs2.text.replace('dst 10.0.0.22', 'dst 10.0.0.256');
  const d = await check({ dir: '', files: rendered, gateway: input.gateway, tenants: input.tenants });
  const errs = d.filter((x) => x.code === 'links/check');
  const northwind = input.tenants.find((t) => t.name === 'northwind')!;
  assert.is(errs.length, 1, JSON.stringify(d, null, 1));
  assert.equal([errs[0].file, errs[0].line, errs[0].severity], [northwind.file, northwind.network.origin.line, 'error']);
  assert.match(errs[0].message, /^ip rejects netplan\/90-s2sgw\.ipbatch:17 `link add name IfNi1 type vxlan .*remote 10\.0\.0\.300/);
  // With the device's creation rejected, its flood entries cannot run either: fix the first and the second shows.
  s.text = s.text.replace('remote 10.0.0.300', 'remote 10.0.0.20');
  const d2 = await check({ dir: '', files: rendered, gateway: input.gateway, tenants: input.tenants });
  const e2 = d2.filter((x) => x.code === 'links/check');
  assert.is(e2.length, 1, JSON.stringify(d2, null, 1));
  assert.match(e2[0].message, /^bridge rejects netplan\/90-s2sgw\.fdb:6 `fdb append 00:00:00:00:00:00 dev IfNi1 dst 10\.0\.0\.256`/);
  assert.equal([e2[0].file, e2[0].line], [northwind.file, northwind.network.origin.line]);
});

test("adding a tenant changes no other tenant's lines in either batch", () => {
  const before = build(VSID, emptyLock(), ['northwind']);
  const after = build(VSID, before.alloc);
  const sections = (fs2: RenderedFile[], tenant: string) => fs2.flatMap((f) => f.sections.filter((s) => s.tenant === tenant).map((s) => `${f.path}\n${s.text}`));
  for (const t of ['contoso', 'null']) assert.equal(sections(renderLinks(after), t), sections(renderLinks(before), t), t);
  assert.ok(sections(renderLinks(after), 'northwind').length === 4, 'two connection sections, a VRF section and a network section');
});

test.run();
