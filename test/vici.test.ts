// The VICI client against a real charon-systemd in a throwaway network namespace, and swanctl's own translation of the same files compared on the wire and in charon.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/model/load';
import { validate } from '../src/validate';
import { allocate, emptyLock } from '../src/model/lock';
import { tenantsOn } from '../src/model/model';
import { text } from '../src/targets/target';
import { render } from '../src/targets/strongswan';
import { secretsConf } from '../src/targets/strongswan/secrets';
import { run, which, withNetns } from '../src/util/exec';
import {
  connectionsToVici,
  decodePacket,
  encode,
  encodePacket,
  loadConnMessage,
  loadSharedMessage,
  NamedSection,
  PacketType,
  parseSwanctlConf,
  secretsToVici,
  SegmentReader,
  ViciClient,
  ViciCommandError,
  ViciSection,
  ViciUnknownCommandError,
} from '../src/vici';
import { withCharon as withPrivateCharon } from './charon';

const ROOT = path.resolve(__dirname, '..', '..');
const FULL = path.join(ROOT, 'test', 'fixtures', 'strongswan', 'full');
/** The brief's bound for charon to open its socket; it takes well under 100 ms here. */
const SOCKET_DEADLINE_MS = 2000;
/** Plugins that would touch the host outside the namespace (sockets in /run, resolv.conf, DHCP, ARP). */
const QUIET_PLUGINS = ['certexpire', 'dhcp', 'error-notify', 'farp', 'ha', 'led', 'lookip', 'pkcs11', 'resolve', 'tpm'];

interface Charon {
  ns: string;
  sock: string;
  vici: ViciClient;
  log: () => string;
}

// charon-systemd reads its settings from the `charon-systemd` section (falling back to `charon`).
function strongswanConf(sock: string): string {
  return `charon-systemd {
  load_modular = yes
  install_routes = no
  filelog {
    stderr {
      default = 1
    }
  }
  journal {
    default = -1
  }
  plugins {
    include /etc/strongswan.d/charon/*.conf
    vici {
      socket = unix://${sock}
    }
${QUIET_PLUGINS.map((p) => `    ${p} {\n      load = no\n    }`).join('\n')}
  }
}
`;
}

/** Starts charon-systemd in a fresh namespace (test/charon.ts), connects, runs fn, and kills charon and removes everything whatever happens. */
async function withCharon<T>(fn: (c: Charon) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync('/tmp/s2sgw-vici-'); // short: a unix socket path has 108 bytes
  try {
    return await withNetns((ns) =>
      withPrivateCharon({ ns, dir, conf: strongswanConf, deadlineMs: SOCKET_DEADLINE_MS }, async ({ sock, log }) => {
        const vici = await ViciClient.connect(sock, { timeoutMs: 10_000 });
        try {
          return await fn({ ns, sock, vici, log });
        } finally {
          await vici.close();
        }
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const PSK_CONF = `connections {
  IfCe1 {
    version = 2
    local_addrs = "203.0.113.10"
    remote_addrs = "131.107.0.10"
    proposals = "aes256gcm16-prfsha384-ecp384"
    rekey_time = "8h"
    dpd_delay = "30s"
    unique = replace
    mobike = no
    local {
      auth = psk
      id = "203.0.113.10"
    }
    remote {
      auth = psk
      id = "131.107.0.10"
    }
    children {
      IfCe1 {
        local_ts = "0.0.0.0/0"
        remote_ts = "0.0.0.0/0"
        esp_proposals = "aes256gcm16-ecp384"
        rekey_time = "1h"
        if_id_in = 7
        if_id_out = 7
        start_action = trap
        dpd_action = trap
        close_action = trap
      }
    }
  }
}
`;

/** if_ids of the namespace's XFRM policies, with how many policies carry each. */
async function policyIfIds(ns: string): Promise<Map<number, number>> {
  const r = await run('ip', ['-n', ns, 'xfrm', 'policy', 'list'], { timeoutMs: 60_000 });
  assert.is(r.code, 0, r.stderr);
  const m = new Map<number, number>();
  for (const x of r.stdout.matchAll(/^\s*if_id (0x[0-9a-f]+)$/gm)) m.set(Number(x[1]), (m.get(Number(x[1])) ?? 0) + 1);
  return m;
}

const names = (l: NamedSection[]): string[] => l.map((c) => c.name);

test('version: charon-systemd answers over its socket', async () => {
  await withCharon(async ({ vici }) => {
    const v = await vici.version();
    assert.is(v.daemon, 'charon-systemd');
    assert.match(v.version, /^\d+\.\d+\.\d+/);
  });
});

test('load-conn of a PSK connection with a trap child and if_id: listed by get-conns and list-conns, trap policies in the kernel', async () => {
  await withCharon(async ({ ns, vici }) => {
    const [c] = connectionsToVici(parseSwanctlConf(PSK_CONF));
    await vici.loadConn(c.name, c.section);
    assert.equal(await vici.getConns(), ['IfCe1']);
    const listed = await vici.listConns();
    assert.equal(names(listed), ['IfCe1']);
    const conn = listed[0].section as Record<string, ViciSection & Record<string, unknown>>;
    assert.equal(conn.local_addrs, ['203.0.113.10']);
    assert.equal(conn.remote_addrs, ['131.107.0.10']);
    assert.is(conn.unique, 'UNIQUE_REPLACE');
    assert.is((conn['local-1'] as ViciSection).class, 'pre-shared key');
    const child = (conn.children as Record<string, ViciSection>).IfCe1;
    assert.equal(child['local-ts'], ['0.0.0.0/0']);
    assert.is(child.dpd_action, 'trap');
    // list-conns does not show if_id: the kernel's trap policies do (in, fwd carry it).
    const ids = await policyIfIds(ns);
    assert.ok(ids.get(7), `no XFRM policy with if_id 7: ${JSON.stringify([...ids])}`);
    assert.equal([...ids.keys()], [7]);
  });
});

test('load-shared: get-shared lists its id, unload-shared removes it', async () => {
  await withCharon(async ({ vici }) => {
    await vici.loadShared({ id: 'ike-IfCe1', type: 'IKE', data: Buffer.from('not a real secret \x00\xff'), owners: ['203.0.113.10', '131.107.0.10'] });
    await vici.loadShared({ id: 'eap-IfGe1', type: 'EAP', data: 'x', owners: ['IfGe1'] });
    assert.equal((await vici.getShared()).sort(), ['eap-IfGe1', 'ike-IfCe1']);
    // Replacing under the same id keeps one entry.
    await vici.loadShared({ id: 'ike-IfCe1', type: 'IKE', data: 'other', owners: ['203.0.113.10', '131.107.0.10'] });
    assert.equal((await vici.getShared()).sort(), ['eap-IfGe1', 'ike-IfCe1']);
    await vici.unloadShared('ike-IfCe1');
    assert.equal(await vici.getShared(), ['eap-IfGe1']);
  });
});

test('getSharedOf: exactly the TYPE-NAME ids of the names asked for, as getShared filtered would have them', async () => {
  await withCharon(async ({ vici }) => {
    // The first loaded is charon's last in get-shared (followed by the list's end), the others by the next item.
    const ids = ['ike-IfAa1', 'ike-IfCe1', 'eap-IfCe1', 'xauth-IfGe1', 'ike-IfCe10', 'ike-fCe1', 'Ike-IfCe1', '-IfCe1', 'IfCe1', 'ike1-IfCe1', 'ike--IfCe1', 'ike-IfCe1-x', 'ike-IfDe1', 'IfHh1', 'x-IfHh1-y'];
    for (const id of ids) await vici.loadShared({ id, type: 'IKE', data: 'x', owners: ['192.0.2.1'] });
    const all = await vici.getShared();
    assert.is(all.length, ids.length);
    const filtered = (names: string[]) => all.filter((id) => names.includes(/^[a-z]+-(.+)$/.exec(id)?.[1] ?? '\n')).sort();
    assert.equal(filtered(['IfCe1', 'IfGe1', 'IfZz9', '']), ['eap-IfCe1', 'ike-IfCe1', 'xauth-IfGe1']);
    for (const names of [['IfCe1', 'IfGe1', 'IfZz9', ''], ['IfAa1'], ['IfZz9'], ['IfCe'], ['IfHh1'], ['1-IfCe1'], ['fCe1'], ['IfCe1-x', 'IfDe1'], [], Array.from({ length: 25 }, (_, i) => `IfCe${i}`)]) {
      assert.equal(await vici.getSharedOf(names), filtered(names), JSON.stringify(names));
    }
    // The connection stays in step: the next request gets its own answer.
    assert.equal((await vici.getShared()).length, ids.length);
  });
});

test('unload-conn removes the connection and its trap policies; unloading it again is an error with errmsg', async () => {
  await withCharon(async ({ ns, vici }) => {
    const [c] = connectionsToVici(parseSwanctlConf(PSK_CONF));
    await vici.loadConn(c.name, c.section);
    assert.ok((await policyIfIds(ns)).get(7));
    await vici.unloadConn('IfCe1');
    assert.equal(await vici.getConns(), []);
    assert.equal(await vici.listConns(), []);
    assert.equal([...(await policyIfIds(ns)).keys()], []);
    try {
      await vici.unloadConn('IfCe1');
      assert.unreachable('unloading a missing connection succeeded');
    } catch (e) {
      assert.instance(e, ViciCommandError);
      assert.match((e as ViciCommandError).errmsg, /connection 'IfCe1' not found/);
    }
  });
});

test('errors: a bad proposal returns errmsg; unknown commands and selectors are typed errors; the connection stays usable', async () => {
  await withCharon(async ({ vici }) => {
    const [c] = connectionsToVici(parseSwanctlConf(PSK_CONF.replace('aes256gcm16-prfsha384-ecp384', 'aes999-nosuchprf')));
    try {
      await vici.loadConn(c.name, c.section);
      assert.unreachable('charon took a bad proposal');
    } catch (e) {
      assert.instance(e, ViciCommandError);
      assert.is((e as ViciCommandError).command, 'load-conn');
      assert.match((e as ViciCommandError).errmsg, /invalid value for: proposals/);
    }
    assert.equal(await vici.getConns(), []);
    try {
      await vici.request('no-such-command');
      assert.unreachable();
    } catch (e) {
      assert.instance(e, ViciUnknownCommandError);
    }
    // terminate and initiate stream control-log; nothing to act on is success = no.
    for (const call of [() => vici.terminate({ ike: 'IfCe1', timeout: -1 }), () => vici.initiate({ child: 'IfCe1', timeout: -1 })]) {
      try {
        await call();
        assert.unreachable();
      } catch (e) {
        assert.instance(e, ViciCommandError);
        assert.match((e as ViciCommandError).errmsg, /no matching SAs|not found/);
      }
    }
    assert.is((await vici.version()).daemon, 'charon-systemd');
  });
});

test('concurrent calls on one connection: loads, lists and versions interleaved all get their own answers', async () => {
  await withCharon(async ({ vici }) => {
    const conns = connectionsToVici(parseSwanctlConf(manyConns(20)));
    const calls: Array<Promise<unknown>> = [];
    for (const c of conns) {
      calls.push(vici.loadConn(c.name, c.section));
      calls.push(vici.version().then((v) => assert.is(v.daemon, 'charon-systemd')));
      calls.push(vici.listConns().then((l) => assert.ok(l.length <= 20)));
    }
    await Promise.all(calls);
    assert.equal((await vici.getConns()).sort(), conns.map((c) => c.name).sort());
    assert.equal(names(await vici.listConns({ ike: 'T0007' })), ['T0007']);
  });
});

test('listConnsEach: each name\'s connections in one exchange, in step with the calls before and after it', async () => {
  await withCharon(async ({ vici }) => {
    const conns = connectionsToVici(parseSwanctlConf(manyConns(5)));
    for (const c of conns) await vici.loadConn(c.name, c.section);
    const got = await vici.listConnsEach(['T0003', 'nope', 'T0001', 'T0003~2']);
    assert.equal([...got.keys()], ['T0003', 'nope', 'T0001', 'T0003~2']);
    assert.equal(names(got.get('T0003')!), ['T0003']);
    assert.equal(names(got.get('T0001')!), ['T0001']);
    assert.equal(got.get('nope'), []);
    assert.equal(got.get('T0003~2'), []);
    // The section is the one list-conns gives.
    assert.equal(got.get('T0001')![0].section, (await vici.listConns({ ike: 'T0001' }))[0].section);
    assert.equal((await vici.listConnsEach([])).size, 0);
    // The connection is left as it was: no list-conn event of that exchange is taken for a later call's.
    const [a, v, b] = await Promise.all([vici.listConnsEach(['T0002', 'T0004']), vici.version(), vici.listConns({ ike: 'T0000' })]);
    assert.equal([...a].map(([n, l]) => [n, names(l)]), [['T0002', ['T0002']], ['T0004', ['T0004']]]);
    assert.is(v.daemon, 'charon-systemd');
    assert.equal(names(b), ['T0000']);
  });
});

test('heldOf: which names charon holds, from one get-conns searched whole-item (a prefix or a longer name is no match)', async () => {
  await withCharon(async ({ vici }) => {
    const conns = connectionsToVici(parseSwanctlConf(manyConns(12)));
    for (const c of conns) await vici.loadConn(c.name, c.section);
    // T000 is a prefix of every name, T00010 longer than T0001: neither is held.
    const held = await vici.heldOf(['T0003', 'T0003~2', 'T000', 'T00010', 'T0001', 'T0011', 'nope', 'T0003']);
    assert.equal([...held].sort(), ['T0001', 'T0003', 'T0011']);
    assert.equal([...(await vici.heldOf([]))], []);
    await vici.unloadConn('T0003');
    assert.equal([...(await vici.heldOf(['T0003', 'T0004']))], ['T0004']);
    // The same answer as the decoded list, and the stream in step for the calls after it.
    const all = new Set(await vici.getConns());
    assert.equal([...(await vici.heldOf(conns.map((c) => c.name)))].sort(), conns.map((c) => c.name).filter((n) => all.has(n)).sort());
    assert.is((await vici.version()).daemon, 'charon-systemd');
  });
});

// ---- equivalence with swanctl's own translation ----

/** The rendered strongSwan files of the full fixture, written as a swanctl folder, with certificates made by pki. */
async function bundleDir(dir: string): Promise<{ mainFile: string; swdir: string; confs: string[]; secrets: string }> {
  const v = validate(loadConfig(FULL));
  assert.ok(v.ok, `fixture does not validate: ${v.diagnostics.map((d) => d.message).join('; ')}`);
  const gw = v.model.gateways.find((g) => g.name === 'gw1')!;
  const files = render({ model: v.model, gateway: gw, tenants: tenantsOn(v.model, 'gw1'), alloc: allocate(v.model, emptyLock()).alloc });
  const swdir = path.join(dir, 'swanctl');
  for (const d of ['conf.d', 'x509', 'x509ca']) fs.mkdirSync(path.join(swdir, d), { recursive: true });
  const pki = await throwawayPki(path.join(dir, 'pki'));
  const confs: string[] = [];
  for (const f of files.filter((x) => x.path.startsWith('swanctl/conf.d/')).sort((a, b) => (a.path < b.path ? -1 : 1))) {
    // The gateway's identity paths do not exist here: point certs at the throwaway gateway
    // certificate (one by a relative name, which swanctl reads from x509/) and cacerts at the CA.
    let t = text(f).replace(/^(\s*)certs = "[^"]*"$/gm, (_m, sp: string) => `${sp}certs = "gw.pem"`);
    t = t.replace(/^(\s*)cacerts = "[^"]*"$/gm, (_m, sp: string) => `${sp}cacerts = "${pki.ca},ca.pem"`);
    const p = path.join(swdir, 'conf.d', path.basename(f.path));
    fs.writeFileSync(p, t);
    confs.push(p);
  }
  fs.copyFileSync(pki.cert, path.join(swdir, 'x509', 'gw.pem'));
  fs.copyFileSync(pki.ca, path.join(swdir, 'x509ca', 'ca.pem'));
  const refs = files.find((x) => x.path === 'swanctl/secrets.refs')!;
  const secrets = secretsConf(text(refs), (ref) => `test value of ${ref}`);
  const mainFile = path.join(swdir, 'swanctl.conf');
  fs.writeFileSync(mainFile, `include conf.d/*.conf\n${secrets}`);
  return { mainFile, swdir, confs, secrets };
}

async function throwawayPki(dir: string): Promise<{ ca: string; cert: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string): string => path.join(dir, n);
  const steps: Array<[string, string[]]> = [
    ['ca.key', ['--gen', '--type', 'ecdsa', '--size', '256', '--outform', 'pem']],
    ['ca.pem', ['--self', '--ca', '--lifetime', '2', '--in', f('ca.key'), '--type', 'ecdsa', '--dn', 'CN=s2sgw vici test CA', '--outform', 'pem']],
    ['gw.key', ['--gen', '--type', 'ecdsa', '--size', '256', '--outform', 'pem']],
    ['gw.pub', ['--pub', '--in', f('gw.key'), '--type', 'ecdsa', '--outform', 'pem']],
    ['gw.pem', ['--issue', '--lifetime', '2', '--cacert', f('ca.pem'), '--cakey', f('ca.key'), '--in', f('gw.pub'), '--type', 'pub', '--dn', 'CN=s2sgw vici test gw', '--outform', 'pem']],
  ];
  for (const [out, args] of steps) {
    const r = await run('pki', args, { timeoutMs: 30_000 });
    assert.not.ok(r.missing, 'pki not found: install the Debian package strongswan-pki');
    assert.is(r.code, 0, `pki ${args[0]}: ${r.stderr}`);
    fs.writeFileSync(f(out), r.stdout);
  }
  return { ca: f('ca.pem'), cert: f('gw.pem') };
}

/** Runs swanctl against a scripted VICI server and returns every request it sent, bytes as sent. */
async function swanctlRequests(args: string[], env: NodeJS.ProcessEnv): Promise<Array<{ name: string; message: Buffer }>> {
  const dir = fs.mkdtempSync('/tmp/s2sgw-vici-');
  const sock = path.join(dir, 'fake.vici');
  const got: Array<{ name: string; message: Buffer }> = [];
  const server = net.createServer((c) => {
    const r = new SegmentReader();
    c.on('data', (d) => {
      for (const s of r.push(d)) {
        const p = decodePacket(s);
        if (p.type === PacketType.CMD_REQUEST) {
          got.push({ name: p.name!, message: Buffer.from(p.message!) });
          // Empty listings, so swanctl unloads nothing; success for every load.
          const lists: Record<string, ViciSection> = { 'get-conns': { conns: [] }, 'get-shared': { keys: [] }, 'get-keys': { keys: [] }, 'get-authorities': { authorities: [] }, 'get-pools': {} };
          c.write(encodePacket({ type: PacketType.CMD_RESPONSE, message: encode(lists[p.name!] ?? { success: 'yes' }) }));
        } else if (p.type === PacketType.EVENT_REGISTER || p.type === PacketType.EVENT_UNREGISTER) {
          c.write(encodePacket({ type: PacketType.EVENT_CONFIRM }));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const r = await run('swanctl', [...args, '--uri', `unix://${sock}`], { env, timeoutMs: 60_000 });
    assert.not.ok(r.missing, 'swanctl not found: install the Debian package strongswan-swanctl');
    assert.is(r.code, 0, `swanctl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return got;
  } finally {
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('on the wire: our load-conn and load-shared messages are byte for byte what swanctl --load-all sends for the rendered bundle', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-vici-eq-'));
  try {
    const b = await bundleDir(dir);
    const sent = await swanctlRequests(['--load-all', '--noprompt', '--file', b.mainFile], { ...process.env, SWANCTL_DIR: b.swdir });
    const theirsConn = sent.filter((r) => r.name === 'load-conn').map((r) => r.message);
    const theirsShared = sent.filter((r) => r.name === 'load-shared').map((r) => r.message);
    // Ours: each tenant file on its own (apply loads per tenant), in swanctl's include order.
    const oursConn = b.confs.flatMap((f) => connectionsToVici(parseSwanctlConf(fs.readFileSync(f, 'utf8'), f), { swanctlDir: b.swdir })).map((c) => encode(loadConnMessage(c)));
    const oursShared = secretsToVici(parseSwanctlConf(b.secrets)).map((s) => encode(loadSharedMessage(s)));
    assert.ok(theirsConn.length >= 5, `swanctl sent only ${theirsConn.length} load-conn requests`);
    assert.ok(theirsShared.length >= 2, `swanctl sent only ${theirsShared.length} load-shared requests`);
    assert.is(oursConn.length, theirsConn.length);
    oursConn.forEach((m, i) => assert.ok(m.equals(theirsConn[i]), `load-conn #${i} differs:\nours   ${m.toString('latin1')}\nswanctl ${theirsConn[i].toString('latin1')}`));
    assert.is(oursShared.length, theirsShared.length);
    oursShared.forEach((m, i) => assert.ok(m.equals(theirsShared[i]), `load-shared #${i} differs`));
    // The certificates really went as file contents (PEM), not paths.
    assert.match(oursConn.map((m) => m.toString('latin1')).join(''), /-----BEGIN CERTIFICATE-----/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** What charon holds: connections as list-conns shows them, VICI connection names, secret ids, and trap-policy if_ids. */
async function snapshot(c: Charon): Promise<unknown> {
  return {
    conns: await c.vici.listConns(),
    viciConns: (await c.vici.getConns()).sort(),
    shared: (await c.vici.getShared()).sort(),
    ifIds: [...(await policyIfIds(c.ns)).entries()].sort((a, b) => a[0] - b[0]),
  };
}

test('in charon: loading over VICI leaves the same connections, secrets and trap policies as swanctl --load-all', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-vici-eq-'));
  try {
    const b = await bundleDir(dir);
    const env = { ...process.env, SWANCTL_DIR: b.swdir };
    const bySwanctl = await withCharon(async (c) => {
      const r = await run('swanctl', ['--load-all', '--noprompt', '--file', b.mainFile, '--uri', `unix://${c.sock}`], { env, timeoutMs: 60_000 });
      assert.is(r.code, 0, r.stdout + r.stderr);
      return snapshot(c);
    });
    const byVici = await withCharon(async (c) => {
      for (const f of b.confs) for (const conn of connectionsToVici(parseSwanctlConf(fs.readFileSync(f, 'utf8'), f), { swanctlDir: b.swdir })) await c.vici.loadConn(conn.name, conn.section);
      for (const s of secretsToVici(parseSwanctlConf(b.secrets))) await c.vici.loadShared(s);
      return snapshot(c);
    });
    const s = bySwanctl as { conns: NamedSection[]; shared: string[]; ifIds: unknown[] };
    assert.ok(s.conns.length >= 5 && s.shared.length >= 2 && s.ifIds.length >= 1, `swanctl loaded too little to compare: ${JSON.stringify(s).slice(0, 300)}`);
    assert.equal(byVici, bySwanctl);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- timing ----

/** n PSK connections shaped like the strongswan target's, each with its own peer and if_id. */
function manyConns(n: number): string {
  const out = ['connections {'];
  for (let i = 0; i < n; i++) {
    const name = `T${String(i).padStart(4, '0')}`;
    out.push(
      PSK_CONF.split('\n')
        .slice(1, -2)
        .join('\n')
        .replaceAll('IfCe1', name)
        .replaceAll('131.107.0.10', `10.${(i >> 8) & 255}.${i & 255}.1`)
        .replaceAll('= 7', `= ${i + 1}`),
    );
  }
  out.push('}', '');
  return out.join('\n');
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): string => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2);
  return `n=${s.length} mean=${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(2)} p50=${q(0.5)} p95=${q(0.95)} max=${s[s.length - 1].toFixed(2)} ms`;
}

test('timing: 1,000 connections loaded one by one over VICI, next to swanctl --load-all of the same file (printed, not asserted)', async () => {
  const N = 1000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-vici-time-'));
  try {
    const file = path.join(dir, 'swanctl.conf');
    fs.writeFileSync(file, manyConns(N));
    const conns = connectionsToVici(parseSwanctlConf(fs.readFileSync(file, 'utf8')));
    await withCharon(async (c) => {
      const times: number[] = [];
      const t0 = performance.now();
      for (const conn of conns) {
        const t = performance.now();
        await c.vici.loadConn(conn.name, conn.section);
        times.push(performance.now() - t);
      }
      const total = performance.now() - t0;
      assert.is((await c.vici.getConns()).length, N);
      const t1 = performance.now();
      await c.vici.loadConn(conns[N / 2].name, conns[N / 2].section);
      const replace = performance.now() - t1;
      const t2 = performance.now();
      await c.vici.unloadConn(conns[N - 1].name);
      const unload = performance.now() - t2;
      const t3 = performance.now();
      const r = await run('swanctl', ['--load-conns', '--file', file, '--uri', `unix://${c.sock}`], { timeoutMs: 600_000 });
      const swanctl = performance.now() - t3;
      assert.is(r.code, 0, r.stderr);
      assert.is((await c.vici.getConns()).length, N);
      console.log(`\n  VICI load-conn into an empty charon, one by one: total ${total.toFixed(0)} ms`);
      console.log(`    first 100: ${stats(times.slice(0, 100))}`);
      console.log(`    last 100:  ${stats(times.slice(-100))}`);
      console.log(`    all:       ${stats(times)}`);
      console.log(`  replace one connection with ${N} loaded: ${replace.toFixed(2)} ms; unload one: ${unload.toFixed(2)} ms`);
      console.log(`  swanctl --load-conns of the same ${N} (one missing, all re-sent): ${swanctl.toFixed(0)} ms`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
