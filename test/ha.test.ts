// HA pairs on a host: status shows each HA tenant's role and keepalived state, drain/undrain write the drain file
// keepalived tracks and wait (up to a deadline) until keepalived's state files say the addresses moved.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, cli, tempCopy } from './helpers';
import { bgpDrainLines } from '../src/apply/ha';
import type { TenantSummary } from '../src/model/summary';

const PAIR = path.join(FIXTURES, 'build', 'ha-pair');
const PSK = 'abcdefghijklmnopqrstuvwxyz0123';
const env = { ...process.env, CONTOSO_NY_PSK: PSK, WOODGROVE_NY_PSK: PSK, FABRIKAM_NY_PSK: PSK };
const SKIP = ['--skip', 'sysctl,links,vrf,frr,strongswan,nftables,tc,keepalived'];

/** gw1's bundle applied to a scratch root (every daemon step skipped: the files and the release are real). */
async function appliedRoot(): Promise<string> {
  const cfg = tempCopy(PAIR);
  const b = await cli(['build', '--config', cfg, '--out', path.join(cfg, 'out')], cfg, env);
  assert.is(b.code, 0, b.err);
  const root = path.join(cfg, 'root');
  const a = await cli(['apply', '--bundle', path.join(cfg, 'out', 'gw1'), '--root', root, ...SKIP], cfg, env);
  assert.is(a.code, 0, a.err);
  assert.ok(fs.existsSync(path.join(root, 'etc', 'keepalived', 'keepalived.conf')), 'apply links keepalived.conf');
  return root;
}

const state = (root: string, t: string, s: string) => {
  fs.mkdirSync(path.join(root, 'run', 's2sgw', 'ha'), { recursive: true });
  fs.writeFileSync(path.join(root, 'run', 's2sgw', 'ha', `${t}.state`), `${s}\n`);
};

test('status shows the role, keepalived state and holder per HA tenant; a tenant without state is degraded', async () => {
  const root = await appliedRoot();
  state(root, 'contoso', 'MASTER');
  const r = await cli(['status', '--root', root, ...SKIP.slice(0, 1), 'sysctl,links,vrf,frr,strongswan,nftables,tc', '--format', 'json'], root, env);
  const s = JSON.parse(r.out);
  const by = Object.fromEntries(s.tenants.map((t: { tenant: string }) => [t.tenant, t]));
  assert.equal(by.contoso.ha, { role: 'active', partner: 'gw2', vrid: 40, state: 'MASTER', holder: 'gw1', drained: false, ready: true });
  assert.is(by.fabrikam.ha, undefined);
  assert.is(by.woodgrove.ha.ready, false);
  assert.ok(s.degraded.some((d: { tenant: string; what: string }) => d.tenant === 'woodgrove' && d.what === 'ha'));
  assert.is(r.code, 3);
});

test('drain writes the drain file and waits for keepalived; times out while the address stays here; undrain restores', async () => {
  const root = await appliedRoot();
  state(root, 'contoso', 'MASTER');
  state(root, 'woodgrove', 'BACKUP');
  const drainFile = path.join(root, 'var', 'lib', 's2sgw', 'ha', 'drain');
  const stuck = await cli(['drain', '--root', root, '--skip', 'frr', '--deadline', '1'], root, env);
  assert.is(stuck.code, 1, stuck.err);
  assert.match(stuck.err, /not moved after 1 s/);
  assert.is(fs.readFileSync(drainFile, 'utf8'), '1\n');
  // keepalived answers the drain file by going BACKUP: the partner holds the address.
  setTimeout(() => state(root, 'contoso', 'BACKUP'), 300);
  const ok = await cli(['drain', '--root', root, '--skip', 'frr', '--deadline', '5'], root, env);
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.out, /contoso: active here, keepalived BACKUP, address held by gw2/);
  setTimeout(() => state(root, 'contoso', 'MASTER'), 300);
  setTimeout(() => state(root, 'woodgrove', 'MASTER'), 300);
  const back = await cli(['undrain', '--root', root, '--skip', 'frr', '--deadline', '5'], root, env);
  assert.is(back.code, 0, back.err);
  assert.is(fs.readFileSync(drainFile, 'utf8'), '0\n');
});

test('apply --drain: drains before the switch and undrains after; refuses to apply when the partner does not take over', async () => {
  const root = await appliedRoot();
  const bundle = path.join(root, '..', 'out', 'gw1');
  const drainFile = path.join(root, 'var', 'lib', 's2sgw', 'ha', 'drain');
  state(root, 'contoso', 'MASTER');
  state(root, 'woodgrove', 'MASTER');
  const refused = await cli(['apply', '--bundle', bundle, '--root', root, ...SKIP, '--drain', '1'], root, env);
  assert.is(refused.code, 1, refused.err);
  assert.match(refused.err, /did not take this gateway's HA tenants within 1 s: nothing applied/);
  assert.is(fs.readFileSync(drainFile, 'utf8'), '0\n');
  // keepalived's part: BACKUP once drained, MASTER once undrained.
  const watch = setInterval(() => {
    const v = fs.readFileSync(drainFile, 'utf8').trim();
    for (const t of ['contoso', 'woodgrove']) state(root, t, v === '1' ? 'BACKUP' : 'MASTER');
  }, 100);
  try {
    const ok = await cli(['apply', '--bundle', bundle, '--root', root, ...SKIP, '--drain', '5', '--full'], root, env);
    assert.is(ok.code, 0, ok.err);
    assert.match(ok.err, /drain: .*drain = 1[\s\S]*undrain: .*drain = 0/);
  } finally {
    clearInterval(watch);
  }
  assert.is(fs.readFileSync(drainFile, 'utf8'), '0\n');
});

test('drain prepends the active BGP tenant\'s routes three times; the standby already does', () => {
  const s = { bgp: { asn: 64512, neighbors: { '10.1.0.1': {} }, advertise: ['192.168.0.0/29'] }, ha: { role: 'active' } } as unknown as TenantSummary;
  assert.equal(bgpDrainLines('contoso', s, true), ['route-map s2sgw-contoso-out4 permit 10', 'set as-path prepend 64512 64512 64512', 'exit']);
  assert.equal(bgpDrainLines('contoso', s, false), ['route-map s2sgw-contoso-out4 permit 10', 'no set as-path prepend', 'exit']);
  assert.equal(bgpDrainLines('contoso', { ...s, ha: { role: 'standby' } } as unknown as TenantSummary, true), []);
});

test.run();
