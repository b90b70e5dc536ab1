// Incremental apply (issue 8) with real charon, FRR and nft: for each kind of change, the incremental result equals a full reload of the same bundle.
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileDir } from './helpers';
import { writeTree } from '../src/bundle/write';
import { LOCK_FILE } from '../src/model/lock';
import { gatewayYaml, generateRepo, tenantYaml } from '../bench/generate';
import { openSandbox, Sandbox } from '../src/apply/sandbox';
import { LogEntry, parseFaults, Runner } from '../src/apply/runner';
import { apply, describeError } from '../src/apply/engine';
import { ViciClient } from '../src/vici';
import { frrCommands, frrPlan, vtyshScript } from '../src/apply/incremental/frr';
import { nftTenantScript } from '../src/apply/incremental/nft';
import { sectionOf, FRR_MARKER, NFT_MARKER, headOf } from '../src/apply/incremental/sections';
import { differingSecrets } from '../src/apply/incremental/swan';
import { releasePath, shardOf } from '../src/apply/release';
import { linesNaming } from '../src/apply/change-set';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-incr-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
// This kernel has no VRF, VLAN or XFRM devices, no writable per-device sysctls in a netns, and no police action (act_police) for tc.
const SKIP = ['links', 'vrf', 'sysctl', 'tc'];
const N = 3;

/** Every PSK the generated tenants reference (plus the rotated one a change uses), 24+ characters. */
const ENV: NodeJS.ProcessEnv = { T2_SITE1_NEWPSK: 'rotated-psk-for-t2-site1-0123' };
for (let i = 1; i <= N + 1; i++) for (let k = 1; k <= 3; k++) ENV[`T${i}_SITE${k}_PSK`] = `psk-of-t${i}-site${k}-0123456789abcdef`;

// ---- bundles from YAML, compiled by the real pipeline with the base lock ----

const base = path.join(tmp, 'repo-base');
generateRepo(base, { tenants: N });
{
  const c = compileDir(base);
  assert.ok(c.ok, JSON.stringify(c.diagnostics.slice(0, 3)));
  fs.writeFileSync(path.join(base, LOCK_FILE), c.lockText!);
}

/** Builds a bundle from the base repository with `edit` applied to a copy; returns the bundle folder. */
function build(name: string, edit: (dir: string) => void = () => undefined): string {
  const dir = path.join(tmp, `repo-${name}`);
  fs.cpSync(base, dir, { recursive: true });
  edit(dir);
  const c = compileDir(dir);
  assert.ok(c.ok, `${name}: ${JSON.stringify(c.diagnostics.slice(0, 3))}`);
  const out = path.join(tmp, `bundle-${name}`);
  writeTree(out, c.bundles[0].files);
  return out;
}
const tenantFile = (dir: string, t: string) => path.join(dir, 'tenants', `${t}.yaml`);
const editTenant = (t: string, f: (y: string) => string) => (dir: string) => {
  const before = fs.readFileSync(tenantFile(dir, t), 'utf8');
  const after = f(before);
  assert.is.not(after, before, `the edit of ${t} changed nothing`);
  fs.writeFileSync(tenantFile(dir, t), after);
};

/** The kinds of change the plan lists, each a small edit of tenant t2 (or the gateway, or the tenant set). */
const CHANGES: Array<{ name: string; edit: (dir: string) => void; expect: Partial<Record<'frr' | 'nft' | 'swan' | 'tc', boolean>> }> = [
  { name: 'tenant added', edit: (d) => fs.writeFileSync(tenantFile(d, `t${N + 1}`), tenantYaml(N + 1)), expect: { frr: true, nft: true, swan: true, tc: true } },
  { name: 'tenant removed', edit: (d) => fs.rmSync(tenantFile(d, 't3')), expect: { frr: true, nft: true, swan: true } },
  { name: 'route metric changed', edit: editTenant('t2', (y) => y.replace('{ to: 10.1.0.0/16, metric: 100 }', '{ to: 10.1.0.0/16, metric: 150 }')), expect: { frr: true } },
  { name: 'route removed', edit: editTenant('t2', (y) => y.replace('      - { to: 10.1.0.0/16, metric: 200 }\n', '')), expect: { frr: true } },
  { name: 'PSK reference changed', edit: editTenant('t2', (y) => y.replace('env:T2_SITE1_PSK', 'env:T2_SITE1_NEWPSK')), expect: { swan: true } },
  { name: 'destination changed', edit: editTenant('t2', (y) => y.replace(/destination: 100\.64\.0\.10\b/, 'destination: 100.64.200.10')), expect: { swan: true } },
  {
    name: 'BGP neighbor added',
    edit: editTenant('t2', (y) => y.replace('    - { address: 10.2.0.1, remoteAsn: 65002, via: t2e2 }\n', '    - { address: 10.2.0.1, remoteAsn: 65002, via: t2e2 }\n    - { address: 10.3.0.1, remoteAsn: 65003, via: t2e3 }\n')),
    expect: { frr: true },
  },
  { name: 'BGP neighbor AS changed', edit: editTenant('t2', (y) => y.replace('remoteAsn: 65001', 'remoteAsn: 65011')), expect: { frr: true } },
  {
    name: 'filter rule added',
    edit: editTenant('t2', (y) => y.replace('      - { destination: 192.168.0.0/29, protocol: tcp, destinationPort: 443 }\n', '      - { destination: 192.168.0.0/29, protocol: tcp, destinationPort: 443 }\n      - { destination: 192.168.0.0/29, protocol: tcp, destinationPort: 22 }\n')),
    expect: { nft: true },
  },
  { name: 'rate changed', edit: editTenant('t2', (y) => y.replace('rate: { txKbps: 1024, rxKbps: 1024 }', 'rate: { txKbps: 2048, rxKbps: 1024 }')), expect: { tc: true } },
  { name: 'gateway defaults changed', edit: (d) => fs.writeFileSync(path.join(d, 'gateways', 'gw1.yaml'), gatewayYaml('gw1').replace('dpd: 30s', 'dpd: 20s').replace('rate: { txKbps: 5120, rxKbps: 5120 }', 'rate: { txKbps: 4096, rxKbps: 5120 }')), expect: { swan: true, tc: true } },
];

// ---- what a host holds, as one comparable value ----

function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/**
 * `nft list table inet s2sgw` in canonical form: chains sorted by name (rules in order), map elements sorted.
 * nft lists chains in creation order, and an incremental apply creates a new tenant's chains after the others.
 */
export function canonicalNft(listing: string): string {
  const lines = listing.replace(/counter packets \d+ bytes \d+/g, 'counter').split('\n');
  const blocks: string[] = [];
  let cur: string[] | undefined;
  let depth = 0;
  for (const l of lines) {
    const t = l.trim();
    if (depth === 1 && /^(chain|map|set) /.test(t)) cur = [];
    if (cur) cur.push(t);
    depth += (l.match(/\{/g) ?? []).length - (l.match(/\}/g) ?? []).length;
    if (cur && depth === 1) {
      // Map elements: one per entry, sorted.
      const text = cur.join('\n').replace(/elements = \{([^}]*)\}/s, (_, body: string) => `elements = {\n${body.split(/,\s*/).map((x) => x.trim()).filter(Boolean).sort().join(',\n')}\n}`);
      blocks.push(text);
      cur = undefined;
    }
  }
  return blocks.sort().join('\n\n');
}

async function snapshot(sb: Sandbox): Promise<Record<string, string>> {
  const c = await ViciClient.connect(sb.vici);
  let conns: string;
  let shared: string;
  let names: string;
  try {
    names = (await c.getConns()).sort().join(',');
    conns = JSON.stringify(plain((await c.listConns()).sort((a, b) => (a.name < b.name ? -1 : 1))), null, 1);
    shared = (await c.getShared()).sort().join(',');
  } finally {
    await c.close();
  }
  return {
    conns: names,
    connDetails: conns,
    shared,
    frr: sb.sh('vtysh', ['-N', sb.pathspace!, '-c', 'show running-config no-header']).stdout,
    nft: canonicalNft(sb.sh('nft', ['list', 'table', 'inet', 's2sgw']).stdout),
  };
}

async function run(sb: Sandbox, bundle: string, full = false, dryRunTc = false): Promise<{ log: LogEntry[]; said: string }> {
  const runner = new Runner(sb.runner({ skip: dryRunTc ? SKIP.filter((s) => s !== 'tc') : SKIP }));
  runner.dryRun = dryRunTc;
  const said: string[] = [];
  const out = await apply(runner, { bundle, env: ENV, full, say: (s) => said.push(s) });
  assert.is(out.code, 0, out.error && `${describeError(out.error)}\n${said.join('\n')}`);
  return { log: runner.log, said: said.join('\n') };
}


// ---- pure parts ----

test('sections: a tenant section is found by its marker, not by a name prefix (t1 is not t10)', () => {
  const frr = '! head\nhostname gw1\n!\n! tenant t1: tenants/t1.yaml\nvrf t1\nexit-vrf\n!\n! tenant t10: tenants/t10.yaml\nvrf t10\nexit-vrf\n';
  assert.is(headOf(frr, FRR_MARKER), '! head\nhostname gw1\n!\n');
  assert.is(sectionOf(frr, FRR_MARKER, 't1'), '! tenant t1: tenants/t1.yaml\nvrf t1\nexit-vrf\n!\n');
  assert.is(sectionOf(frr, FRR_MARKER, 't10'), '! tenant t10: tenants/t10.yaml\nvrf t10\nexit-vrf\n');
  assert.is(sectionOf(frr, FRR_MARKER, 't2'), '');
  assert.is(sectionOf('# head\n# tenant a (x): zone 1\nadd element\n', NFT_MARKER, 'a'), '# tenant a (x): zone 1\nadd element\n');
});

test('sections: a Buffer gives the same head and sections as the text', () => {
  const frr = '! head\n!\n! tenant t1: tenants/t1.yaml\nvrf t1\n! tenant t10: tenants/t10.yaml\nvrf t10 ü\n';
  const b = Buffer.from(frr);
  assert.is(headOf(b, FRR_MARKER), headOf(frr, FRR_MARKER));
  for (const t of ['t1', 't10', 't2']) assert.is(sectionOf(b, FRR_MARKER, t), sectionOf(frr, FRR_MARKER, t));
});

test('linesNaming: whole words only, comments skipped, file order, same for text and bytes', () => {
  const tc = '# t1 t1e1 (tenants/t1.yaml:3)\nqdisc replace dev t1e1 root tbf\nqdisc replace dev t10e1 root tbf\n\tfilter replace dev t1e1 parent ffff:\nlink set dev t1e10 master t1\nqdisc replace dev t1e1';
  const want = ['qdisc replace dev t1e1 root tbf', 'filter replace dev t1e1 parent ffff:', 'link set dev t1e10 master t1', 'qdisc replace dev t1e1'];
  assert.equal(linesNaming(tc, ['t1e1', 't1']), want);
  assert.equal(linesNaming(Buffer.from(tc), new Set(['t1', 't1e1'])), want);
  assert.equal(linesNaming(tc, ['t2', '']), []);
});

test('differingSecrets: only the blocks that differ (and at most a neighbour), for changes, additions and removals', () => {
  const blk = (n: string) => `  ike-${n[0]} {\n    id-1 = "192.0.2.1"\n    secret = "0s${n.slice(1)}"\n  }\n`;
  const file = (bs: string[]) => `secrets {\n${bs.map(blk).join('')}}\n`;
  const names = (t: string) => [...t.matchAll(/ike-(\w+) \{\n.*\n.*"0s(\d)"/g)].map((m) => m[1] + m[2]).join(',');
  const cases: Array<[string[], string[], string, string]> = [
    [['a1', 'b1', 'c1'], ['a1', 'b2', 'c1'], 'b1', 'b2'],
    [['a1', 'b1', 'c1'], ['a1', 'c1'], 'b1,c1', 'c1'],
    [['a1', 'c1'], ['a1', 'b1', 'c1'], 'c1', 'b1,c1'],
    [['a1', 'b1', 'c1'], ['a2', 'b1', 'c1'], 'a1', 'a2'],
    [['a1', 'b1', 'c1'], ['a1', 'b1', 'c2'], 'c1', 'c2'],
    [['a1', 'b1'], ['a1', 'b1', 'd1'], '', 'd1'],
    [[], ['a1'], '', 'a1'],
    [['a1'], [], 'a1', ''],
    [['a1', 'b1'], ['b1'], 'a1,b1', 'b1'],
  ];
  for (const [x, y, wa, wb] of cases) {
    const [da, db] = differingSecrets(file(x), file(y));
    assert.is(`${names(da)} | ${names(db)}`, `${wa} | ${wb}`, `${x} -> ${y}`);
    assert.ok(da.startsWith('secrets {\n') && db.startsWith('secrets {\n'));
  }
});

test('differingSecrets: files larger than its 4 KB slices give what a character-by-character comparison gives', () => {
  const blk = (i: number, v = '') => `  ike-t${i}e1 {\n    id-1 = "192.0.2.1"\n    secret = "0s${i}${v}"\n  }\n`;
  const file = (ids: number[], changed = -1) => `secrets {\n${ids.map((i) => blk(i, i === changed ? 'x' : '')).join('')}}\n`;
  // The former comparison: the common prefix and suffix character by character, widened to whole blocks.
  const reference = (a: string, b: string): [string, string] => {
    const n = Math.min(a.length, b.length);
    let p = 0;
    while (p < n && a[p] === b[p]) p++;
    let q = 0;
    while (q < n - p && a[a.length - 1 - q] === b[b.length - 1 - q]) q++;
    const END = '\n  }\n';
    const ls = a.lastIndexOf('\n', p - 1) + 1;
    const before = ls >= 5 ? a.lastIndexOf(END, ls - 5) : -1;
    const start = before < 0 ? a.indexOf('\n') + 1 : before + END.length;
    const after = a.indexOf(END, a.length - q);
    const fromEnd = after < 0 ? 0 : a.length - (after + END.length);
    const part = (t: string) => `secrets {\n${t.slice(start, Math.max(start, t.length - fromEnd))}`;
    return [part(a), part(b)];
  };
  const all = Array.from({ length: 600 }, (_, i) => i + 1);
  const cases: Array<[string, string]> = [[file(all), file(all)]];
  for (const at of [1, 2, 87, 88, 89, 300, 512, 599, 600]) {
    cases.push([file(all), file(all, at)], [file(all), file(all.filter((i) => i !== at))], [file(all.filter((i) => i !== at)), file(all)]);
  }
  cases.push([file(all), file([...all, 601, 602])], [file(all), file(all.slice(0, 10))], [file([]), file(all)]);
  for (const [a, b] of cases) {
    assert.ok(a.length > 4096 || b.length > 4096);
    assert.equal(differingSecrets(a, b), reference(a, b));
  }
});

test('frr commands: a distance change is `no` old then the new route; a removed neighbor is one `no ... remote-as`; an AS change replaces in place', () => {
  const a = 'vrf t\n ip route 10.1.0.0/16 e1 100\nexit-vrf\nrouter bgp 1 vrf t\n neighbor 10.1.0.1 remote-as 2\n neighbor 10.2.0.1 remote-as 3\n neighbor 10.2.0.1 timers connect 5\n !\n address-family ipv4 unicast\n  neighbor 10.1.0.1 activate\n  neighbor 10.2.0.1 activate\n exit-address-family\nexit\n';
  const b = 'vrf t\n ip route 10.1.0.0/16 e1 150\nexit-vrf\nrouter bgp 1 vrf t\n neighbor 10.1.0.1 remote-as 4\n !\n address-family ipv4 unicast\n  neighbor 10.1.0.1 activate\n exit-address-family\nexit\n';
  assert.equal(vtyshScript(frrCommands(a, b)), [
    'configure terminal',
    'vrf t',
    'no ip route 10.1.0.0/16 e1 100',
    'exit-vrf',
    'router bgp 1 vrf t',
    'no neighbor 10.2.0.1 remote-as 3',
    'exit',
    'vrf t',
    'ip route 10.1.0.0/16 e1 150',
    'exit-vrf',
    'router bgp 1 vrf t',
    'neighbor 10.1.0.1 remote-as 4',
    'exit',
    'end',
  ]);
  // A whole new block is sent with its header opening it; a removed one is one `no HEADER`.
  assert.equal(vtyshScript(frrCommands('', 'route-map m permit 10\n match ip address prefix-list p\nexit\n')), ['configure terminal', 'route-map m permit 10', 'match ip address prefix-list p', 'exit', 'end']);
  assert.equal(vtyshScript(frrCommands('route-map m permit 10\n match ip address prefix-list p\nexit\nip prefix-list p seq 5 permit any\n', '')), [
    'configure terminal',
    'no route-map m permit 10',
    'no ip prefix-list p seq 5 permit any',
    'end',
  ]);
});

test('frr plan: a removed tenant\'s lines all wait for remove-frr, its `no vrf` last; a kept tenant\'s removed VRF only holds back its `no vrf`', () => {
  const head = '! head\n!\n';
  const t = (n: string) => `! tenant ${n}: tenants/${n}.yaml\nvrf ${n}\n ip route 10.1.0.0/16 ${n}e1 100\nexit-vrf\n!\nrouter bgp 64512 vrf ${n}\n neighbor 10.1.0.1 remote-as 65001\nexit\n!\n`;
  const plan = frrPlan(head + t('a') + t('b'), head + t('a'), ['b']);
  assert.equal(plan.vrfRemovals, ['b']);
  assert.equal(plan.removed, ['b']);
  // reload-frr has nothing to send; remove-frr sends the routes, the BGP instance, and only then `no vrf`.
  assert.equal(plan.commands, []);
  assert.equal(vtyshScript(plan.removals), ['configure terminal', 'vrf b', 'no ip route 10.1.0.0/16 be1 100', 'exit-vrf', 'no router bgp 64512 vrf b', 'no vrf b', 'end']);
  // A removal next to a change of another tenant: the change in reload-frr, the removal whole in remove-frr.
  const mixed = frrPlan(head + t('a') + t('b'), head + t('a').replace(' 100', ' 150'), ['a', 'b']);
  assert.equal(vtyshScript(mixed.commands), ['configure terminal', 'vrf a', 'no ip route 10.1.0.0/16 ae1 100', 'ip route 10.1.0.0/16 ae1 150', 'exit-vrf', 'end']);
  assert.equal(vtyshScript(mixed.removals), ['configure terminal', 'vrf b', 'no ip route 10.1.0.0/16 be1 100', 'exit-vrf', 'no router bgp 64512 vrf b', 'no vrf b', 'end']);
  // A tenant that stays but loses its VRF block: its other lines go in reload-frr, only the `no vrf` waits.
  const kept = frrPlan(head + t('a'), `${head}! tenant a: tenants/a.yaml\nip prefix-list p seq 5 permit any\n`, ['a']);
  assert.equal(kept.removed, []);
  assert.equal(vtyshScript(kept.commands), ['configure terminal', 'vrf a', 'no ip route 10.1.0.0/16 ae1 100', 'exit-vrf', 'no router bgp 64512 vrf a', 'ip prefix-list p seq 5 permit any', 'end']);
  assert.equal(vtyshScript(kept.removals), ['configure terminal', 'no vrf a', 'end']);
  // A VRF kept (its routes changed) is no removal; a tenant added back is one, the other way.
  for (const p of [frrPlan(head + t('a'), head + t('a').replace(' 100', ' 150'), ['a']), frrPlan(head + t('a'), head + t('a') + t('b'), ['b'])]) {
    assert.equal(p.vrfRemovals, []);
    assert.equal(p.removals, []);
    assert.equal(p.removed, []);
  }
});

test('nft script: old elements out, kept chains flushed, dropped chains deleted, new section in', () => {
  const a = '# tenant t (f): zone 1\nadd element inet s2sgw zone_iif { "ti" comment "f:1" : 1 }\ntable inet s2sgw {\n\tchain outbound_ti {\n\t\tcounter drop\n\t}\n\tchain inbound_ti {\n\t\tcounter drop\n\t}\n}\n';
  const b = '# tenant t (f): zone 1\nadd element inet s2sgw zone_iif { "ti" comment "f:1" : 1 }\ntable inet s2sgw {\n\tchain outbound_ti {\n\t\tcounter accept\n\t}\n}\n';
  assert.is(nftTenantScript(a, b), `delete element inet s2sgw zone_iif { "ti" }\nflush chain inet s2sgw outbound_ti\nflush chain inet s2sgw inbound_ti\ndelete chain inet s2sgw inbound_ti\n${b}`);
});

// ---- real daemons ----

test('incremental apply equals a full reload on real charon, FRR and nft, for each kind of change, both ways', async () => {
  const sb = await openSandbox({ frr: true });
  try {
    const b0 = build('unchanged');
    await run(sb, b0);
    const start = await snapshot(sb);
    assert.match(start.frr, /router bgp 64512 vrf t3/);
    assert.match(start.nft, /chain outbound_t2i \{\ntype filter|chain outbound_t2i \{\nip saddr/);
    assert.match(start.nft, /"t3e3" comment "tenants\/t3\.yaml:\d+" : 3,\n/);
    assert.match(start.connDetails, /"t2e2"/);
    assert.is(start.conns.split(',').length, 3 * N);
    assert.is(start.shared.split(',').length, 3 * N);
    for (const ch of CHANGES) {
      const bv = build(ch.name.replace(/\W+/g, '-'), ch.edit);
      if (ch.expect.tc) {
        // tc cannot run here (no act_police): a dry run shows its batch, which must be exactly the touched devices' lines of the file.
        const dry = await run(sb, bv, false, true);
        const input = dry.log.find((e) => e.step === 'reload-tc')?.input ?? '';
        const file = fs.readFileSync(path.join(bv, 'tc/s2sgw.tc'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
        const touched = ch.name === 'gateway defaults changed' ? /./ : ch.name === 'tenant added' ? /dev t4e\d / : /dev t2e\d /;
        assert.equal(input.split('\n').filter(Boolean), file.filter((l) => touched.test(l)), `${ch.name}: tc batch`);
        assert.match(input, ch.name === 'rate changed' ? /dev t2e1 root handle 1: tbf rate 2048kbit/ : /tbf rate/);
      }
      // Forward: incremental, then a full reload of the same bundle must find nothing to change.
      const inc = await run(sb, bv);
      const s1 = await snapshot(sb);
      const steps = inc.log.filter((e) => !['check', 'health'].includes(e.step));
      // reload-frr sends its sequence as a file (`vtysh -f`): what it held is part of the command.
      const vtyshFile = (e: LogEntry) => (e.argv[0] === 'vtysh' && e.argv.at(-2) === '-f' ? fs.readFileSync(e.argv.at(-1)!, 'utf8') : '');
      const cmd = (e: LogEntry) => `${e.argv.join(' ')} ${e.input ?? ''} ${vtyshFile(e)}`;
      assert.not.ok(steps.some((e) => e.argv[0] === 'frr-reload.py'), `${ch.name}: frr-reload.py ran:\n${steps.map(cmd).join('\n')}\n${inc.said}`);
      assert.not.ok(steps.some((e) => e.argv[0] === 'swanctl' && e.argv.includes('--load-all')), `${ch.name}: swanctl --load-all ran`);
      assert.not.ok(steps.some((e) => e.argv[0] === 'nft' && !e.argv.some((a) => a.endsWith('incremental.nft'))), `${ch.name}: the whole nft file was loaded`);
      // The steps the change is about ran (others may too: a tenant's nft and tc lines carry YAML line numbers in comments).
      for (const [what, step] of [['frr', 'reload-frr'], ['nft', 'reload-nftables'], ['swan', 'reload-strongswan']] as const) {
        // (A removed tenant's FRR lines all go in remove-frr.)
        if (ch.expect[what]) assert.ok(steps.some((e) => e.step === step || (what === 'frr' && e.step === 'remove-frr')), `${ch.name}: ${step} did not run`);
      }
      if (!ch.expect.swan) assert.not.ok(steps.some((e) => e.step === 'reload-strongswan'), `${ch.name}: charon was told something`);
      // health asks FRR whether it answers (`vtysh -c 'show version'`) only when no vtysh sequence went through in this switch.
      const frrSent = steps.some((e) => ['reload-frr', 'remove-frr'].includes(e.step) && e.argv[0] === 'vtysh');
      const asked = inc.log.some((e) => e.step === 'health' && e.argv[0] === 'vtysh' && e.argv.includes('show version'));
      assert.is(asked, !frrSent, `${ch.name}: health's vtysh (reload-frr/remove-frr sent a sequence: ${frrSent})`);
      // A removed tenant's FRR lines all go in remove-frr, the last step (after remove-links deleted the kernel VRF;
      // FRR refuses to delete an active VRF): one vtysh run, its routes and BGP instance first, `no vrf` last.
      const vtyshRuns = steps.filter((e) => e.argv[0] === 'vtysh');
      const noVrf = vtyshRuns.filter((e) => e.argv.some((a) => /^no vrf /.test(a)) || /^no vrf /m.test(vtyshFile(e)));
      if (ch.name === 'tenant removed') {
        assert.equal(vtyshRuns.map((e) => e.step), ['remove-frr'], `${ch.name}: vtysh run by ${vtyshRuns.map((e) => e.step)}`);
        assert.is(steps.at(-1)!.step, 'remove-frr');
        const rm = vtyshRuns[0];
        assert.equal(rm.argv.at(-2), '-f', rm.argv.join(' '));
        const body = vtyshFile(rm).split('\n').filter(Boolean);
        assert.ok(body.includes('no router bgp 64512 vrf t3'), body.join('\n'));
        assert.is(body.at(-1), 'no vrf t3', body.join('\n'));
        assert.is(body.filter((l) => /^no vrf /.test(l)).length, 1, body.join('\n'));
      } else assert.equal(noVrf, [], `${ch.name}: no vrf sent`);
      if (ch.name !== 'gateway defaults changed') {
        // Tenants nobody changed (t1 always; t3 unless it is the one removed) appear in no command.
        for (const e of steps) assert.not.match(cmd(e), /\bt1(e\d|i)?\b/, `${ch.name}: ${e.step} named t1: ${cmd(e)}`);
      }
      const full = await run(sb, bv, true);
      assert.ok(full.log.some((e) => e.argv[0] === 'swanctl' && e.argv.includes('--load-all')), 'the full reload ran swanctl --load-all');
      const s2 = await snapshot(sb);
      for (const k of Object.keys(s1)) assert.fixture(s1[k], s2[k], `${ch.name} (forward): ${k} after the incremental apply differs from the full reload`);
      // Back to the base the same way: the reverse delta must be right too.
      await run(sb, b0);
      const s3 = await snapshot(sb);
      await run(sb, b0, true);
      const s4 = await snapshot(sb);
      for (const k of Object.keys(s3)) assert.fixture(s3[k], s4[k], `${ch.name} (back): ${k} after the incremental apply differs from the full reload`);
      // And the base state is exactly what it was: nothing leaked.
      for (const k of ['conns', 'connDetails', 'shared', 'frr', 'nft']) assert.fixture(s4[k], start[k], `${ch.name}: ${k} after going back differs from the start`);
    }
  } finally {
    await sb.close();
  }
});

test('a host that drifted from its release: each incremental step falls back to the whole-file path and converges', async () => {
  const sb = await openSandbox({ frr: true });
  try {
    const b0 = build('drift-base');
    await run(sb, b0);
    // Someone removed t3's pieces by hand: a connection, a static route, a zone element.
    const c = await ViciClient.connect(sb.vici);
    await c.unloadConn('t3e1');
    await c.close();
    assert.is(sb.sh('vtysh', ['-N', sb.pathspace!, '-c', 'configure terminal', '-c', 'vrf t3', '-c', 'no ip route 10.1.0.0/16 t3e1 100']).code, 0);
    assert.is(sb.sh('nft', ['delete', 'element', 'inet', 's2sgw', 'zone_iif', '{ "t3i" }']).code, 0);
    const bv = build('drift-removed', CHANGES.find((x) => x.name === 'tenant removed')!.edit);
    const inc = await run(sb, bv);
    // The removed tenant's FRR lines go in remove-frr (after remove-links), which falls back there.
    assert.match(inc.said, /remove-frr: vtysh refused the commands for the removed tenants t3 \(% Refusing to remove a non-existent route/);
    assert.match(inc.said, /reload-strongswan: charon refused vici --unload-conn t3e1/);
    assert.match(inc.said, /reload-nftables: nft refused the incremental transaction/);
    for (const [step, tool] of [['remove-frr', 'frr-reload.py'], ['reload-strongswan', 'swanctl'], ['reload-nftables', 'nft']]) {
      assert.ok(inc.log.some((e) => e.step === step && e.argv[0] === tool && !e.argv.some((a) => a.endsWith('incremental.nft'))), `${step} fell back to ${tool}`);
    }
    const s1 = await snapshot(sb);
    await run(sb, bv, true);
    const s2 = await snapshot(sb);
    for (const k of Object.keys(s1)) assert.fixture(s1[k], s2[k], `${k} after the fallback differs from the full reload`);
    assert.not.match(s1.frr + s1.conns + s1.nft, /t3/);
  } finally {
    await sb.close();
  }
});

test('health: a switch that leaves s2sgw.nft alone probes the nft table beside the reload steps; a table deleted by hand still fails health', async () => {
  const sb = await openSandbox({ frr: true });
  try {
    const b0 = build('probe-base');
    await run(sb, b0);
    const bv = build('probe-metric', CHANGES.find((x) => x.name === 'route metric changed')!.edit);
    // reload-frr held up for 1.5 s: the probe, started right after the switch, is done (and logged) before reload-frr's vtysh.
    const slow = new Runner(sb.runner({ skip: SKIP, faults: parseFaults('pause@reload-frr:1500') }));
    const said0: string[] = [];
    assert.is((await apply(slow, { bundle: bv, env: ENV, say: (x) => said0.push(x) })).code, 0, said0.join('\n'));
    assert.not.ok(slow.log.some((e) => e.step === 'reload-nftables'), 'the change leaves s2sgw.nft alone');
    const probes = slow.log.flatMap((e, i) => (e.step === 'health' && e.argv[0] === 'nft' ? [i] : []));
    assert.is(probes.length, 1, "health's nft probe ran once, under health");
    const vtysh = slow.log.findIndex((e) => e.step === 'reload-frr' && e.argv[0] === 'vtysh');
    assert.ok(vtysh >= 0 && probes[0] < vtysh, `the probe ran beside reload-frr: ${slow.log.map((e) => `${e.step}: ${e.argv[0]}`).join(', ')}`);
    await run(sb, b0);
    assert.is(sb.sh('nft', ['delete', 'table', 'inet', 's2sgw']).code, 0);
    const runner = new Runner(sb.runner({ skip: SKIP }));
    const said: string[] = [];
    const out = await apply(runner, { bundle: bv, env: ENV, say: (x) => said.push(x) });
    assert.is(out.code, 1, said.join('\n'));
    assert.is(out.error?.step, 'health');
    assert.match(out.error?.tool ?? '', /nft has no table inet s2sgw/);
  } finally {
    await sb.close();
  }
});

test('a removal next to a change reload-frr had to reload whole: remove-frr then sends only the removed VRF\'s `no vrf`', async () => {
  const sb = await openSandbox({ frr: true });
  try {
    const b0 = build('whole-base');
    await run(sb, b0);
    // Someone removed t2's static route by hand: reload-frr's `no ip route` for t2's metric change is refused.
    assert.is(sb.sh('vtysh', ['-N', sb.pathspace!, '-c', 'configure terminal', '-c', 'vrf t2', '-c', 'no ip route 10.1.0.0/16 t2e1 100']).code, 0);
    const metric = CHANGES.find((x) => x.name === 'route metric changed')!.edit;
    const removal = CHANGES.find((x) => x.name === 'tenant removed')!.edit;
    const bv = build('whole-both', (d) => {
      metric(d);
      removal(d);
    });
    const inc = await run(sb, bv);
    assert.ok(/reload-frr: vtysh refused the incremental commands for t2 \(/.test(inc.said), inc.said);
    assert.ok(inc.log.some((e) => e.step === 'reload-frr' && e.argv[0] === 'frr-reload.py'), 'reload-frr fell back to frr-reload.py');
    // frr-reload.py removed t3's lines; what is left for remove-frr is its `no vrf`, in one vtysh run, and no fallback.
    const rm = inc.log.filter((e) => e.step === 'remove-frr');
    assert.equal(rm.map((e) => e.argv[0]), ['vtysh'], rm.map((e) => e.argv.join(' ')).join('\n'));
    assert.equal(fs.readFileSync(rm[0].argv.at(-1)!, 'utf8').split('\n').filter(Boolean), ['no vrf t3']);
    assert.not.match(inc.said, /remove-frr: vtysh refused/);
    const s1 = await snapshot(sb);
    await run(sb, bv, true);
    const s2 = await snapshot(sb);
    assert.fixture(s1.frr, s2.frr, 'FRR after the fallback differs from the full reload');
    assert.not.match(s1.frr, /t3/);
  } finally {
    await sb.close();
  }
});

/** Rewrites one file of a bundle folder and its sha256 in the manifest (a bundle that verifies but is wrong). */
function tamper(bundle: string, rel: string, edit: (s: string) => string): void {
  const p = path.join(bundle, rel);
  fs.writeFileSync(p, edit(fs.readFileSync(p, 'utf8')));
  const m = JSON.parse(fs.readFileSync(path.join(bundle, 'manifest.json'), 'utf8'));
  m.files[rel].sha256 = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  fs.writeFileSync(path.join(bundle, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
}

test('stage hard-links the files a change leaves alone; check looks at the changed tenant only, and still refuses a bad line', async () => {
  const sb = await openSandbox({ frr: true });
  try {
    const b0 = build('stage-base');
    await run(sb, b0);
    const bv = build('stage-metric', CHANGES.find((c) => c.name === 'route metric changed')!.edit);
    const inc = await run(sb, bv);
    const releases = path.join(sb.root, 'var/lib/s2sgw/releases');
    const [r0, r1] = [b0, bv].map((b) => path.join(releases, createHash('sha256').update(fs.readFileSync(path.join(b, 'manifest.json'))).digest('hex')));
    const ino = (r: string, f: string) => fs.statSync(releasePath({ dir: r }, f)).ino;
    assert.is(ino(r0, 'swanctl/conf.d/t1.conf'), ino(r1, 'swanctl/conf.d/t1.conf'), 'an unchanged file is the same file');
    // Connection files live in shard folders the two releases share: each release links to them.
    const shard = (r: string) => fs.readlinkSync(path.join(r, 'swanctl/conf.d', shardOf('t1.conf')));
    assert.match(shard(r0), /^\.\.\/\.\.\/\.\.\/\.\.\/shards\/[0-9a-f]{64}$/);
    assert.is(shard(r1), shard(r0), 'an unchanged shard is shared');
    assert.ok(fs.lstatSync(path.join(r1, 'swanctl/conf.d', shardOf('t1.conf'))).isSymbolicLink());
    // After the commit's pruning, shards/ holds exactly the shards some release links to.
    const linked = new Set(fs.readdirSync(releases).filter((r) => !r.startsWith('.trash-')).flatMap((r) => ['swanctl/conf.d', 'summaries'].flatMap((d) => fs.readdirSync(path.join(releases, r, d)).map((k) => path.basename(fs.readlinkSync(path.join(releases, r, d, k)))))));
    // Tenant summaries are sharded the same way.
    assert.match(fs.readlinkSync(path.join(r1, 'summaries', shardOf('t1.json'))), /^\.\.\/\.\.\/\.\.\/shards\/[0-9a-f]{64}$/);
    assert.ok(fs.readFileSync(releasePath({ dir: r1 }, 'summaries/t2.json'), 'utf8').startsWith('{"file":"tenants/t2.yaml"'));
    // Discarded folders (`.trash-*`) are on their way out in a detached rm.
    assert.equal(fs.readdirSync(path.join(sb.root, 'var/lib/s2sgw/shards')).filter((x) => !x.startsWith('.trash-')).sort(), [...linked].sort());
    assert.is.not(ino(r0, 'frr/frr.conf'), ino(r1, 'frr/frr.conf'), 'a changed file is a new file');
    assert.is(fs.readFileSync(path.join(r1, 'frr/frr.conf'), 'utf8'), fs.readFileSync(path.join(bv, 'frr/frr.conf'), 'utf8'));
    assert.is(fs.statSync(path.join(r1, 'swanctl/secrets.conf')).mode & 0o777, 0o600);
    // The check ran vtysh -C on the head plus t2's section, not the whole file.
    const vt = inc.log.find((e) => e.step === 'check' && e.argv[0] === 'vtysh');
    assert.ok(vt && vt.argv.at(-1)!.endsWith('changed.conf'), JSON.stringify(vt));
    const part = fs.readFileSync(vt!.argv.at(-1)!, 'utf8');
    assert.match(part, /^! tenant t2: /m);
    assert.not.match(part, /^! tenant t[13]: /m);
    assert.match(part, /^hostname gw1$/m);

    // A nft line nft refuses in the changed tenant. No `nft -c` of the delta before the switch (a second read of the
    // whole ruleset): reload-nftables' `nft -f` is refused, all-or-nothing, then the whole file's too; the apply
    // fails naming nft's error and the tenant line, rolls back, and the host is as it was. The rollback leaves the
    // nft table alone (nft took nothing) instead of loading the old release's delta, which nft would refuse in turn.
    const before = await snapshot(sb);
    const bad = build('stage-bad', CHANGES.find((c) => c.name === 'filter rule added')!.edit);
    tamper(bad, 'nftables/s2sgw.nft', (t) => t.replace(/(add chain inet s2sgw inbound_t2i\n)/, '$1add rule inet s2sgw inbound_t2i iifname "t2e1" tcp dport 22 counter bogus\n'));
    const runner = new Runner(sb.runner({ skip: SKIP }));
    const said: string[] = [];
    const out = await apply(runner, { bundle: bad, env: ENV, say: (s) => said.push(s) });
    assert.is(out.code, 1);
    assert.is(out.error!.step, 'reload-nftables');
    assert.is(out.error!.message, 'nft -f nftables/s2sgw.nft exited 1');
    assert.match(out.error!.tool!, /bogus/);
    assert.match(out.error!.where ?? '', /tenant t2, connection t2e1/);
    assert.is(out.rolledBackTo, path.basename(r1));
    const nfts = runner.log.filter((e) => e.argv[0] === 'nft');
    assert.not.ok(nfts.some((e) => e.argv.includes('-c')), `no nft -c of the delta: ${JSON.stringify(nfts.map((e) => e.argv))}`);
    // Forward: the delta, then the whole file (both refused); the rollback runs no nft at all.
    assert.equal(nfts.map((e) => `${e.step} ${path.basename(e.argv.at(-1)!)}`), ['reload-nftables incremental.nft', 'reload-nftables s2sgw.nft']);
    assert.match(said.join('\n'), /reload-nftables: left alone \(the failed switch did not change it\)/);
    assert.equal(await snapshot(sb), before);
    // The journal is finished (the rollback completed) and the state names the release the host runs.
    assert.not.ok(fs.existsSync(path.join(sb.root, 'var/lib/s2sgw/journal.json')), 'no journal left');
    assert.is(JSON.parse(fs.readFileSync(path.join(sb.root, 'var/lib/s2sgw/state.json'), 'utf8')).current, path.basename(r1));
    // A bad nft line in a tenant added with its FRR lines and connections: reload-frr and reload-strongswan (beside
    // reload-nftables) acted before nft refused; the rollback takes them back out, and FRR, charon and nft are as before.
    const badAdd = build('stage-bad-add', CHANGES.find((c) => c.name === 'tenant added')!.edit);
    tamper(badAdd, 'nftables/s2sgw.nft', (t) => t.replace(/(add chain inet s2sgw inbound_t4i\n)/, '$1add rule inet s2sgw inbound_t4i iifname "t4e1" counter bogus\n'));
    const runner2 = new Runner(sb.runner({ skip: SKIP }));
    const said2: string[] = [];
    const out2 = await apply(runner2, { bundle: badAdd, env: ENV, say: (x) => said2.push(x) });
    assert.is(out2.code, 1, said2.join('\n'));
    assert.is(out2.error!.step, 'reload-nftables');
    assert.match(out2.error!.where ?? '', /tenant t4, connection t4e1/);
    assert.ok(runner2.log.some((e) => e.step === 'reload-frr' && e.argv[0] === 'vtysh'), 'reload-frr sent the added tenant\'s lines');
    assert.ok(runner2.log.some((e) => e.step === 'reload-strongswan' && /load-conn/.test(e.argv.join(' '))), 'charon was given the added tenant\'s connections');
    assert.equal(await snapshot(sb), before, said2.join('\n'));
    // The next good apply goes through incrementally.
    const good = build('stage-good', CHANGES.find((c) => c.name === 'filter rule added')!.edit);
    const ok = await run(sb, good);
    assert.ok(ok.log.some((e) => e.step === 'reload-nftables' && e.argv.at(-1)!.endsWith('incremental.nft')), 'the good change loads incrementally');
  } finally {
    await sb.close();
  }
});


test('first apply: charon loaded over VICI, pipelined, holds what swanctl --load-all of the same files gives', async () => {
  const sb = await openSandbox({ frr: true });
  try {
    const b0 = build('first-base');
    const first = await run(sb, b0);
    const swan = first.log.filter((e) => e.step === 'reload-strongswan');
    assert.equal(swan.map((e) => e.argv.join(' ')), ['swanctl --reload-settings --uri ' + sb.vici, 'vici --load-all --pipelined'], JSON.stringify(swan));
    assert.match(first.said, new RegExp(`loaded ${3 * N} connections and ${3 * N} secrets over VICI, pipelined`));
    const s1 = await snapshot(sb);
    assert.is(s1.conns.split(',').length, 3 * N);
    assert.is(s1.shared.split(',').length, 3 * N);
    // --full of the same bundle: swanctl --load-all of the same files, which finds charon as it should be.
    const full = await run(sb, b0, true);
    assert.ok(full.log.some((e) => e.argv[0] === 'swanctl' && e.argv.includes('--load-all')), 'the full reload ran swanctl --load-all');
    const s2 = await snapshot(sb);
    for (const k of ['conns', 'connDetails', 'shared']) assert.fixture(s1[k], s2[k], `${k} after the first apply differs from swanctl --load-all`);
  } finally {
    await sb.close();
  }
});

test('first apply: a connection charon refuses fails reload-strongswan with its name and tenant line, and the host goes back', async () => {
  const sb = await openSandbox({ frr: false });
  try {
    const bad = build('first-refused');
    tamper(bad, 'swanctl/conf.d/t2.conf', (s) => s.replace(/(t2e2 \{\n(?:.*\n)*?\s+proposals = )"[^"]*"/, '$1"aes256-nosuchprf-ecp384"'));
    const runner = new Runner(sb.runner({ skip: [...SKIP, 'frr'] }));
    const said: string[] = [];
    const out = await apply(runner, { bundle: bad, env: ENV, say: (s) => said.push(s) });
    assert.is(out.code, 1, said.join('\n'));
    assert.is(out.error?.step, 'reload-strongswan', out.error && describeError(out.error));
    assert.match(out.error!.message, /charon refused 1 of 18 loads/);
    assert.match(out.error!.tool ?? '', /load-conn t2e2: /);
    assert.match(out.error!.where ?? '', /tenant t2, connection t2e2 \(tenants\/t2\.yaml:\d+\)/);
    // Every other connection was sent (as swanctl --load-all goes on), and the rollback unloaded them all.
    assert.is(out.rolledBackTo, null);
    const c = await ViciClient.connect(sb.vici);
    try {
      assert.equal(await c.getConns(), []);
    } finally {
      await c.close();
    }
  } finally {
    await sb.close();
  }
});

test.run();
