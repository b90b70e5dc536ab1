// Plan: for each kind of change, the impact lines and the exit code; against a Git ref; markdown that renders.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { marked } from 'marked';
import Ajv2020 from 'ajv/dist/2020';
import { ROOT, cli, tempCopy, readFiles } from './helpers';
import { changeLine, planMarkdown } from '../src/plan/plan-format';
import { blobId, filesAt } from '../src/model/git';

interface PlanJson {
  changed: boolean;
  gateways: Array<{ gateway: string; status: string; impact: { tenants: Array<{ tenant: string; status: string; changes: Parameters<typeof changeLine>[0][] }>; untouched: Array<{ tenant: string }>; totals: { tunnelsDropped: number; sessionsReset: number } }; files: Array<{ path: string; patch: string }> }>;
}

/** Builds the example into out/, applies `edit`, and plans against out/. */
async function planAfter(edit: (dir: string) => void): Promise<{ code: number; plan: PlanJson; lines: string[]; untouched: string[] }> {
  const dir = tempCopy(ROOT);
  const built = await cli(['build', '--config', dir]);
  assert.is(built.code, 0, built.err);
  edit(dir);
  const r = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--format', 'json']);
  assert.ok(r.code === 0 || r.code === 3, r.err || r.out);
  const plan = JSON.parse(r.out) as PlanJson;
  const g = plan.gateways[0];
  const lines = g.impact.tenants.flatMap((t) => t.changes.map((c) => `${t.tenant}: ${changeLine(c)} @${c.line}`));
  return { code: r.code, plan, lines, untouched: g.impact.untouched.map((u) => u.tenant) };
}

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit of ${file} changed nothing`);
  fs.writeFileSync(p, next);
}

const CASES: Array<{ name: string; edit: (dir: string) => void; lines: string[]; untouched: string[]; code?: number }> = [
  { name: 'nothing changed', edit: () => undefined, lines: [], untouched: ['contoso', 'woodgrove'], code: 0 },
  {
    name: 'route metric changed',
    edit: (d) => edit(d, 'tenants/contoso.yaml', '{ to: 10.1.0.0/16, metric: 100 }', '{ to: 10.1.0.0/16, metric: 50 }'),
    lines: ['contoso: ~ route 10.1.0.0/16 on IfCe1 changed: metric 100 -> 50 [hitless] @17'],
    untouched: ['woodgrove'],
  },
  {
    name: 'PSK reference changed',
    edit: (d) => edit(d, 'tenants/contoso.yaml', 'env:CONTOSO_NY_PSK', 'file:/etc/s2sgw/secrets/contoso-ny'),
    lines: ['contoso: ! connection IfCe1 replaced: psk credentials changed: the connection is loaded again [replace] @14'],
    untouched: ['woodgrove'],
  },
  {
    name: 'destination changed',
    edit: (d) => edit(d, 'tenants/woodgrove.yaml', '131.107.2.10', '131.107.2.20'),
    lines: ['woodgrove: ! connection IfWe2 replaced: destination 131.107.2.10 -> 131.107.2.20: the connection is loaded again [replace] @18'],
    untouched: ['contoso'],
  },
  {
    name: 'BGP neighbor added',
    edit: (d) => edit(d, 'tenants/contoso.yaml', '    - { address: 10.1.0.1, remoteAsn: 65001, via: IfCe1 }', '    - { address: 10.1.0.1, remoteAsn: 65001, via: IfCe1 }\n    - { address: 10.1.0.2, remoteAsn: 65001, via: IfCe1 }'),
    lines: ['contoso: + bgp neighbor 10.1.0.2 added: AS 65001 via IfCe1 [hitless] @24'],
    untouched: ['woodgrove'],
  },
  {
    name: 'filter rule added',
    edit: (d) => edit(d, 'tenants/contoso.yaml', '      - { protocol: icmp }', '      - { protocol: icmp }\n      - { protocol: udp, destinationPort: 53 }'),
    lines: ['contoso: ~ filter IfCi1 outbound changed: + proto=udp dport=53 [hitless] @32'],
    untouched: ['woodgrove'],
  },
  {
    name: 'rate changed',
    edit: (d) => edit(d, 'tenants/contoso.yaml', 'rate: { txKbps: 1024, rxKbps: 1024 }', 'rate: { txKbps: 2048, rxKbps: 1024 }'),
    lines: ['contoso: ~ rate IfCe1 changed: tx 1024 -> 2048 kbps, rx 1024 -> 1024 kbps [hitless] @18'],
    untouched: ['woodgrove'],
  },
  {
    name: "a gateway's defaults changed: only tenants using the default",
    edit: (d) => edit(d, 'gateways/gw1.yaml', 'rate: { txKbps: 5120, rxKbps: 5120 }', 'rate: { txKbps: 4096, rxKbps: 4096 }'),
    lines: ['woodgrove: ~ rate IfWe1 changed: tx 5120 -> 4096 kbps, rx 5120 -> 4096 kbps [hitless] @11', 'woodgrove: ~ rate IfWe2 changed: tx 5120 -> 4096 kbps, rx 5120 -> 4096 kbps [hitless] @17'],
    untouched: ['contoso'],
  },
  {
    name: 'tenant removed',
    edit: (d) => fs.rmSync(path.join(d, 'tenants', 'woodgrove.yaml')),
    lines: [
      'woodgrove: - tenant IfWi1 removed: VRF, links, chains and qdiscs removed [disruptive] @3',
      'woodgrove: - connection IfWe1 removed: tunnel to 131.107.1.10 removed: its SAs are terminated [disruptive] @11',
      'woodgrove: - connection IfWe2 removed: tunnel to 131.107.2.10 removed: its SAs are terminated [disruptive] @17',
      'woodgrove: - bgp AS 64512 removed: BGP removed: every session ends [disruptive] @24',
      'woodgrove: - filter IfWi1 outbound removed: deny list removed [hitless] @32',
    ],
    untouched: ['contoso'],
  },
  {
    name: 'tenant added',
    edit: (d) =>
      fs.writeFileSync(
        path.join(d, 'tenants', 'fabrikam-lab.yaml'),
        'tenant: fabrikam-lab\nroutingDomain: "{12345678-1000-2000-3000-123456780009}"\ngateways: [gw1]\nnetwork: { interface: IfLi1, vlan: 4009, addresses: [192.168.0.1/29] }\nconnections:\n  - interface: IfLe1\n    destination: 131.107.9.10\n    auth: { psk: env:FABRIKAM_LAB_PSK }\n    routes: [ { to: 10.9.0.0/16 } ]\n',
      ),
    lines: ['fabrikam-lab: + tenant IfLi1 added: VRF table 1003, VLAN 4009 [hitless] @1', 'fabrikam-lab: + connection IfLe1 added: new tunnel to 131.107.9.10 (psk, on-demand) [hitless] @6', 'fabrikam-lab: + route 10.9.0.0/16 on IfLe1 added: metric 1 [hitless] @9'],
    untouched: ['contoso', 'woodgrove'],
  },
];

for (const c of CASES) {
  test(`plan: ${c.name}`, async () => {
    const r = await planAfter(c.edit);
    assert.equal(r.lines, c.lines);
    assert.equal(r.untouched, c.untouched);
    assert.is(r.code, c.code ?? 3);
  });
}

test('plan shows the effective proposals of a changed tenant\'s connections after defaults (json and text)', async () => {
  const change = (d: string) => edit(d, 'tenants/contoso.yaml', '    connect: on-demand\n', '    connect: on-demand\n    esp: { proposals: [aes128gcm16-ecp256, aes256gcm16-ecp384] }\n');
  const { plan, lines } = await planAfter(change);
  assert.equal(lines, ['contoso: ~ connection IfCe1 rekeyed: ESP proposals/lifetime changed: takes effect in place at the next rekey [rekey] @16']);
  // IKE from the gateway's defaults, ESP from the connection's own; woodgrove is untouched, so not listed.
  assert.equal((plan.gateways[0] as unknown as { proposals: unknown }).proposals, [
    { tenant: 'contoso', connection: 'IfCe1', ike: ['aes256gcm16-prfsha384-ecp384'], esp: ['aes128gcm16-ecp256', 'aes256gcm16-ecp384'] },
  ]);
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  change(dir);
  const text = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--format', 'text']);
  assert.is(text.code, 3, text.err);
  assert.ok(text.out.includes('\n      = IfCe1 proposals: ike aes256gcm16-prfsha384-ecp384; esp aes128gcm16-ecp256, aes256gcm16-ecp384\n'), text.out);
});

test('plan counts the tunnels and sessions a removal drops', async () => {
  const r = await planAfter((d) => fs.rmSync(path.join(d, 'tenants', 'woodgrove.yaml')));
  assert.equal(r.plan.gateways[0].impact.totals, { added: 0, changed: 0, removed: 1, untouched: 1, tunnelsDropped: 2, sessionsReset: 2, disruptive: true, class: 'disruptive' } as never);
});

test('plan --against HEAD~1 reports the second commit and leaves the work tree as it was', async () => {
  const dir = tempCopy(ROOT);
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-C', dir, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };
  git('init', '-q');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  git('add', 'gateways', 'tenants', 'allocations.lock.yaml');
  git('commit', '-qm', 'base');
  edit(dir, 'tenants/woodgrove.yaml', '{ to: 10.2.0.0/16, metric: 100 }', '{ to: 10.2.0.0/16, metric: 90 }');
  git('commit', '-qam', 'woodgrove: prefer the SFO route');
  const before = readFiles(dir);
  const status = git('status', '--porcelain');
  const r = await cli(['plan', '--config', dir, '--against', 'HEAD~1']);
  assert.is(r.code, 3, r.err);
  assert.match(r.out, /~ route 10\.2\.0\.0\/16 on IfWe2 changed: metric 100 -> 90/);
  assert.match(r.out, /= contoso untouched/);
  assert.equal(readFiles(dir), before);
  assert.is(git('status', '--porcelain'), status);
  const same = await cli(['plan', '--config', dir, '--against', 'HEAD']);
  assert.is(same.code, 0, same.out);
  assert.match(same.out, /No changes\./);
  // The base side takes a blob from the work tree's bytes only when Git's object id says they are the same bytes.
  const plain = filesAt(dir, 'HEAD~1');
  const wood = fs.readFileSync(path.join(dir, 'tenants/woodgrove.yaml'));
  const contoso = fs.readFileSync(path.join(dir, 'tenants/contoso.yaml'));
  assert.is(blobId(wood, 'sha1'), git('hash-object', 'tenants/woodgrove.yaml').trim());
  const have = new Map([['tenants/woodgrove.yaml', wood], ['tenants/contoso.yaml', contoso], ['gateways/gw1.yaml', Buffer.from('not the same bytes')]]);
  const reused = filesAt(dir, 'HEAD~1', have);
  assert.equal(reused, plain);
  assert.ok(reused.inputs.find((i) => i.path === 'tenants/contoso.yaml')!.bytes === contoso, 'an unchanged blob is the bytes already read');
  assert.ok(reused.inputs.find((i) => i.path === 'tenants/woodgrove.yaml')!.bytes !== wood, 'a changed blob is read from Git');
  // Git says which work-tree files are not the ref's blobs (git diff, from the index's stat data): an edit of the same
  // size made right after the commit (racily clean), the same edit staged, and a file git is told to assume unchanged.
  const disk = () => new Map(['tenants/woodgrove.yaml', 'tenants/contoso.yaml', 'gateways/gw1.yaml', 'allocations.lock.yaml'].map((p) => [p, fs.readFileSync(path.join(dir, p))]));
  const metric = async (to: string) => {
    const p = await cli(['plan', '--config', dir, '--against', 'HEAD']);
    assert.is(p.code, 3, p.out + p.err);
    assert.match(p.out, new RegExp(`~ route 10\\.2\\.0\\.0/16 on IfWe2 changed: metric 90 -> ${to}`));
  };
  edit(dir, 'tenants/woodgrove.yaml', 'metric: 90 }', 'metric: 80 }');
  assert.equal(filesAt(dir, 'HEAD', disk()), filesAt(dir, 'HEAD'));
  await metric('80');
  git('add', 'tenants/woodgrove.yaml');
  assert.equal(filesAt(dir, 'HEAD', disk()), filesAt(dir, 'HEAD'));
  await metric('80');
  git('update-index', '--assume-unchanged', 'tenants/woodgrove.yaml');
  edit(dir, 'tenants/woodgrove.yaml', 'metric: 80 }', 'metric: 70 }');
  assert.equal(filesAt(dir, 'HEAD', disk()), filesAt(dir, 'HEAD'));
  await metric('70');
  // A file Git holds unchanged (Known: its id from Git's index, its bytes read when asked for) with the blob's id stays
  // unread: a lazy input whose bytes, when asked for, are the blob's; read after an edit, the blob comes from Git.
  let reads = 0;
  const contosoPath = path.join(dir, 'tenants/contoso.yaml');
  const known = new Map([['tenants/contoso.yaml', { id: `sha1:${git('hash-object', 'tenants/contoso.yaml').trim()}`, read: () => (reads++, fs.readFileSync(contosoPath)) }]]);
  const full = filesAt(dir, 'HEAD');
  const blob = full.inputs.find((i) => i.path === 'tenants/contoso.yaml')!.bytes as Buffer;
  const lazy = () => filesAt(dir, 'HEAD', known).inputs.find((i) => i.path === 'tenants/contoso.yaml')!;
  const first = lazy();
  const second = lazy();
  assert.ok(first.lazy && first.lazy.id === known.get('tenants/contoso.yaml')!.id, 'kept by its id, unread');
  assert.is(reads, 0);
  assert.ok(blob.equals(first.lazy!.read() as Buffer), 'its bytes are the blob');
  assert.is(reads, 1);
  edit(dir, 'tenants/contoso.yaml', 'metric: 100 }', 'metric: 99 }');
  assert.ok(blob.equals(second.lazy!.read() as Buffer), 'changed since: the blob from Git, not the work tree');
  assert.equal(filesAt(dir, 'HEAD', known).inputs.map((i) => i.path), full.inputs.map((i) => i.path));
  // Under another id than the blob's: read from Git at once, the work tree's file never.
  const readsBefore = reads;
  const other = filesAt(dir, 'HEAD', new Map([['tenants/contoso.yaml', { id: 'sha1:0000000000000000000000000000000000000000', read: () => (reads++, fs.readFileSync(contosoPath)) }]])).inputs.find((i) => i.path === 'tenants/contoso.yaml')!;
  assert.ok(other.lazy === undefined && blob.equals(other.bytes as Buffer), 'another id: the blob from Git');
  assert.is(reads, readsBefore);
});

test('plan: usage errors exit 2', async () => {
  assert.is((await cli(['plan', '--config', ROOT])).code, 2);
  const r = await cli(['plan', '--config', ROOT, '--against', 'no-such-ref-or-folder']);
  assert.is(r.code, 2);
  assert.match(r.err, /neither a folder nor a commit/);
});

test('plan markdown renders as a summary table with collapsible details', async () => {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  fs.rmSync(path.join(dir, 'tenants', 'woodgrove.yaml'));
  edit(dir, 'tenants/contoso.yaml', 'metric: 100', 'metric: 50');
  const r = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--format', 'markdown']);
  assert.is(r.code, 3);
  const html = await marked.parse(r.out);
  assert.match(html, /<table>[\s\S]*<th>gateway<\/th>[\s\S]*<td>gw1<\/td>/);
  assert.match(html, /<strong>disruptive<\/strong>/);
  assert.match(html, /<details><summary><b>woodgrove<\/b> removed: 5 changes<\/summary>/);
  assert.match(html, /<code class="language-diff">/);
  assert.ok(r.out.length < 65536);
});

test('plan markdown is cut to fit a GitHub comment, with a note', async () => {
  const big = 'x'.repeat(200);
  const plan = {
    against: 'HEAD',
    changed: true,
    lock: { changes: [], patch: '' },
    gateways: [{ gateway: 'gw1', status: 'changed' as const, impact: { gateway: 'gw1', gatewayChanged: false, tenants: [], untouched: [], totals: { added: 0, removed: 0, changed: 1, untouched: 0, tunnelsDropped: 0, sessionsReset: 0, disruptive: false, class: 'hitless' as const } }, files: [{ path: 'f', status: 'changed' as const, patch: Array(1000).fill(`+${big}`).join('\n') }] }],
  };
  const md = planMarkdown(plan, 5000);
  assert.ok(md.length < 5600);
  assert.match(md, /was cut at 5000 characters/);
  assert.is((md.match(/```/g) ?? []).length % 2, 0, 'code fences are balanced');
});

test('plan --format json matches schema/plan.schema.json', async () => {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'plan.schema.json'), 'utf8'));
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  for (const c of CASES.slice(0, 4).concat(CASES.slice(-2))) {
    const dir = tempCopy(ROOT);
    assert.is((await cli(['build', '--config', dir])).code, 0);
    c.edit(dir);
    const r = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--format', 'json']);
    const doc = JSON.parse(r.out);
    assert.ok(validate(doc), `${c.name}: ${JSON.stringify(validate.errors)}`);
  }
});

test("plan states per gateway the rollout wave its file sets, and nothing when it sets none", async () => {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  const out = path.join(dir, 'out');
  edit(dir, 'tenants/contoso.yaml', 'metric: 100', 'metric: 90');
  const plain = await cli(['plan', '--config', dir, '--against', out, '--format', 'json']);
  assert.not.ok('rollout' in JSON.parse(plain.out).gateways[0]);
  assert.not.match((await cli(['plan', '--config', dir, '--against', out])).out, /wave/);
  assert.not.match((await cli(['plan', '--config', dir, '--against', out, '--format', 'markdown'])).out, /wave/);
  for (const [wave, words] of [[0, 'rollout wave 0 (canary)'], [2, 'rollout wave 2']] as const) {
    fs.writeFileSync(path.join(dir, 'gateways', 'gw1.yaml'), fs.readFileSync(path.join(ROOT, 'gateways', 'gw1.yaml'), 'utf8') + `rollout: { wave: ${wave} }\n`);
    const json = await cli(['plan', '--config', dir, '--against', out, '--format', 'json']);
    assert.is(json.code, 3, json.err);
    const g = JSON.parse(json.out).gateways[0];
    assert.equal(g.rollout, { wave });
    // The wave is no generated line: only the tenant's change shows.
    assert.equal(g.files.map((f: { path: string }) => f.path), ['frr/frr.conf']);
    assert.match((await cli(['plan', '--config', dir, '--against', out])).out, new RegExp(`^  ${words.replace(/[()]/g, '\\$&')}$`, 'm'));
    const md = (await cli(['plan', '--config', dir, '--against', out, '--format', 'markdown'])).out;
    assert.match(md, /\| gateway \| wave \| class \|/);
    assert.match(md, new RegExp(`\\| gw1 \\| ${wave}${wave === 0 ? ' \\(canary\\)' : ''} \\| hitless \\|`));
    assert.match(md, new RegExp(`Reaches this gateway in ${words.replace(/[()]/g, '\\$&')}\\.`));
  }
  // A wave below 0, or not a whole number, is a schema finding at its line.
  for (const bad of ['-1', '1.5', '"first"']) {
    fs.writeFileSync(path.join(dir, 'gateways', 'gw1.yaml'), fs.readFileSync(path.join(ROOT, 'gateways', 'gw1.yaml'), 'utf8') + `rollout: { wave: ${bad} }\n`);
    const r = await cli(['validate', '--config', dir, '--format', 'json']);
    assert.is(r.code, 1, bad);
    const d = JSON.parse(r.out).diagnostics[0];
    assert.is(d.file, 'gateways/gw1.yaml');
    assert.match(d.code, /^schema\//);
  }
});

test.run();
