// The notify listener's FAULT terminates (src/apply/ha-listen.ts, terminateAll) against two real charons: a gateway and
// a site in two network namespaces joined by a veth, two connections with an established IKE_SA each.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAULT_TERMINATE_MS, terminateAll, ViciPool } from '../src/apply/ha-listen';
import { run, withNetns } from '../src/util/exec';
import { Charon, startCharon, withCharon } from './charon';

/** One side's swanctl.conf: connections a and b to the other side, each with its own identities and selectors. */
function swanctlConf(me: 'gw' | 'site'): string {
  const [local, remote] = me === 'gw' ? ['203.0.113.10', '203.0.113.20'] : ['203.0.113.20', '203.0.113.10'];
  const conn = (name: string, k: number) => {
    const [lts, rts] = me === 'gw' ? [`10.1.${k}.0/24`, `10.2.${k}.0/24`] : [`10.2.${k}.0/24`, `10.1.${k}.0/24`];
    const [lid, rid] = me === 'gw' ? [`${name}.gw.test`, `${name}.site.test`] : [`${name}.site.test`, `${name}.gw.test`];
    return `  ${name} {
    version = 2
    local_addrs = ${local}
    remote_addrs = ${remote}
    proposals = aes256gcm16-prfsha384-ecp384
    local { auth = psk
      id = ${lid} }
    remote { auth = psk
      id = ${rid} }
    children {
      ${name} {
        local_ts = ${lts}
        remote_ts = ${rts}
        esp_proposals = aes256gcm16-ecp384
      }
    }
  }
`;
  };
  return `connections {\n${conn('a', 0)}${conn('b', 1)}}\nsecrets {\n  ike-1 {\n    secret = "test-only-not-a-secret"\n  }\n}\n`;
}

const established = async (c: Charon): Promise<string[]> => [...(await c.swanctl('--list-sas')).stdout.matchAll(/^(\w+): #\d+, ESTABLISHED,/gm)].map((m) => m[1]).sort();
const anySa = async (c: Charon): Promise<string> => (await c.swanctl('--list-sas')).stdout.trim();
const waitFor = async (ok: () => Promise<boolean>, ms: number): Promise<void> => {
  const until = Date.now() + ms;
  while (Date.now() < until && !(await ok())) await new Promise((r) => setTimeout(r, 100));
};

/** A gateway and a site, joined, both connections established; fn with both charons. */
async function withPair(fn: (gw: Charon, site: Charon, siteNs: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync('/tmp/s2sgw-hl-'); // short: a unix socket path has 108 bytes
  try {
    await withNetns((gwNs) =>
      withNetns(async (siteNs) => {
        await run('ip', ['link', 'add', 'v0', 'netns', gwNs, 'type', 'veth', 'peer', 'name', 'v1', 'netns', siteNs]);
        for (const [ns, dev, addr] of [[gwNs, 'v0', '203.0.113.10/24'], [siteNs, 'v1', '203.0.113.20/24']]) {
          await run('ip', ['address', 'add', addr, 'dev', dev], { netns: ns });
          await run('ip', ['link', 'set', dev, 'up'], { netns: ns });
        }
        await withCharon({ ns: gwNs, dir, name: 'gw' }, (gw) =>
          withCharon({ ns: siteNs, dir, name: 'site' }, async (site) => {
            for (const [c, me] of [[gw, 'gw'], [site, 'site']] as const) {
              fs.writeFileSync(path.join(dir, `${me}-swanctl.conf`), swanctlConf(me));
              const r = await c.swanctl('--load-all', '--file', path.join(dir, `${me}-swanctl.conf`));
              assert.is(r.code, 0, r.stdout + r.stderr);
            }
            await Promise.all(['a', 'b'].map((child) => gw.swanctl('--initiate', '--child', child, '--timeout', '10')));
            await waitFor(async () => (await established(gw)).join() === 'a,b', 15_000);
            assert.equal(await established(gw), ['a', 'b'], `gateway's log:\n${gw.log()}`);
            await fn(gw, site, siteNs);
          }),
        );
      }),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('FAULT, site answering: both connections terminated by name at once, the site got both DELETEs; a connection without IKE_SA is none', async () => {
  await withPair(async (gw, site) => {
    assert.equal(await established(site), ['a', 'b']);
    const r = await terminateAll(`unix://${gw.sock}`, ['a', 'b', 'c']);
    assert.equal({ ...r, connectMs: undefined }, { charon: true, byName: { a: 'deleted', b: 'deleted', c: 'none' }, byId: [], connectMs: undefined });
    assert.ok(r.connectMs! >= 0);
    // When terminateAll returns, the gateway has no IKE_SA left (nothing whose DELETE could follow the blackhole).
    assert.is(await anySa(gw), '');
    await waitFor(async () => (await anySa(site)) === '', 10_000);
    assert.is(await anySa(site), '', `the site kept an SA: ${site.log()}`);
  });
});

test('FAULT, site silent: each terminate is forced after charon\'s timeout, both at once (not one after the other), nothing left', async () => {
  await withPair(async (gw, _site, siteNs) => {
    // The site drops everything from now on: the gateway's DELETEs get no answer.
    const nft = await run('nft', ['add table inet t; add chain inet t in { type filter hook input priority 0; policy drop; }'], { netns: siteNs });
    assert.is(nft.code, 0, nft.stderr);
    const t0 = Date.now();
    const r = await terminateAll(`unix://${gw.sock}`, ['a', 'b']);
    const took = Date.now() - t0;
    assert.equal({ ...r, connectMs: undefined }, { charon: true, byName: { a: 'forced', b: 'forced' }, byId: [], connectMs: undefined });
    assert.is(await anySa(gw), '', 'an IKE_SA is left after the forced terminates');
    // charon waited for the answers (it did not come), then destroyed them; in parallel: well under twice that.
    assert.ok(took >= FAULT_TERMINATE_MS - 200, `returned after ${took} ms: not waited for the site`);
    assert.ok(took < 2 * FAULT_TERMINATE_MS, `took ${took} ms: the terminates ran one after the other`);
  });
});

test('FAULT on the pool\'s connections, open since the listener started: no connect, both terminated at once, the site got both DELETEs', async () => {
  await withPair(async (gw, site) => {
    const pool = new ViciPool(`unix://${gw.sock}`, 2);
    try {
      await pool.fill();
      assert.is(pool.open.length, 2);
      const r = await terminateAll(`unix://${gw.sock}`, ['a', 'b'], pool);
      assert.equal({ ...r, connectMs: undefined }, { charon: true, byName: { a: 'deleted', b: 'deleted' }, byId: [], connectMs: undefined, pooled: true });
      assert.is(await anySa(gw), '');
      await waitFor(async () => (await anySa(site)) === '', 10_000);
      assert.is(await anySa(site), '', `the site kept an SA: ${site.log()}`);
      // The connections stay open for the next event.
      assert.is(pool.open.length, 2);
    } finally {
      await pool.stop();
    }
  });
});

test('the pool opens its connections again when charon restarts; a FAULT while charon is gone says so (fresh connects fail)', async () => {
  const dir = fs.mkdtempSync('/tmp/s2sgw-hp-');
  try {
    await withNetns(async (ns) => {
      let c = await startCharon({ ns, dir, name: 'gw' });
      const uri = `unix://${c.sock}`;
      const pool = new ViciPool(uri, 2);
      try {
        await pool.fill();
        assert.is(pool.open.length, 2);
        await c.stop();
        await waitFor(async () => pool.open.length === 0, 5000);
        assert.is(pool.open.length, 0, 'the pool kept connections charon closed');
        assert.equal(await terminateAll(uri, ['a'], pool), { charon: false, byName: {}, byId: [] });
        c = await startCharon({ ns, dir, name: 'gw' });
        await waitFor(async () => pool.open.length === 2, 10_000);
        assert.is(pool.open.length, 2, 'the pool did not reconnect to the restarted charon');
        assert.equal((await terminateAll(uri, ['a'], pool)).byName, { a: 'none' });
      } finally {
        await pool.stop();
        await c.stop();
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('FAULT without a charon (its socket missing): reported at once, nothing terminated', async () => {
  const t0 = Date.now();
  assert.equal(await terminateAll('unix:///nonexistent/charon.vici', ['a', 'b']), { charon: false, byName: {}, byId: [] });
  assert.equal(await terminateAll('unix:///nonexistent/charon.vici', []), { charon: false, byName: {}, byId: [] });
  assert.ok(Date.now() - t0 < 5000);
});

test.run();
