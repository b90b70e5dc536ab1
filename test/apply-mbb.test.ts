// Make-before-break (issue 18) with two real charons joined by a veth pair, ESP in charon's own process
// (kernel-libipsec: this kernel has no ESP module): a replaced connection's new IKE_SA is up, with its CHILD_SA
// installed, before the old one is terminated; any failure leaves the old SA exactly as it was.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSandbox, Sandbox } from '../src/apply/sandbox';
import { ViciClient, ViciInputElement } from '../src/vici';
import { alternateOf, applySwanPlan, baseName, Call, connectionSections, HELD_PRIORITY, heldSection, makeBeforeBreak, MbbError, sectionFor, settleAlternates, SwanPlan, withReqids } from '../src/apply/incremental/swan';

const ip = (...a: string[]) => {
  const r = spawnSync('ip', a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
};

const GW = '192.0.2.1';
const PEER = '192.0.2.2';
const PSK = Buffer.from('a-long-pre-shared-key-0123456789');

/** A connection section as load-conn takes it (what src/vici/swanctl-conf.ts makes of a swanctl.conf block). */
function conn(o: { local: string; remote: string; localId?: string; remoteId?: string; lts: string; rts: string; start?: string; esp?: string }): Map<string, ViciInputElement> {
  return new Map<string, ViciInputElement>(
    Object.entries({
      version: '2',
      local_addrs: [o.local],
      remote_addrs: [o.remote],
      proposals: ['aes256-sha256-modp2048'],
      local: { auth: 'psk', id: o.localId ?? o.local },
      remote: { auth: 'psk', id: o.remoteId ?? o.remote },
      children: { c: { local_ts: [o.lts], remote_ts: [o.rts], esp_proposals: [o.esp ?? 'aes256gcm16'], start_action: o.start ?? 'none' } },
    }) as Array<[string, ViciInputElement]>,
  );
}

const gwConn = (extra: Partial<Parameters<typeof conn>[0]> = {}) => conn({ local: GW, remote: PEER, lts: '10.1.0.0/24', rts: '10.2.0.0/24', start: 'start', ...extra });

interface Pair {
  a: Sandbox;
  b: Sandbox;
  gw: ViciClient;
  peer: ViciClient;
}

async function pair(fn: (p: Pair) => Promise<void>): Promise<void> {
  const a = await openSandbox({ libipsec: true });
  const b = await openSandbox({ libipsec: true });
  let gw: ViciClient | undefined;
  let peer: ViciClient | undefined;
  try {
    const v = `mbb${Math.random().toString(16).slice(2, 8)}`;
    ip('link', 'add', `${v}a`, 'netns', a.ns, 'type', 'veth', 'peer', 'name', `${v}b`, 'netns', b.ns);
    for (const [sb, dev, addr, inner] of [
      [a, `${v}a`, GW, '10.1.0.1/32'],
      [b, `${v}b`, PEER, '10.2.0.1/32'],
    ] as const) {
      ip('-n', sb.ns, 'addr', 'add', `${addr}/24`, 'dev', dev);
      ip('-n', sb.ns, 'link', 'set', dev, 'up');
      ip('-n', sb.ns, 'link', 'set', 'lo', 'up');
      // libipsec routes the tunnel's traffic from an address inside the local traffic selector.
      ip('-n', sb.ns, 'addr', 'add', inner, 'dev', 'lo');
    }
    gw = await ViciClient.connect(a.vici);
    peer = await ViciClient.connect(b.vici);
    // The peer accepts the gateway under its address or a name (an identity change), with the same PSK.
    for (const c of [gw, peer]) await c.loadShared({ id: 'k', type: 'IKE', data: PSK, owners: [GW, PEER, 'gw.example'] });
    await peer.loadConn('site', conn({ local: PEER, remote: GW, remoteId: '%any', lts: '10.2.0.0/24', rts: '10.1.0.0/24' }));
    await fn({ a, b, gw, peer });
  } catch (e) {
    process.stderr.write(`\n[pair failed: gw ${a.ns}, peer ${b.ns}] ${(e as Error).message}\n`);
    throw e;
  } finally {
    await gw?.close();
    await peer?.close();
    await a.close();
    await b.close();
  }
}

/** The gateway's IKE_SAs: name, unique id, state and its CHILD_SAs' SPIs. */
async function sas(c: ViciClient): Promise<Array<{ name: string; id: string; state: string; spis: string[] }>> {
  return (await c.listSas()).map((s) => ({
    name: s.name,
    id: String(s.section.uniqueid),
    state: String(s.section.state),
    spis: Object.values((s.section['child-sas'] ?? {}) as Record<string, Record<string, string>>).map((k) => `${k.state} ${k['spi-in']}/${k['spi-out']}`),
  }));
}

function recorder(): { call: Call; log: string[] } {
  const log: string[] = [];
  return { log, call: async (argv, fn) => (log.push(argv.slice(1).join(' ')), fn()) };
}

/**
 * Loads the gateway's connection (`start_action = start`) under `name` and waits for charon's own start action to bring
 * it up (within the lab's 30 s). No initiate of its own: one that arrives after the start action's CHILD_SA is installed
 * is refused by charon as a duplicate ("establishing CHILD_SA 'c' failed"; it failed CI runs so).
 */
async function upUnder(gw: ViciClient, name: string): Promise<{ name: string; id: string; state: string; spis: string[] }> {
  await gw.loadConn(name, sectionFor(name, gwConn()));
  const ready = (x: Awaited<ReturnType<typeof sas>>) => x.some((i) => i.state === 'ESTABLISHED' && i.spis.some((k) => k.startsWith('INSTALLED ')));
  assert.ok(await until(async () => ready(await sas(gw)), 30_000), `${name} not up within 30 s: ${JSON.stringify(await sas(gw))}`);
  const s = await sas(gw);
  assert.is(s.length, 1, JSON.stringify(s));
  assert.is(s[0].state, 'ESTABLISHED');
  assert.match(s[0].spis[0], /^INSTALLED [0-9a-f]{8}\/[0-9a-f]{8}$/);
  return s[0];
}

test('names: a connection and its alternate, both ways; the alternate carries one more keyingtries', () => {
  assert.is(alternateOf('IfCe1'), 'IfCe1~2');
  assert.is(alternateOf('IfCe1~2'), 'IfCe1');
  assert.is(baseName('IfCe1~2'), 'IfCe1');
  assert.is(baseName('IfCe1'), 'IfCe1');
  for (const n of ['IfCe1', 'IfCe1~2', 'a~', 'b2'])
    assert.ok(alternateOf(alternateOf(n)) === n && baseName(alternateOf(n)) === baseName(n) && alternateOf(n) !== n, n);
  const s = gwConn();
  assert.is(sectionFor('x', s), s);
  assert.is(sectionFor('x~2', s).get('keyingtries'), '2');
  assert.is(sectionFor('x~2', new Map([['keyingtries', '0']])).get('keyingtries'), '0');
  assert.is(s.get('keyingtries'), undefined, 'the section itself is not changed');
});

test('make-before-break: an identity change comes up under NAME~2 before the old IKE_SA ends, then back under NAME', async () => {
  await pair(async ({ gw, peer }) => {
    const old = await upUnder(gw, 'site');
    const r = recorder();
    const plan: SwanPlan = { load: [{ name: 'site', section: gwConn({ localId: 'gw.example' }) }], unload: [], loadShared: [], unloadShared: [], files: [] };
    const said: string[] = [];
    const t0 = performance.now();
    await applySwanPlan(gw, plan, ['site'], r.call, { mbb: { deadlineMs: 15_000 }, say: (l) => said.push(l) });
    const ms = performance.now() - t0;
    // The stages in order: load the alternate, initiate it, end the old SA by its unique id, unload the old name.
    assert.equal(r.log, ['--load-conn site~2', '--initiate --ike site~2 --child c', `--terminate --ike-id ${old.id} --force`, '--unload-conn site']);
    assert.match(said.join('\n'), /site replaced make-before-break \(now loaded as site~2\)/);
    assert.equal(await gw.getConns(), ['site~2']);
    const now = await sas(gw);
    assert.is(now.length, 1, JSON.stringify(now));
    assert.is(now[0].name, 'site~2');
    assert.is.not(now[0].id, old.id);
    assert.match(now[0].spis[0], /^INSTALLED /);
    assert.is.not(now[0].spis[0], old.spis[0]);
    // The peer sees the new identity and only the new IKE_SA (the old one was deleted, not left to time out).
    const p = await peer.listSas();
    assert.is(p.length, 1);
    assert.is(String(p[0].section['remote-id']), 'gw.example');
    console.log(`\n  make-before-break of one connection (load, initiate, check, terminate, unload): ${ms.toFixed(0)} ms`);

    // The next replace goes back to the base name; the live alternate is what is terminated and unloaded.
    const r2 = recorder();
    const back: SwanPlan = { ...plan, load: [{ name: 'site', section: gwConn() }] };
    await applySwanPlan(gw, back, ['site'], r2.call, { mbb: { deadlineMs: 15_000 } });
    assert.equal(r2.log, ['--load-conn site', '--initiate --ike site --child c', `--terminate --ike-id ${now[0].id} --force`, '--unload-conn site~2']);
    assert.equal(await gw.getConns(), ['site']);
    const last = await sas(gw);
    assert.equal(last.map((s) => [s.name, s.state]), [['site', 'ESTABLISHED']]);
    assert.is(String((await peer.listSas())[0].section['remote-id']), GW);
  });
});

test('make-before-break of a connection that starts itself: an initiate charon refuses as a duplicate of what the start action installed is no failure', async () => {
  await pair(async ({ gw, peer }) => {
    const old = await upUnder(gw, 'site');
    const r = recorder();
    // The initiate held back until load-conn's start action has site~2's CHILD_SA installed: charon refuses it then.
    let refused = '';
    const late: Call = async (argv, fn) => {
      if (argv[1] !== '--initiate') return r.call(argv, fn);
      const installed = async () => (await sas(gw)).some((s) => s.name === 'site~2' && s.state === 'ESTABLISHED' && s.spis.some((k) => k.startsWith('INSTALLED ')));
      assert.ok(await until(installed, 30_000), 'the start action never brought site~2 up');
      return r.call(argv, () => fn().catch((e: Error) => ((refused = e.message), Promise.reject(e))));
    };
    const plan: SwanPlan = { load: [{ name: 'site', section: gwConn({ localId: 'gw.example' }) }], unload: [], loadShared: [], unloadShared: [], files: [] };
    await applySwanPlan(gw, plan, ['site'], late, { mbb: { deadlineMs: 15_000 } });
    assert.match(refused, /establishing CHILD_SA 'c' failed/, 'charon accepted the late initiate: the case is not exercised');
    assert.equal(r.log, ['--load-conn site~2', '--initiate --ike site~2 --child c', `--terminate --ike-id ${old.id} --force`, '--unload-conn site']);
    const now = await sas(gw);
    assert.equal(now.map((s) => [s.name, s.state]), [['site~2', 'ESTABLISHED']]);
    assert.match(now[0].spis[0], /^INSTALLED /);
    assert.is(String((await peer.listSas())[0].section['remote-id']), 'gw.example');
  });
});

test('make-before-break: a new connection the peer refuses leaves the old IKE_SA and CHILD_SA exactly as they were', async () => {
  await pair(async ({ gw }) => {
    const old = await upUnder(gw, 'site');
    const r = recorder();
    // A remote identity the peer does not have: the gateway refuses the peer's authentication.
    const plan: SwanPlan = { load: [{ name: 'site', section: gwConn({ remoteId: 'other.example' }) }], unload: [], loadShared: [], unloadShared: [], files: [] };
    const err = await applySwanPlan(gw, plan, ['site'], r.call, { mbb: { deadlineMs: 8_000 } }).then(
      () => undefined,
      (e) => e,
    );
    assert.instance(err, MbbError);
    assert.is(err.connection, 'site');
    assert.is(err.stage, 'initiate');
    assert.match(err.message, /the old connection keeps running/);
    assert.equal(r.log.slice(0, 2), ['--load-conn site~2', '--initiate --ike site~2 --child c']);
    assert.ok(r.log.includes('--unload-conn site~2'), r.log.join('\n'));
    assert.not.ok(r.log.some((l) => l.includes(`--ike-id ${old.id}`)), 'the old SA was terminated');
    assert.equal(await gw.getConns(), ['site']);
    assert.equal(await sas(gw), [old]);
  });
});

test('make-before-break: a responder-only connection waits for the peer within the deadline; none: the old SA stays', async () => {
  await pair(async ({ gw }) => {
    const old = await upUnder(gw, 'site');
    const r = recorder();
    const t0 = performance.now();
    const err = await makeBeforeBreak(gw, 'site', gwConn({ start: 'none', localId: 'gw.example' }), { name: 'site', id: Number(old.id) }, r.call, { deadlineMs: 1500, pollMs: 100 }).then(
      () => undefined,
      (e) => e,
    );
    const ms = performance.now() - t0;
    assert.instance(err, MbbError);
    assert.is(err.stage, 'check');
    assert.match(err.detail, /no IKE_SA of site~2 with c installed within 2 s/);
    assert.ok(ms >= 1500 && ms < 6000, `waited ${ms} ms`);
    // Nothing was initiated: the peer was waited for.
    assert.equal(r.log, ['--load-conn site~2', '--unload-conn site~2']);
    assert.equal(await sas(gw), [old]);
    assert.equal(await gw.getConns(), ['site']);
  });
});

test('a proposal change: load-conn in place of a started connection is break-before-make; with the rekey set it goes make-before-break', async () => {
  await pair(async ({ gw, peer }) => {
    await peer.loadConn('site', conn({ local: PEER, remote: GW, remoteId: '%any', lts: '10.2.0.0/24', rts: '10.1.0.0/24', esp: 'aes256gcm16-aes128gcm16' }));
    const old = await upUnder(gw, 'site');
    const keysize = async () => (await gw.listSas()).flatMap((s) => Object.values((s.section['child-sas'] ?? {}) as Record<string, Record<string, string>>).filter((k) => k.state === 'INSTALLED').map((k) => `${s.name} ${k['encr-alg']}-${k['encr-keysize']}`));
    assert.equal(await keysize(), ['site AES_GCM_16-256']);
    const to128: SwanPlan = { load: [{ name: 'site', section: gwConn({ esp: 'aes128gcm16' }) }], unload: [], loadShared: [], unloadShared: [], files: [] };
    // Without the rekey set: load-conn under the same name; charon 5.9.8 ends the old IKE_SA and starts a new one.
    const r = recorder();
    await applySwanPlan(gw, to128, [], r.call, { mbb: { deadlineMs: 10_000 } });
    assert.equal(r.log, ['--load-conn site']);
    assert.ok(await until(async () => (await keysize()).join() === 'site AES_GCM_16-128'), `${await keysize()}`);
    const mid = await sas(gw);
    assert.not.ok(mid.some((x) => x.id === old.id), 'the old IKE_SA survived a load-conn in place');
    // With it: a second IKE_SA with the new proposal comes up first, then the old one ends.
    const r2 = recorder();
    const to256: SwanPlan = { ...to128, load: [{ name: 'site', section: gwConn({ esp: 'aes256gcm16' }) }] };
    await applySwanPlan(gw, to256, [], r2.call, { mbb: { deadlineMs: 10_000 }, rekey: new Set(['site']) });
    assert.equal(r2.log, ['--load-conn site~2', '--initiate --ike site~2 --child c', `--terminate --ike-id ${mid[0].id} --force`, '--unload-conn site']);
    assert.equal(await keysize(), ['site~2 AES_GCM_16-256']);
  });
});

test('a PSK rotation (the section unchanged, only the secret): proved by a childless IKE_SA, the traffic never leaves the old one; a peer without it: refused, the old SA kept', async () => {
  await pair(async ({ gw, peer }) => {
    const old = await upUnder(gw, 'site');
    const NEW = Buffer.from('the-rotated-pre-shared-key-9876543210');
    const plan: SwanPlan = { load: [], unload: [], loadShared: [{ id: 'k', type: 'IKE', data: NEW, owners: [GW, PEER, 'gw.example'] }], unloadShared: [], files: [] };
    // The peer does not have the new PSK yet: nothing comes up, the old IKE_SA and CHILD_SA are exactly as they were.
    const r0 = recorder();
    const err = await applySwanPlan(gw, plan, ['site'], r0.call, { mbb: { deadlineMs: 4_000 }, sectionOf: (n) => (n === 'site' ? gwConn() : undefined) }).then(
      () => undefined,
      (e) => e,
    );
    assert.instance(err, MbbError, r0.log.join('\n'));
    assert.equal(r0.log.slice(0, 3), ['--load-shared k', '--load-conn site~2', '--initiate --ike site~2']);
    assert.not.ok(r0.log.some((l) => l.includes(`--ike-id ${old.id}`)), 'the old SA was terminated');
    assert.equal(await sas(gw), [old]);
    assert.equal(await gw.getConns(), ['site']);
    // Stage 2: the site loads the new PSK only; its established IKE_SA is not touched.
    await peer.loadShared({ id: 'k', type: 'IKE', data: NEW, owners: [GW, PEER, 'gw.example'] });
    const r = recorder();
    const said: string[] = [];
    // (Once seen failing in CI under load 9-10, the childless IKE_SA not coming up: what apply said and ran is kept in the message.)
    await applySwanPlan(gw, plan, ['site'], r.call, { mbb: { deadlineMs: 10_000 }, sectionOf: (n) => (n === 'site' ? gwConn() : undefined), say: (l) => said.push(l) }).catch((e: Error) => {
      throw new Error(`${e.message}\napply said:\n${said.join('\n')}\nit ran:\n${r.log.join('\n')}`);
    });
    // Secrets first, then a second IKE_SA without children (it authenticates with the new PSK at both ends), which ends.
    assert.equal(r.log.slice(0, 3), ['--load-shared k', '--load-conn site~2', '--initiate --ike site~2']);
    assert.match(r.log[3], /^--terminate --ike-id \d+ --force$/);
    assert.is.not(r.log[3], `--terminate --ike-id ${old.id} --force`);
    assert.equal(r.log.slice(4), ['--unload-conn site~2']);
    assert.match(said.join('\n'), new RegExp(`site's new credentials proved by a childless IKE_SA under site~2; its traffic stays on IKE_SA #${old.id}`));
    // The traffic's SAs never moved: the same IKE_SA, the same CHILD_SA SPIs; the peer holds just that one too.
    assert.equal(await sas(gw), [old]);
    assert.equal(await gw.getConns(), ['site']);
    assert.is((await peer.listSas()).length, 1);
  });
});

test('a PSK rotation with prove: false: make-before-break with the new PSK, the new CHILD_SA keeps the old one\'s reqid', async () => {
  await pair(async ({ gw, peer }) => {
    const old = await upUnder(gw, 'site');
    const reqids = async () => (await gw.listSas()).flatMap((s) => Object.values((s.section['child-sas'] ?? {}) as Record<string, Record<string, string>>).map((k) => String(k.reqid)));
    const [reqid0] = await reqids();
    const NEW = Buffer.from('the-rotated-pre-shared-key-9876543210');
    await peer.loadShared({ id: 'k', type: 'IKE', data: NEW, owners: [GW, PEER, 'gw.example'] });
    const plan: SwanPlan = { load: [], unload: [], loadShared: [{ id: 'k', type: 'IKE', data: NEW, owners: [GW, PEER, 'gw.example'] }], unloadShared: [], files: [] };
    const r = recorder();
    const said: string[] = [];
    await applySwanPlan(gw, plan, ['site'], r.call, { mbb: { deadlineMs: 10_000 }, prove: false, sectionOf: (n) => (n === 'site' ? gwConn() : undefined), say: (l) => said.push(l) });
    assert.equal(r.log, ['--load-shared k', '--load-conn site~2', '--initiate --ike site~2 --child c', `--terminate --ike-id ${old.id} --force`, '--unload-conn site']);
    assert.match(said.join('\n'), /site replaced make-before-break with its new credentials \(now loaded as site~2\)/);
    const now = await sas(gw);
    assert.is(now.length, 1, JSON.stringify(now));
    assert.is(now[0].name, 'site~2');
    assert.match(now[0].spis[0], /^INSTALLED /);
    // The new CHILD_SA keeps the old one's reqid: the shared policies are not moved to another while the peer still sends on the old SA.
    assert.equal(await reqids(), [reqid0]);
    // Without the section (as before make-before-break): the same plan only terminates, the tunnel drops until a re-dial.
    await peer.loadShared({ id: 'k', type: 'IKE', data: PSK, owners: [GW, PEER, 'gw.example'] });
    const r2 = recorder();
    await applySwanPlan(gw, { ...plan, loadShared: [{ ...plan.loadShared[0], data: PSK }] }, ['site'], r2.call, { mbb: { deadlineMs: 10_000 } });
    assert.equal(r2.log, ['--load-shared k', '--terminate --ike site~2 --force']);
    assert.equal(await sas(gw), []);
  });
});

test('connectionSections: the sections of the named connections from the release\'s conf.d files', () => {
  const text = 'connections {\n  a {\n    version = 2\n    remote_addrs = 192.0.2.9\n    children {\n      c {\n        start_action = trap\n      }\n    }\n  }\n}\n';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbb-rel-'));
  try {
    fs.mkdirSync(path.join(dir, 'swanctl/conf.d'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'swanctl/conf.d/t.conf'), text);
    const rel = { name: 'r', dir, flat: true, manifest: { files: { 'swanctl/conf.d/t.conf': { sha256: 'x' }, 'nftables/s2sgw.nft': { sha256: 'y' } } } };
    const got = connectionSections(rel as never, ['a', 'b'], '/etc/swanctl');
    assert.equal([...got.keys()], ['a']);
    assert.equal(got.get('a')?.get('remote_addrs'), ['192.0.2.9']);
    assert.is(connectionSections(rel as never, [], '/etc/swanctl').size, 0);
    assert.is(connectionSections(rel as never, ['b'], '/etc/swanctl').size, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('connectionSections: with tenant entries, only the names a tenant lists, from its own file first', () => {
  const block = (n: string, addr: string) => `  ${n} {\n    version = 2\n    remote_addrs = ${addr}\n  }\n`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mbb-rel-'));
  try {
    fs.mkdirSync(path.join(dir, 'swanctl/conf.d'), { recursive: true });
    // t lists a and b; b lives in u's file (moved there); x is in a file but no tenant lists it (a removed tenant's).
    fs.writeFileSync(path.join(dir, 'swanctl/conf.d/t.conf'), `connections {\n${block('a', '192.0.2.1')}}\n`);
    fs.writeFileSync(path.join(dir, 'swanctl/conf.d/u.conf'), `connections {\n${block('b', '192.0.2.2')}${block('x', '192.0.2.3')}}\n`);
    const files = { 'swanctl/conf.d/t.conf': { sha256: 'x' }, 'swanctl/conf.d/u.conf': { sha256: 'y' } };
    const rel = { name: 'r', dir, flat: true, manifest: { files, tenants: { t: { digest: 'd', file: 'tenants/t.yaml', connections: ['a', 'b'] }, u: { digest: 'e', file: 'tenants/u.yaml', connections: [] } } } };
    const got = connectionSections(rel as never, ['a', 'b', 'x'], '/etc/swanctl');
    assert.equal([...got.keys()].sort(), ['a', 'b']);
    assert.equal(got.get('b')?.get('remote_addrs'), ['192.0.2.2']);
    assert.is(connectionSections(rel as never, ['x', 'gone'], '/etc/swanctl').size, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('withReqids: each child pinned to its old CHILD_SA\'s reqid, unless the section sets one or none is installed', () => {
  const s = gwConn();
  const pinned = withReqids(s, [{ name: 'c', state: 'INSTALLED', reqid: '7' }]);
  assert.is(((pinned.get('children') as Record<string, Record<string, unknown>>).c).reqid, '7');
  assert.is(((s.get('children') as Record<string, Record<string, unknown>>).c).reqid, undefined, 'the section itself is not changed');
  assert.is(((withReqids(s, [{ name: 'c', state: 'REKEYED', reqid: '7' }]).get('children') as Record<string, Record<string, unknown>>).c).reqid, undefined);
  assert.is(((withReqids(s, [{ name: 'other', state: 'INSTALLED', reqid: '7' }]).get('children') as Record<string, Record<string, unknown>>).c).reqid, undefined);
  const m = new Map<string, ViciInputElement>([['children', new Map([['c', new Map([['reqid', '3']])]]) as unknown as ViciInputElement]]);
  assert.is(((withReqids(m, [{ name: 'c', state: 'INSTALLED', reqid: '7' }]).get('children') as unknown as Map<string, Map<string, string>>).get('c')!).get('reqid'), '3');
});

async function until(f: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

test('without an IKE_SA up, a replace is the plain load and terminate; a connection under its alternate is unloaded under it', async () => {
  await pair(async ({ gw }) => {
    // start none: a connection that starts itself could be up before the plan runs (it raced, in a CI run).
    await gw.loadConn('site~2', sectionFor('site~2', gwConn({ start: 'none' })));
    const r = recorder();
    await applySwanPlan(gw, { load: [{ name: 'site', section: gwConn({ start: 'none', localId: 'gw.example' }) }], unload: [], loadShared: [], unloadShared: [], files: [] }, ['site'], r.call, { mbb: { deadlineMs: 5000 } });
    assert.equal(r.log, ['--load-conn site~2', '--terminate --ike site~2 --force']);
    assert.equal(await gw.getConns(), ['site~2']);
    const r2 = recorder();
    await applySwanPlan(gw, { load: [], unload: ['site'], loadShared: [], unloadShared: [], files: [] }, ['site'], r2.call, {});
    assert.equal(r2.log, ['--unload-conn site~2', '--terminate --ike site~2 --force']);
    assert.equal(await gw.getConns(), []);
  });
});

test('a full reload after a make-before-break: the connection left under NAME~2 moves back under NAME, make-before-break; with NAME up already, NAME~2 is ended', async () => {
  await pair(async ({ gw, peer }) => {
    // A make-before-break left the connection under its alternate name (an on-demand one, as the bundles' are: the
    // unload of a connection that starts itself would end its SAs, one that traps only removes its trap).
    await gw.loadConn('site~2', sectionFor('site~2', gwConn({ start: 'trap' })));
    await gw.initiate({ ike: 'site~2', child: 'c', timeout: 10_000 });
    const [alt] = await sas(gw);
    // What swanctl --load-all does next: loads every file's connection under its own name, unloads the names no file holds.
    await gw.loadConn('site', gwConn({ start: 'trap' }));
    await gw.unloadConn('site~2');
    assert.equal(await gw.getConns(), ['site']);
    assert.equal((await sas(gw)).map((s) => s.name), ['site~2'], 'the alternate\'s IKE_SA outlives its unloaded connection');
    const r = recorder();
    const said = await settleAlternates(gw, r.call, (n) => (n === 'site' ? gwConn({ start: 'trap' }) : undefined), { deadlineMs: 15_000 });
    // Up under its own name before the alternate's IKE_SA ends; nothing left to unload (--load-all did).
    assert.equal(r.log, ['--load-conn site', '--initiate --ike site --child c', `--terminate --ike-id ${alt.id} --force`]);
    assert.match(said.join('\n'), /site: moved from its alternate site~2 back to its own name make-before-break/);
    assert.equal(await gw.getConns(), ['site']);
    const now = await sas(gw);
    assert.equal(now.map((s) => [s.name, s.state]), [['site', 'ESTABLISHED']]);
    assert.match(now[0].spis[0], /^INSTALLED /);
    assert.is((await peer.listSas()).length, 1, 'the peer holds only the new IKE_SA');

    // The same with NAME already up (a start action) and NAME~2 still loaded: the alternate is unloaded and its IKE_SA ended.
    await gw.loadConn('site~2', sectionFor('site~2', gwConn({ start: 'trap' })));
    await gw.initiate({ ike: 'site~2', child: 'c', timeout: 10_000 });
    const both = await sas(gw);
    assert.equal(both.map((s) => s.name).sort(), ['site', 'site~2']);
    const r2 = recorder();
    const said2 = await settleAlternates(gw, r2.call, (n) => (n === 'site' ? gwConn({ start: 'trap' }) : undefined), { deadlineMs: 15_000 });
    const altId = both.find((s) => s.name === 'site~2')!.id;
    assert.equal(r2.log, ['--unload-conn site~2', `--terminate --ike-id ${altId} --force`]);
    assert.match(said2.join('\n'), /site: unloaded its alternate site~2\nsite: terminated IKE_SA #\d+ of its alternate site~2/);
    assert.equal(await gw.getConns(), ['site']);
    assert.equal((await sas(gw)).map((s) => s.name), ['site']);
  });
});

/** The gateway's on-demand connection with other IKE and ESP proposals: a rekey-class change. */
const rekeyed = () => {
  const s = gwConn({ start: 'trap', esp: 'aes128gcm16' });
  s.set('proposals', ['aes128-sha256-ecp256']);
  return s;
};
/** The peer's side of that change (peer-config's new connection), initiated once the gateway holds `name`. */
/** When peerInitiates asked the peer to delete its old CHILD_SA (performance.now()). */
let peerDeletedAt = Infinity;

async function peerInitiates(gw: ViciClient, peer: ViciClient, name: string): Promise<void> {
  const s = conn({ local: PEER, remote: GW, remoteId: '%any', lts: '10.2.0.0/24', rts: '10.1.0.0/24', esp: 'aes128gcm16' });
  s.set('proposals', ['aes128-sha256-ecp256']);
  await peer.loadConn('site-new', s);
  assert.ok(await until(async () => (await gw.getConns()).includes(name), 10_000), `the gateway never held ${name}`);
  // The old IKE_SA's CHILD_SA, as the peer sees it, before it initiates the new one.
  const [was] = (await peer.listSas({ ike: 'site' })).map((x) => Object.values((x.section['child-sas'] ?? {}) as Record<string, Record<string, string>>)[0]?.uniqueid);
  await peer.initiate({ ike: 'site-new', child: 'c', timeout: 10_000 });
  // Then it deletes its old CHILD_SA itself (the gateway, that DELETE's responder, ends its own first).
  assert.ok(was, 'the peer had no old CHILD_SA');
  // (a little later than at once, as a peer's admin would: the gateway must wait for it)
  await new Promise((r) => setTimeout(r, 1500));
  peerDeletedAt = performance.now();
  await peer.terminate({ childId: Number(was), timeout: 10_000 });
}

test('heldSection: every child starts nothing and installs its policies after the old CHILD_SA\'s; the rest as it was', () => {
  const s = rekeyed();
  const h = heldSection(s);
  const kid = (x: Map<string, ViciInputElement>) => (x.get('children') as Record<string, Record<string, unknown>>).c;
  assert.is(kid(h).start_action, 'none');
  assert.is(kid(h).priority, HELD_PRIORITY);
  assert.is(kid(h).policies, undefined);
  assert.equal(kid(h).esp_proposals, ['aes128gcm16']);
  assert.equal(h.get('proposals'), ['aes128-sha256-ecp256']);
  assert.is(kid(s).start_action, 'trap', 'the section itself is not changed');
  assert.is(kid(s).policies, undefined);
});

test('a rekey-class change with the peer first: the peer initiates the new IKE_SA while the gateway holds its new children, then the release\'s section, then the old IKE_SA ends', async () => {
  await pair(async ({ gw, peer }) => {
    await gw.loadConn('site', gwConn({ start: 'trap' }));
    await gw.initiate({ ike: 'site', child: 'c', timeout: 10_000 });
    const [old] = await sas(gw);
    const r = recorder();
    let endedAt = 0;
    const timed: Call = (argv, fn) => ((argv[1] === '--terminate' && (endedAt = performance.now())), r.call(argv, fn));
    const said: string[] = [];
    const plan: SwanPlan = { load: [{ name: 'site', section: rekeyed() }], unload: [], loadShared: [], unloadShared: [], files: [] };
    const [, peerDone] = await Promise.all([
      applySwanPlan(gw, plan, [], timed, { mbb: { deadlineMs: 15_000, pollMs: 100, settleMs: 300 }, rekey: new Set(['site']), peerFirstMs: 10_000, say: (l) => said.push(l) }),
      peerInitiates(gw, peer, 'site~2').then(() => true),
    ]);
    assert.ok(peerDone);
    // The old IKE_SA is ended only after the peer deleted its old CHILD_SA (the gateway, that DELETE's responder, moved
    // its traffic first), not after a fixed wait.
    assert.ok(endedAt > peerDeletedAt, `old IKE_SA ended at ${endedAt}, the peer's CHILD_SA DELETE at ${peerDeletedAt}`);
    // Load held, (the peer initiates), load as released, end the old IKE_SA, unload the old name: no initiate here.
    assert.equal(r.log, ['--load-conn site~2', '--load-conn site~2', `--terminate --ike-id ${old.id} --force`, '--unload-conn site']);
    assert.match(said.join('\n'), /site rekeyed make-before-break \(now loaded as site~2, initiated by the peer\)/);
    // The line the site's admin waits for (peer-config --rekey), said when the peer's turn starts, before the rest.
    assert.is(said[0], '  reload-strongswan: site: new proposals loaded held as site~2; waiting 10 s for the peer to initiate its new connection, then to delete its old CHILD_SA (--peer-first)');
    const now = (await gw.listSas()).map((s) => ({ name: s.name, ike: `${s.section['encr-alg']}-${s.section['encr-keysize']}`, kids: Object.values((s.section['child-sas'] ?? {}) as Record<string, Record<string, string>>).map((k) => `${k.state} ${k['encr-alg']}-${k['encr-keysize']}`) }));
    assert.equal(now, [{ name: 'site~2', ike: 'AES_CBC-128', kids: ['INSTALLED AES_GCM_16-128'] }]);
    assert.equal(await gw.getConns(), ['site~2']);
  });
});

test('a rekey-class change with the peer first: a peer that does not initiate in time: the gateway does; a failure at the switch leaves the old SA as it was', async () => {
  await pair(async ({ gw, peer }) => {
    const s = conn({ local: PEER, remote: GW, remoteId: '%any', lts: '10.2.0.0/24', rts: '10.1.0.0/24', esp: 'aes128gcm16' });
    s.set('proposals', ['aes128-sha256-ecp256']);
    await peer.loadConn('site', s);
    await gw.loadConn('site', gwConn({ start: 'trap', esp: 'aes128gcm16' }));
    // (the peer's site takes both IKE proposals: the old IKE_SA is made with the first)
    await peer.loadConn('site-old', conn({ local: PEER, remote: GW, remoteId: '%any', lts: '10.2.0.0/24', rts: '10.1.0.0/24', esp: 'aes128gcm16' }));
    await gw.initiate({ ike: 'site', child: 'c', timeout: 10_000 });
    const [old] = await sas(gw);
    // The switch's load-conn refused: the new name is unloaded, the old IKE_SA and CHILD_SA untouched.
    let loads = 0;
    const log: string[] = [];
    const failing: Call = async (argv, fn) => {
      log.push(argv.slice(1).join(' '));
      if (argv[1] === '--load-conn' && ++loads === 2) throw new Error('injected: charon refused the load');
      return fn();
    };
    const err = await makeBeforeBreak(gw, 'site', rekeyed(), { name: 'site', id: Number(old.id) }, failing, { deadlineMs: 10_000, pollMs: 100, peerFirstMs: 500 }).then(
      () => undefined,
      (e) => e,
    );
    assert.instance(err, MbbError);
    assert.is(err.stage, 'switch');
    assert.equal(log, ['--load-conn site~2', '--load-conn site~2', '--unload-conn site~2']);
    assert.equal(await sas(gw), [old]);
    assert.equal(await gw.getConns(), ['site']);
    // The peer never initiates: after its 0.5 s the gateway initiates the new IKE_SA itself.
    const r = recorder();
    let by = '';
    const t0 = performance.now();
    const now = await makeBeforeBreak(gw, 'site', rekeyed(), { name: 'site', id: Number(old.id) }, r.call, { deadlineMs: 10_000, pollMs: 100, peerFirstMs: 500, initiatedBy: (w) => (by = w) });
    assert.ok(performance.now() - t0 >= 500);
    assert.is(now, 'site~2');
    assert.is(by, 'us');
    assert.equal(r.log, ['--load-conn site~2', '--load-conn site~2', '--initiate --ike site~2 --child c', `--terminate --ike-id ${old.id} --force`, '--unload-conn site']);
    assert.equal((await sas(gw)).map((x) => [x.name, x.state]), [['site~2', 'ESTABLISHED']]);
  });
});

test.run();
