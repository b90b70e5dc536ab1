// peer-config: the customer side mirrors the gateway's connection; FRR accepts the site snippet.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { FIXTURES, ROOT, UPDATE, cli } from './helpers';
import { withCharon } from './charon';
import { vtyshCheck } from '../src/targets/frr/check';
import { libreswanProposal } from '../src/peer/libreswan';
import { run, withNetns } from '../src/util/exec';

/** libreswan, unpacked by lab/libreswan.sh (lab/setup.sh runs it; Debian's package conflicts with strongSwan). */
function libreswanDir(): string {
  const r = spawnSync('bash', [path.join(ROOT, 'lab', 'libreswan.sh')], { encoding: 'utf8' });
  assert.is(r.status, 0, `lab/libreswan.sh failed (run lab/setup.sh): ${r.stderr}`);
  return r.stdout.trim();
}

const NAT = path.join(FIXTURES, 'build', 'policy-based-nat');
const PAIR = path.join(FIXTURES, 'build', 'ha-pair');

test('peer-config on an HA pair: a tunnel to each gateway (own address, own if_id), BGP to each own address', async () => {
  const r = await cli(['peer-config', '--config', PAIR, '--tenant', 'contoso', '--connection', 'IfCe1']);
  assert.is(r.code, 0, r.err);
  const lines = r.out.split('\n');
  for (const line of [
    '  IfCe1-gw1 {',
    '    remote_addrs = "203.0.113.10"',
    '    if_id_in = 1',
    '  IfCe1-gw2 {',
    '    remote_addrs = "203.0.113.20"',
    '    if_id_out = 2',
    '#   ike-IfCe1-gw2 {',
    ' neighbor 192.168.0.2 remote-as 64512',
    ' neighbor 192.168.0.3 remote-as 64512',
    'ip route add 192.168.0.2/32 dev IfCe1-gw1',
    'ip route add 192.168.0.3/32 dev IfCe1-gw2',
  ])
    assert.ok(lines.includes(line), `missing line ${JSON.stringify(line)} in\n${r.out}`);
  assert.not.ok(lines.includes(' neighbor 192.168.0.1 remote-as 64512'), 'the site must not peer with the shared address');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-'));
  try {
    const w = await cli(['peer-config', '--config', PAIR, '--tenant', 'contoso', '--connection', 'IfCe1', '--out', dir]);
    assert.is(w.code, 0, w.err);
    assert.ok(fs.existsSync(path.join(dir, 'routes.sh')));
    const v = await vtyshCheck(path.join(dir, 'frr.conf'));
    assert.ok(v.ok && !v.missing, `vtysh -C on both sessions: ${v.output}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('peer-config on an HA pair without BGP: one outbound interface both tunnels share, fixed policy priorities (active 100, standby 200), DPD, no trap, no updown', async () => {
  const r = await cli(['peer-config', '--config', PAIR, '--tenant', 'woodgrove', '--connection', 'IfWe1', '--format', 'json']);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const lines = (j.swanctl as string).split('\n');
  const count = (l: string) => lines.filter((x) => x === l).length;
  for (const [line, n] of [['    dpd_delay = "30s"', 2], ['    if_id_in = 1', 1], ['    if_id_in = 2', 1], ['    if_id_out = 3', 2], ['        priority = 100', 1], ['        priority = 200', 1], ['        start_action = start', 2], ['        dpd_action = restart', 2], ['        close_action = none', 2]] as const)
    assert.is(count(line), n, `${n} x ${JSON.stringify(line)} in\n${j.swanctl}`);
  // The active gateway's (gw1) tunnel has the lower priority value: its policy wins while its CHILD_SA is up.
  assert.match(j.swanctl, /IfWe1-gw1 \{[^]*?priority = 100[^]*?IfWe1-gw2 \{[^]*?priority = 200/);
  // No trap: a trap policy would keep the active's tunnel in the kernel after its CHILD_SA is gone.
  assert.not.match(j.swanctl, /trap|updown/);
  assert.is(j.updown, undefined);
  assert.is(j.updownPath, undefined);
  const one = await cli(['peer-config', '--config', PAIR, '--tenant', 'woodgrove', '--connection', 'IfWe1', '--gateway', 'gw2']);
  assert.is(one.code, 0, one.err);
  assert.not.match(one.out, /if_id_in|priority =/);
});

test('peer-config on an HA pair without BGP: routes.sh makes the interfaces and one route through the shared one (real ip, in a namespace); swanctl.conf loads into a real charon', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-'));
  try {
    const w = await cli(['peer-config', '--config', PAIR, '--tenant', 'woodgrove', '--connection', 'IfWe1', '--out', dir]);
    assert.is(w.code, 0, w.err);
    assert.equal(fs.readdirSync(dir).sort(), ['routes.sh', 'swanctl.conf']);
    await withNetns(async (ns) => {
      // (This machine's kernel may lack XFRM interfaces: veth pairs stand in for them; the routes are the same.)
      const script = fs.readFileSync(path.join(dir, 'routes.sh'), 'utf8').replace(/type xfrm dev WAN if_id (\d+)/g, 'type veth peer name peer$1');
      assert.match(script, /ip link add IfWe1 type veth peer name peer3\n/);
      const r = await run('sh', ['-e', '-c', script], { netns: ns });
      assert.is(r.code, 0, r.stderr);
      const routes = (await run('ip', ['route', 'show', '192.168.0.0/29'], { netns: ns })).stdout.trim().split('\n').map((l) => l.trim().replace(/ linkdown$/, ''));
      assert.equal(routes, ['192.168.0.0/29 dev IfWe1 scope link']);
      const links = (await run('ip', ['-br', 'link', 'show'], { netns: ns })).stdout;
      for (const dev of ['IfWe1-gw1', 'IfWe1-gw2', 'IfWe1']) assert.match(links, new RegExp(`^${dev}@`, 'm'));
      // The site's charon takes both connections (if_id_in/if_id_out, priority, start/restart/none).
      const conf = fs.readFileSync(path.join(dir, 'swanctl.conf'), 'utf8').replace(/"131\.107\.1\.10"/g, '"10.0.0.1"');
      await withCharon({ ns, dir, name: 'site' }, async (c) => {
        fs.writeFileSync(path.join(dir, 'site-swanctl.conf'), conf + 'secrets {\n  ike-1 {\n    secret = "test-only-not-a-secret"\n  }\n}\n');
        const l = await c.swanctl('--load-all', '--file', path.join(dir, 'site-swanctl.conf'));
        assert.is(l.code, 0, l.stdout + l.stderr);
        const conns = (await c.swanctl('--list-conns')).stdout;
        assert.match(conns, /IfWe1-gw1:[^]*IfWe1-gw2:/);
      });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('peer-config on an HA pair with BGP: the updown script moves the host routes to the gateways\' own addresses', async () => {
  const r = await cli(['peer-config', '--config', PAIR, '--tenant', 'contoso', '--connection', 'IfCe1', '--format', 'json']);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.match(j.updown, /\n  IfCe1-gw2\|IfCe1-gw2~\*\) ip route "\$op" 192\.168\.0\.3\/32 dev IfCe1-gw2 ;;\n/);
  assert.is(j.swanctl.split('\n').filter((l: string) => l === '        updown = /etc/swanctl/s2sgw-contoso-IfCe1.updown').length, 2);
});

test('peer-config mirrors a PSK connection: addresses and ids swapped, same proposals, explicit selectors', async () => {
  const r = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfCe1']);
  assert.is(r.code, 0, r.err);
  for (const line of [
    '    local_addrs = "131.107.0.10"',
    '    remote_addrs = "203.0.113.10"',
    '    proposals = "aes256gcm16-prfsha384-ecp384"',
    '      id = "131.107.0.10"',
    '      id = "203.0.113.10"',
    '        local_ts = "10.1.0.0/16"',
    '        remote_ts = "192.168.0.0/29"',
    '        esp_proposals = "aes256gcm16-ecp384"',
    '#     secret = <the value of env:CONTOSO_NY_PSK>',
    'router bgp 65001',
    ' neighbor 192.168.0.1 remote-as 64512',
    ' neighbor 192.168.0.1 update-source 10.1.0.1',
  ])
    assert.ok(r.out.split('\n').includes(line), `missing line ${JSON.stringify(line)} in\n${r.out}`);
});

test('peer-config --format json carries the secret references, never values', async () => {
  process.env.CONTOSO_NY_PSK = 'a-secret-value-that-must-not-print';
  try {
    const r = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfCe1', '--format', 'json']);
    assert.is(r.code, 0);
    const j = JSON.parse(r.out);
    assert.equal(j.secrets, [{ section: 'ike-IfCe1', kind: 'psk', ref: 'env:CONTOSO_NY_PSK', ids: ['131.107.0.10', '203.0.113.10'], refsLine: 'IfCe1 psk env:CONTOSO_NY_PSK id=131.107.0.10 id=203.0.113.10' }]);
    assert.not.ok(r.out.includes('a-secret-value'));
  } finally {
    delete process.env.CONTOSO_NY_PSK;
  }
});

test('the site FRR snippet is accepted by vtysh -C', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-'));
  try {
    for (const [t, c] of [['contoso', 'IfCe1'], ['woodgrove', 'IfWe1'], ['woodgrove', 'IfWe2']]) {
      const r = await cli(['peer-config', '--config', ROOT, '--tenant', t, '--connection', c, '--out', path.join(dir, c)]);
      assert.is(r.code, 0, r.err);
      const v = await vtyshCheck(path.join(dir, c, 'frr.conf'));
      assert.not.ok(v.missing, 'vtysh is not installed');
      assert.ok(v.ok, `${t}/${c}: ${v.output}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an EAP site identifies itself with its EAP username (its EAP client looks the secret up by that identity)', async () => {
  const config = path.join(ROOT, 'test', 'fixtures', 'build', 'eap-respond-only');
  const r = await cli(['peer-config', '--config', config, '--tenant', 'northwind', '--connection', 'IfNe-shop1', '--format', 'json']);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const local = /local \{([^}]*)\}/.exec(j.swanctl)?.[1] ?? '';
  assert.match(local, /auth = eap-mschapv2/);
  assert.match(local, /\bid = "IfNe-shop1"/);
  assert.match(local, /eap_id = "IfNe-shop1"/);
  assert.match(j.swanctl, /start_action = start/);
  assert.equal(j.secrets.map((s: { section: string; ids: string[] }) => [s.section, s.ids]), [['eap-IfNe-shop1', ['IfNe-shop1']]]);
});

test('peer-config usage errors exit 2 and say what exists', async () => {
  assert.is((await cli(['peer-config', '--config', ROOT])).code, 2);
  const r = await cli(['peer-config', '--config', ROOT, '--tenant', 'contoso', '--connection', 'IfXe9']);
  assert.is(r.code, 2);
  assert.match(r.err, /its connections: IfCe1/);
  assert.is((await cli(['peer-config', '--config', ROOT, '--tenant', 'nobody', '--connection', 'IfCe1'])).code, 2);
});

test('peer-config output for policy-based and NAT sites: golden files, swanctl and libreswan (test/fixtures/peer)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-'));
  try {
    for (const c of ['IfFe1', 'IfFe2', 'IfFe3']) {
      const sw = await cli(['peer-config', '--config', NAT, '--tenant', 'fabrikam', '--connection', c, '--out', path.join(dir, c)]);
      assert.is(sw.code, 0, sw.err);
      const ls = await cli(['peer-config', '--config', NAT, '--tenant', 'fabrikam', '--connection', c, '--out', path.join(dir, c), '--format', 'libreswan']);
      assert.is(ls.code, 0, ls.err);
      assert.is(fs.statSync(path.join(dir, c, 'ipsec.secrets')).mode & 0o777, 0o600);
      const golden = path.join(FIXTURES, 'peer', 'policy-based-nat', c);
      for (const f of fs.readdirSync(path.join(dir, c)).sort()) {
        const got = fs.readFileSync(path.join(dir, c, f), 'utf8');
        if (UPDATE) {
          fs.mkdirSync(golden, { recursive: true });
          fs.writeFileSync(path.join(golden, f), got);
        } else assert.fixture(got, fs.readFileSync(path.join(golden, f), 'utf8'), `${c}/${f}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a site behind NAT: any local address, its remoteId as identity and in the secret; one child per pair', async () => {
  process.env.FABRIKAM_AUS_PSK = 'a-secret-value-that-must-not-print';
  try {
    const r = await cli(['peer-config', '--config', NAT, '--tenant', 'fabrikam', '--connection', 'IfFe2', '--format', 'json']);
    assert.is(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.match(j.swanctl, /\n {4}local_addrs = "%any"\n {4}remote_addrs = "203\.0\.113\.10"\n/);
    assert.match(j.swanctl, /\n {4}local \{\n {6}auth = psk\n {6}id = "10\.9\.255\.2"\n/);
    assert.equal([...j.swanctl.matchAll(/\n {6}(\S+) \{\n {8}local_ts = "([^"]+)"\n {8}remote_ts = "([^"]+)"/g)].map((m: string[]) => m.slice(1).join(' ')), [
      'IfFe2 10.9.0.0/16 192.168.0.0/29',
      'IfFe2~2 10.9.0.0/16 192.168.5.0/29',
    ]);
    assert.equal(j.secrets[0].ids, ['10.9.255.2', '203.0.113.10']);
    const ls = await cli(['peer-config', '--config', NAT, '--tenant', 'fabrikam', '--connection', 'IfFe2', '--format', 'libreswan']);
    assert.is(ls.code, 0, ls.err);
    assert.ok(ls.out.split('\n').includes('# 10.9.255.2 203.0.113.10 : PSK "<the value of env:FABRIKAM_AUS_PSK>"'), ls.out);
    assert.not.ok(r.out.includes('a-secret-value') || ls.out.includes('a-secret-value'));
  } finally {
    delete process.env.FABRIKAM_AUS_PSK;
  }
});

test('libreswan accepts every generated ipsec.conf (addconn --checkconfig): example, policy-based, NAT, certificates', async () => {
  const addconn = path.join(libreswanDir(), 'usr', 'libexec', 'ipsec', 'addconn');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-'));
  try {
    const cases: Array<[string, string, string]> = [
      [ROOT, 'contoso', 'IfCe1'], [ROOT, 'woodgrove', 'IfWe1'], [ROOT, 'woodgrove', 'IfWe2'],
      [NAT, 'fabrikam', 'IfFe1'], [NAT, 'fabrikam', 'IfFe2'], [NAT, 'fabrikam', 'IfFe3'],
      [path.join(FIXTURES, 'strongswan', 'full'), 'beta', 'IfBe1'], [path.join(FIXTURES, 'strongswan', 'full'), 'zeta', 'IfZe1'],
    ];
    for (const [config, t, c] of cases) {
      const out = path.join(dir, `${t}-${c}`);
      const r = await cli(['peer-config', '--config', config, '--tenant', t, '--connection', c, '--format', 'libreswan', '--out', out]);
      assert.is(r.code, 0, r.err);
      const check = spawnSync(addconn, ['--config', path.join(out, 'ipsec.conf'), '--checkconfig'], { encoding: 'utf8' });
      assert.is(check.status, 0, `${t}/${c}: ${check.stdout}${check.stderr}`);
      assert.is(check.stdout + check.stderr, '', `${t}/${c}`);
    }
    // A broken file is refused: the check can fail.
    fs.writeFileSync(path.join(dir, 'bad.conf'), 'conn x\n\tleftsubnet=10.0.0.0/33\n\tbogus=1\n');
    assert.is.not(spawnSync(addconn, ['--config', path.join(dir, 'bad.conf'), '--checkconfig']).status, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('proposals in libreswan syntax are what libreswan parses to the same algorithms (algparse)', () => {
  const algparse = path.join(libreswanDir(), 'usr', 'libexec', 'ipsec', 'algparse');
  const table: Array<[string, 'ike' | 'esp', string, string]> = [
    ['aes256gcm16-prfsha384-ecp384', 'ike', 'aes_gcm256-sha2_384-dh20', 'AES_GCM_16_256-HMAC_SHA2_384-DH20'],
    ['aes256-sha256-modp2048', 'ike', 'aes256-sha2_256-dh14', 'AES_CBC_256-HMAC_SHA2_256-MODP2048'],
    ['aes128gcm16-prfsha256-x25519', 'ike', 'aes_gcm128-sha2_256-dh31', 'AES_GCM_16_128-HMAC_SHA2_256-DH31'],
    ['chacha20poly1305-prfsha512-curve25519', 'ike', 'chacha20_poly1305-sha2_512-dh31', 'CHACHA20_POLY1305-HMAC_SHA2_512-DH31'],
    ['aes256gcm16-ecp384', 'esp', 'aes_gcm256-null-dh20', 'AES_GCM_16_256-NONE-DH20'],
    ['aes256-sha256', 'esp', 'aes256-sha2_256', 'AES_CBC_256-HMAC_SHA2_256_128'],
    ['aes128gcm16-x25519', 'esp', 'aes_gcm128-null-dh31', 'AES_GCM_16_128-NONE-DH31'],
  ];
  for (const [sw, kind, want, parsed] of table) {
    const got = libreswanProposal(sw, kind);
    assert.is(got, want, sw);
    const r = spawnSync(algparse, ['-v2', ...(kind === 'esp' ? ['-pfs'] : []), `${kind}=${got}`], { encoding: 'utf8' });
    const out = r.stdout + r.stderr;
    assert.not.match(out, /ERROR/, `${got}: ${out}`);
    assert.match(out, new RegExp(`^\\s+${parsed}$`, 'm'), `${got}: ${out}`);
  }
  assert.throws(() => libreswanProposal('aes256-sha256_96-modp2048', 'ike'), /sha256_96/);
});

test('peer-config --format libreswan refuses an EAP connection: libreswan has no EAP client', async () => {
  const r = await cli(['peer-config', '--config', path.join(FIXTURES, 'build', 'eap-respond-only'), '--tenant', 'northwind', '--connection', 'IfNe-shop1', '--format', 'libreswan']);
  assert.is(r.code, 2);
  assert.match(r.err, /libreswan has no EAP client/);
});

test('peer-config --rekey: the site\'s steps for a proposal change per `connect` (golden text, JSON), never a secret', async () => {
  process.env.FABRIKAM_DAL_PSK = 'a-secret-value-that-must-not-print';
  process.env.FABRIKAM_AUS_PSK = 'another-secret-value-that-must-not-print';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-rekey-'));
  try {
    // IfFe1: on-demand (the gateway's apply --peer-first holds for the site); IfFe2: respond-only; IfFe3 made `always`.
    const repo = path.join(dir, 'repo');
    fs.cpSync(NAT, repo, { recursive: true });
    const f = path.join(repo, 'tenants', fs.readdirSync(path.join(repo, 'tenants')).find((n) => fs.readFileSync(path.join(repo, 'tenants', n), 'utf8').includes('IfFe3'))!);
    const y = fs.readFileSync(f, 'utf8');
    const edited = y.replace(/(  - interface: IfFe3[^\n]*\n)/, '$1    connect: always\n');
    assert.is.not(edited, y);
    fs.writeFileSync(f, edited);
    const table: Array<{ c: string; connect: string; peerFirst: boolean; has: RegExp[]; hasNot: RegExp[] }> = [
      {
        c: 'IfFe1',
        connect: 'on-demand',
        peerFirst: true,
        has: [/^#     swanctl --load-conns$/m, /^#     swanctl --list-sas --ike IfFe1$/m, /^#     swanctl --initiate --ike IfFe1 --child IfFe1 --timeout 30$/m, /^#     swanctl --terminate --child-id OLD_CHILD_SA_ID --timeout 10$/m, /--peer-first SECONDS/, /waiting N s for the peer/],
        hasNot: [/--terminate --ike-id/],
      },
      { c: 'IfFe2', connect: 'respond-only', peerFirst: false, has: [/loaded in place/, /--child-id OLD_CHILD_SA_ID --timeout 10\n#     swanctl --terminate --ike-id OLD_IKE_SA_ID\n/], hasNot: [/--peer-first/] },
      { c: 'IfFe3', connect: 'always', peerFirst: false, has: [/the gateway initiates the new connection itself/, /--peer-first does not apply/], hasNot: [/swanctl --initiate/, /--child-id/] },
    ];
    for (const t of table) {
      const r = await cli(['peer-config', '--config', repo, '--tenant', 'fabrikam', '--connection', t.c, '--rekey']);
      assert.is(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^# Proposal change \\(rekey class\\) of fabrikam/${t.c} on gateway gw1: the site's side`));
      assert.match(r.out, new RegExp(`^# connect: ${t.connect}`, 'm'));
      for (const re of t.has) assert.match(r.out, re, `${t.c}: ${re}`);
      for (const re of t.hasNot) assert.not.match(r.out, re, `${t.c}: ${re}`);
      assert.not.match(r.out, /secret-value-that-must-not-print/);
      // The new connection follows the steps: peer-config's own output, unchanged.
      const plain = JSON.parse((await cli(['peer-config', '--config', repo, '--tenant', 'fabrikam', '--connection', t.c, '--format', 'json'])).out).swanctl as string;
      assert.ok(r.out.endsWith(`# ---- the new connection (your swanctl.conf) ----\n${plain}`), t.c);
      const golden = path.join(FIXTURES, 'peer', 'rekey', `${t.c}.txt`);
      if (UPDATE) {
        fs.mkdirSync(path.dirname(golden), { recursive: true });
        fs.writeFileSync(golden, r.out);
      } else assert.fixture(r.out, fs.readFileSync(golden, 'utf8'), t.c);
      const j = await cli(['peer-config', '--config', repo, '--tenant', 'fabrikam', '--connection', t.c, '--rekey', '--format', 'json']);
      assert.is(j.code, 0, j.err);
      const o = JSON.parse(j.out);
      assert.equal([o.version, o.tenant, o.connection, o.gateway, o.connect, o.peerFirst], [1, 'fabrikam', t.c, 'gw1', t.connect, t.peerFirst]);
      assert.is(o.swanctl, plain);
      assert.ok(o.steps.length >= 3 && o.steps.every((s: { who: string; what: string; commands: string[] }) => ['site', 'gateway'].includes(s.who) && s.what && Array.isArray(s.commands)));
      assert.equal(o.steps[0].commands, ['swanctl --load-conns']);
      assert.not.match(j.out, /secret-value-that-must-not-print/);
    }
    // Refused: with --psk-rotation, --out or --format libreswan (exit 2, a hint).
    for (const [extra, re] of [
      [['--psk-rotation'], /--rekey and --psk-rotation are two procedures/],
      [['--out', path.join(dir, 'o')], /--rekey prints the steps .* it takes no --out/],
      [['--format', 'libreswan'], /--rekey: the peer-initiated steps are written for strongSwan sites/],
    ] as Array<[string[], RegExp]>) {
      const r = await cli(['peer-config', '--config', repo, '--tenant', 'fabrikam', '--connection', 'IfFe1', '--rekey', ...extra]);
      assert.is(r.code, 2, `${extra.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    }
    const pair = await cli(['peer-config', '--config', PAIR, '--tenant', 'contoso', '--connection', 'IfCe1', '--rekey']);
    assert.is(pair.code, 2, pair.err);
    assert.match(pair.err, /contoso is an HA pair/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
