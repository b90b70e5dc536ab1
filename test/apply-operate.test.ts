// Day-2 commands on a host with real charon and FRR: status exit codes and scope, metrics that promtool accepts,
// releases, rollback through the history and to any kept release, pruning, and recover after a crash or at boot.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { FIXTURE_ENV, fingerprint, fixtureBundle, openSandbox, prepareFixtureHost, Sandbox } from '../src/apply/sandbox';
import { command as applyCmd } from '../src/commands/apply';
import { command as rollbackCmd } from '../src/commands/rollback';
import { command as statusCmd } from '../src/commands/status';
import { command as releasesCmd } from '../src/commands/releases';
import { command as metricsCmd } from '../src/commands/metrics';
import { command as recoverCmd } from '../src/commands/recover';
import type { Command } from '../src/commands/common';
import { ViciClient } from '../src/vici';
import { degradedTenant, TenantStatus } from '../src/apply/status';
import { parseTcDrops, renderMetrics } from '../src/apply/metrics';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-operate-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const bundles = ['v1', 'v2', 'v3'].map((v) => {
  const b = path.join(tmp, v);
  fixtureBundle(path.join(FIXTURES, 'apply', v), b);
  return b;
});
const [b1, b2, b3] = bundles;

let sb: Sandbox;
async function cmd(c: Command, values: Record<string, unknown>, env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await c.run(
    { values: { root: sb.root, netns: sb.ns, vici: sb.vici, 'frr-pathspace': sb.pathspace, skip: ['links,vrf'], ...values }, positionals: [] },
    { out: (s) => (out += s), err: (s) => (err += s), color: false, env: { ...process.env, ...FIXTURE_ENV, S2SGW_FAULTS: '', ...env }, cwd: tmp },
  );
  return { code, out, err };
}
const ok = async (c: Command, values: Record<string, unknown>) => {
  const r = await cmd(c, values);
  assert.is(r.code, 0, `${c.name}: ${r.err}`);
  return r;
};
const releases = async () => JSON.parse((await ok(releasesCmd, { format: 'json' })).out).releases as Array<{ release: string; current: boolean; previous: boolean; unconfirmed: boolean; applied: string | null }>;
const stateFile = () => JSON.parse(fs.readFileSync(path.join(sb.root, 'var/lib/s2sgw/state.json'), 'utf8')) as { current: string; previous: string | null; history: Array<{ release: string }> };

test.before(async () => {
  sb = await openSandbox({ frr: true });
  prepareFixtureHost(sb);
});
test.after(async () => {
  await sb?.close();
});

test('recover with no state at all does nothing and writes nothing', async () => {
  const before = spawnSync('find', [sb.root, '-printf', '%P %y %m\n']).stdout.toString();
  const r = await cmd(recoverCmd, {});
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /nothing to recover/);
  assert.is(spawnSync('find', [sb.root, '-printf', '%P %y %m\n']).stdout.toString(), before);
});

const fp: Record<string, Record<string, string>> = {};

test('status: 0 when healthy, 3 when a connection was unloaded by hand, 1 for a tenant the release does not hold; --tenant scopes it', async () => {
  await ok(applyCmd, { bundle: b1 });
  fp.v1 = fingerprint(sb);
  const healthy = await cmd(statusCmd, { format: 'json' });
  assert.is(healthy.code, 0, healthy.out);
  const s = JSON.parse(healthy.out);
  assert.is(s.version, 1);
  assert.is(s.health, 'ok');
  assert.equal(s.degraded, []);

  const vici = await ViciClient.connect(sb.vici.replace(/^unix:\/\//, ''));
  try {
    await vici.unloadConn('IfWe2');
  } finally {
    await vici.close();
  }
  const text = await cmd(statusCmd, {});
  assert.is(text.code, 3, text.out);
  assert.match(text.out, /connection IfWe2: NOT LOADED/);
  assert.match(text.out, /degraded: woodgrove: connection IfWe2 is not loaded in charon\n\nhealth: degraded\n$/);
  const json = JSON.parse((await cmd(statusCmd, { format: 'json' })).out);
  assert.equal(json.degraded, [{ tenant: 'woodgrove', connection: 'IfWe2', what: 'connection-not-loaded', message: 'connection IfWe2 is not loaded in charon' }]);

  // Scoped to the other tenant, the host is healthy.
  const contoso = await cmd(statusCmd, { tenant: ['contoso'], format: 'json' });
  assert.is(contoso.code, 0, contoso.out);
  assert.equal(JSON.parse(contoso.out).tenants.map((t: { tenant: string }) => t.tenant), ['contoso']);
  const wg = await cmd(statusCmd, { tenant: ['woodgrove'] });
  assert.is(wg.code, 3);
  const unknown = await cmd(statusCmd, { tenant: ['fabrikam'] });
  assert.is(unknown.code, 1);
  assert.match(unknown.err, /^s2sgw status: tenant fabrikam is not in the current release [0-9a-f]{12}\n$/);

  // A full re-apply of the same bundle loads it again.
  await ok(applyCmd, { bundle: b1, full: true });
  assert.is((await cmd(statusCmd, {})).code, 0);
});

test('degradedTenant: a missing VRF, a VRF on another table, an SA missing for connect: always, a BGP session down', () => {
  const t: TenantStatus = {
    tenant: 'contoso',
    vrf: { exists: false, table: null, expectedTable: 1001 },
    interfaces: [],
    connections: [
      { name: 'IfCe1', loaded: true, connect: 'always', sa: { state: 'CONNECTING', bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, children: [] } },
      { name: 'IfCe2', loaded: true, connect: 'on-demand', sa: null },
      { name: 'IfCe3', loaded: true, connect: 'always', sa: null },
    ],
    bgp: [{ neighbor: '10.1.0.1', state: 'Active' }],
  };
  const all = { skipped: () => false };
  assert.equal(
    degradedTenant(t, ['10.1.0.1', '10.1.0.2'], all).map((d) => `${d.what}: ${d.message}`),
    [
      'vrf-missing: VRF contoso is missing',
      'sa-missing: connection IfCe1 (connect: always) has IKE SA CONNECTING and no installed CHILD SA',
      'sa-missing: connection IfCe3 (connect: always) has no SA',
      'bgp-down: BGP session to 10.1.0.1 is Active',
      'bgp-down: BGP session to 10.1.0.2 is not configured in FRR',
    ],
  );
  assert.equal(
    degradedTenant({ ...t, vrf: { exists: true, table: 1005, expectedTable: 1001 }, connections: [], bgp: [] }, [], all).map((d) => d.what),
    ['vrf-table'],
  );
  // What the host cannot run (--skip) is not judged.
  assert.equal(degradedTenant(t, ['10.1.0.1'], { skipped: () => true }), []);
});

function promtool(text: string): { code: number; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text });
  if (r.error) throw new Error(`promtool: ${r.error.message} (Debian package prometheus; scripts/setup.sh installs it)`);
  return { code: r.status ?? 1, out: r.stdout.toString() + r.stderr.toString() };
}

test('metrics: promtool accepts the real output; --output writes the file by rename; each connection is loaded', async () => {
  const m = await ok(metricsCmd, {});
  const check = promtool(m.out);
  assert.is(check.code, 0, check.out + m.out);
  assert.match(m.out, /^s2sgw_connection_loaded\{tenant="woodgrove",connection="IfWe2"\} 1$/m);
  assert.match(m.out, /^s2sgw_release_info\{release="[0-9a-f]{64}",commit=""\} 1$/m);
  assert.match(m.out, /^s2sgw_last_apply_success 1$/m);
  assert.match(m.out, /^# TYPE s2sgw_connection_receive_bytes_total counter$/m);
  const file = path.join(tmp, 'textfile', 's2sgw.prom');
  fs.mkdirSync(path.dirname(file));
  await ok(metricsCmd, { output: file });
  assert.equal(fs.readdirSync(path.dirname(file)), ['s2sgw.prom']);
  assert.is(fs.readFileSync(file, 'utf8').replace(/^s2sgw_connection_ike_sa_established_seconds.*\n/gm, ''), m.out.replace(/^s2sgw_connection_ike_sa_established_seconds.*\n/gm, ''));
  const bad = await cmd(metricsCmd, { output: path.join(tmp, 'no-such-folder', 's2sgw.prom') });
  assert.is(bad.code, 1);
  assert.match(bad.err, /^s2sgw metrics: cannot write .*no-such-folder/);
});

test('renderMetrics: tunnel up, bytes and packets, rate-limit drops, last apply failed; promtool accepts it', () => {
  const text = renderMetrics({
    status: {
      version: 1,
      health: 'ok',
      release: 'a'.repeat(64),
      previous: null,
      tenants: [
        {
          tenant: 'contoso',
          vrf: { exists: true, table: 1001, expectedTable: 1001 },
          interfaces: [],
          connections: [{ name: 'IfCe1', loaded: true, sa: { state: 'ESTABLISHED', establishedSeconds: 7, bytesIn: 336, bytesOut: 448, packetsIn: 4, packetsOut: 5, children: [{ name: 'IfCe1', state: 'INSTALLED', bytesIn: 336, bytesOut: 448, packetsIn: 4, packetsOut: 5 }] } }],
          bgp: [{ neighbor: '10.1.0.1', state: 'Established', prefixesReceived: 3 }],
        },
      ],
      degraded: [],
      problems: [],
    },
    commit: '0123456789abcdef0123456789abcdef01234567',
    unconfirmed: false,
    lastApply: { result: 'failure', at: '2026-01-02T03:04:05.000Z', durationSeconds: 1.5, release: 'a'.repeat(64), step: 'check' },
    tc: parseTcDrops(JSON.stringify([{ kind: 'tbf', dev: 'IfCe1', drops: 12 }, { kind: 'ingress', dev: 'IfCe1', drops: 3 }, { kind: 'fq_codel', dev: 'eth0', drops: 99 }])),
  });
  assert.is(promtool(text).code, 0, promtool(text).out);
  for (const line of [
    's2sgw_connection_up{tenant="contoso",connection="IfCe1"} 1',
    's2sgw_connection_receive_packets_total{tenant="contoso",connection="IfCe1"} 4',
    's2sgw_connection_transmit_bytes_total{tenant="contoso",connection="IfCe1"} 448',
    's2sgw_connection_transmit_rate_limit_dropped_packets_total{tenant="contoso",connection="IfCe1"} 12',
    's2sgw_connection_receive_rate_limit_dropped_packets_total{tenant="contoso",connection="IfCe1"} 3',
    's2sgw_tenant_bgp_sessions_established{tenant="contoso"} 1',
    's2sgw_tenant_bgp_prefixes_received{tenant="contoso"} 3',
    `s2sgw_release_info{release="${'a'.repeat(64)}",commit="0123456789abcdef0123456789abcdef01234567"} 1`,
    's2sgw_last_apply_success 0',
    's2sgw_last_apply_timestamp_seconds 1767323045',
    's2sgw_last_apply_duration_seconds 1.5',
  ])
    assert.ok(text.split('\n').includes(line), `${line}\n---\n${text}`);
});

test('releases and rollback: a plain rollback goes back through the history (never forth again), --to reaches any kept release', async () => {
  await ok(applyCmd, { bundle: b2 });
  fp.v2 = fingerprint(sb);
  await ok(applyCmd, { bundle: b3 });
  fp.v3 = fingerprint(sb);
  const [r1, r2, r3] = [fp.v1.current, fp.v2.current, fp.v3.current];
  let list = await releases();
  assert.equal(list.map((r) => [r.release, r.current, r.previous]), [[r3, true, false], [r2, false, true], [r1, false, false]]);
  const text = (await ok(releasesCmd, {})).out;
  assert.match(text, new RegExp(`^RELEASE +STATE +APPLIED +STAGED +GATEWAY +COMMIT\\n${r3.slice(0, 12)}  current +\\S+ +\\S+ +gw1 +-\\n${r2.slice(0, 12)}  previous `));

  const first = await ok(rollbackCmd, {});
  assert.match(first.err, new RegExp(`switching ${r3.slice(0, 12)} -> ${r2.slice(0, 12)}`));
  assert.equal(fingerprint(sb), fp.v2);
  // The second rollback goes on to v1: it does not re-apply v3.
  await ok(rollbackCmd, {});
  assert.equal(fingerprint(sb), fp.v1);
  assert.equal(stateFile().history.slice(-1).map((h) => h.release), [r1]);
  // Any kept release, by a prefix of its id.
  await ok(rollbackCmd, { to: r3.slice(0, 12) });
  assert.equal(fingerprint(sb), fp.v3);
  assert.is(stateFile().previous, r1);
  list = await releases();
  assert.equal(list.find((r) => r.current)?.release, r3);
  assert.equal(list.find((r) => r.previous)?.release, r1);

  const same = await cmd(rollbackCmd, { to: r3 });
  assert.is(same.code, 1);
  assert.match(same.err, /release [0-9a-f]{12} is already the current one/);
  const none = await cmd(rollbackCmd, { to: 'abcdef012345' });
  assert.is(none.code, 1);
  assert.match(none.err, /no release abcdef012345 on this host \(`s2sgw releases` lists them\)/);
  let usage = '';
  try {
    await cmd(rollbackCmd, { to: '../etc' });
  } catch (e) {
    usage = (e as Error).message;
  }
  assert.match(usage, /--to takes a release id/);
});

test('apply --keep N prunes old releases, never the current, the previous or an unconfirmed one', async () => {
  const [r1, r2, r3] = [fp.v1.current, fp.v2.current, fp.v3.current];
  // Host on v3 (previous v1); v2 is the oldest. Applying v2 with --keep 1: v2 current, v3 previous, v1 goes.
  await ok(applyCmd, { bundle: b2, keep: '1' });
  assert.equal((await releases()).map((r) => r.release).sort(), [r2, r3].sort());
  assert.not.ok(stateFile().history.some((h) => h.release === r1), 'the history names only kept releases');
  // The pruned release leaves its name at once (a rename); a detached rm deletes it.
  const rel = path.join(sb.root, 'var/lib/s2sgw/releases');
  assert.not.ok(fs.existsSync(path.join(rel, r1)));
  const trashed = () => fs.readdirSync(rel).filter((n) => n.startsWith('.trash-'));
  for (let i = 0; i < 100 && trashed().length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(trashed(), [], 'the discarded release is deleted');
  // An unconfirmed release is kept too, and so is the previous one it returns to.
  await ok(applyCmd, { bundle: b1, confirm: '600', keep: '1' });
  assert.equal((await releases()).map((r) => [r.release, r.unconfirmed]).sort(), [[r1, true], [r2, false]].sort());
  assert.equal(fingerprint(sb), fp.v1);
  const bad = async (keep: string) => {
    try {
      await cmd(applyCmd, { bundle: b1, keep });
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };
  assert.match(await bad('0'), /--keep takes a number of releases \(at least 1\), got 0/);
});

test('recover: a release never confirmed whose timer is gone (a reboot) is rolled back; a second recover does nothing', async () => {
  // The host is on v1 waiting for a confirm (previous test). A reboot: its timer is gone.
  const pendingFile = path.join(sb.root, 'var/lib/s2sgw/pending-confirm.json');
  const pending = JSON.parse(fs.readFileSync(pendingFile, 'utf8')) as { timerPid: number };
  process.kill(pending.timerPid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  const r = await cmd(recoverCmd, { reload: true });
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /release [0-9a-f]{12} was never confirmed \(its confirm timer is gone\): rolling back/);
  assert.not.ok(fs.existsSync(pendingFile));
  assert.equal(fingerprint(sb), fp.v2);
  const again = await cmd(recoverCmd, {});
  assert.is(again.code, 0);
  assert.match(again.err, /^nothing to recover\n$/);
});

test('recover: a confirm still in time with its timer running is left alone', async () => {
  await ok(applyCmd, { bundle: b1, confirm: '600' });
  const r = await cmd(recoverCmd, {});
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /waits for `s2sgw confirm` until .*; its timer runs: left alone/);
  assert.equal(fingerprint(sb), fp.v1);
  // Rolled back by hand: the pending confirm and its timer go with it.
  await ok(rollbackCmd, {});
  assert.equal(fingerprint(sb), fp.v2);
});

test.run();
