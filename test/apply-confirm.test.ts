// The apply, confirm, rollback and status commands: --confirm rolls back by a detached timer unless confirmed; status reports per tenant.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { FIXTURE_ENV, fingerprint, fixtureBundle, openSandbox, prepareFixtureHost, Sandbox } from '../src/apply/sandbox';
import { command as applyCmd } from '../src/commands/apply';
import { command as confirmCmd } from '../src/commands/confirm';
import { command as rollbackCmd } from '../src/commands/rollback';
import { command as statusCmd } from '../src/commands/status';
import { type Command, parse } from '../src/commands/common';
import { parseSas } from '../src/apply/status';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-confirm-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const b1 = path.join(tmp, 'v1');
const b2 = path.join(tmp, 'v2');
fixtureBundle(path.join(FIXTURES, 'apply', 'v1'), b1);
fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), b2);

let sb: Sandbox;
async function cmd(c: Command, values: Record<string, unknown>) {
  let out = '';
  let err = '';
  const code = await c.run(
    { values: { root: sb.root, netns: sb.ns, vici: sb.vici, 'frr-pathspace': sb.pathspace, skip: ['links,vrf'], ...values }, positionals: [] },
    { out: (s) => (out += s), err: (s) => (err += s), color: false, env: { ...process.env, ...FIXTURE_ENV, S2SGW_FAULTS: '' }, cwd: tmp },
  );
  return { code, out, err };
}
const pendingFile = () => path.join(sb.root, 'var/lib/s2sgw/pending-confirm.json');
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

test.before(async () => {
  sb = await openSandbox({ frr: true });
  prepareFixtureHost(sb);
});
test.after(async () => {
  await sb?.close();
});

let v1: Record<string, string>;

test('status before any apply, then per tenant after one (text and json)', async () => {
  const empty = await cmd(statusCmd, { format: 'json' });
  assert.is(empty.code, 0);
  assert.is(JSON.parse(empty.out).release, null);
  const a = await cmd(applyCmd, { bundle: b1 });
  assert.is(a.code, 0, a.err);
  v1 = fingerprint(sb);
  const s = JSON.parse((await cmd(statusCmd, { format: 'json' })).out);
  assert.is(s.release, v1.current);
  assert.equal(s.tenants.map((t: { tenant: string }) => t.tenant), ['contoso', 'woodgrove']);
  const wg = s.tenants[1];
  assert.equal(wg.connections.map((c: { name: string; loaded: boolean }) => [c.name, c.loaded]), [['IfWe1', true], ['IfWe2', true]]);
  // This kernel has no VRF devices: status says the VRF is missing rather than failing.
  assert.is(wg.vrf.exists, false);
  assert.is(wg.vrf.expectedTable, 1002);
  const text = (await cmd(statusCmd, {})).out;
  assert.match(text, /^release: [0-9a-f]{64}/);
  assert.match(text, /tenant woodgrove\n {2}vrf woodgrove: MISSING \(expected table 1002\)\n(.|\n)* {2}connection IfWe2: loaded, no SA/);
});

test('parseSas reads state, SPIs and bytes from swanctl --list-sas', () => {
  const sas = parseSas(
    [
      'IfCe1: #1, ESTABLISHED, IKEv2, 1a2b3c4d5e6f7a8b_i* 0102030405060708_r',
      '  local  \'10.99.0.1\' @ 10.99.0.1[500]',
      '  established 42s ago, rekeying in 14000s',
      '  IfCe1: #1, reqid 1, INSTALLED, TUNNEL, ESP:AES_GCM_16-256',
      '    installed 42s ago, rekeying in 3000s, expires in 3600s',
      '    in  c1a2b3c4,    336 bytes,     4 packets,     1s ago',
      '    out c5d6e7f8,    448 bytes,     5 packets,     1s ago',
      '    local  0.0.0.0/0',
    ].join('\n'),
  );
  assert.equal(sas.get('IfCe1'), {
    state: 'ESTABLISHED',
    establishedSeconds: 42,
    bytesIn: 336,
    bytesOut: 448,
    packetsIn: 4,
    packetsOut: 5,
    children: [{ name: 'IfCe1', state: 'INSTALLED', spiIn: 'c1a2b3c4', spiOut: 'c5d6e7f8', bytesIn: 336, bytesOut: 448, packetsIn: 4, packetsOut: 5 }],
  });
});

test('apply --confirm: without `s2sgw confirm` the detached timer rolls the host back at the deadline', async () => {
  const a = await cmd(applyCmd, { bundle: b2, confirm: '2' });
  assert.is(a.code, 0, a.err);
  assert.match(a.err, /run `s2sgw confirm` within 2 s/);
  assert.ok(fs.existsSync(pendingFile()));
  assert.is(fingerprint(sb).charon, 'IfCe1,IfWe1');
  const s = JSON.parse((await cmd(statusCmd, { format: 'json' })).out);
  assert.ok(s.pendingConfirm?.deadline);
  // Another apply is refused while a confirm is pending.
  const other = await cmd(applyCmd, { bundle: b1 });
  assert.is(other.code, 1);
  assert.match(other.err, /waits for `s2sgw confirm`/);
  assert.ok(await until(() => !fs.existsSync(pendingFile()), 20000), 'the timer acted');
  assert.ok(await until(() => fingerprint(sb).charon === 'IfCe1,IfWe1,IfWe2', 10000));
  assert.equal(fingerprint(sb), v1);
  assert.match(fs.readFileSync(path.join(sb.root, 'var/log/s2sgw/confirm-timer.log'), 'utf8'), /no confirm for release .*: rolling back/);
  const late = await cmd(confirmCmd, {});
  assert.is(late.code, 1);
  assert.match(late.err, /no apply is waiting for a confirm/);
});

test('apply --confirm then `s2sgw confirm`: the release stays past the deadline and the timer is gone', async () => {
  const a = await cmd(applyCmd, { bundle: b2, confirm: '2' });
  assert.is(a.code, 0, a.err);
  const pid = JSON.parse(fs.readFileSync(pendingFile(), 'utf8')).timerPid as number;
  assert.ok(fs.existsSync(`/proc/${pid}`));
  const c = await cmd(confirmCmd, {});
  assert.is(c.code, 0, c.err);
  assert.not.ok(fs.existsSync(pendingFile()));
  await new Promise((r) => setTimeout(r, 3000));
  assert.is(fingerprint(sb).charon, 'IfCe1,IfWe1');
  assert.not.ok(fs.existsSync(`/proc/${pid}`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('confirm-timer'));
  // rollback goes back to v1.
  const r = await cmd(rollbackCmd, {});
  assert.is(r.code, 0, r.err);
  assert.equal(fingerprint(sb), v1);
});

test('usage: apply needs --bundle, --confirm takes seconds, --skip names steps', async () => {
  const rejects = async (values: Record<string, unknown>, re: RegExp) => {
    try {
      await cmd(applyCmd, values);
    } catch (e) {
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`expected a usage error matching ${re}`);
  };
  assert.throws(() => parse(applyCmd, ['--dry-run']), /missing required option --bundle DIR/);
  await rejects({ bundle: b1, confirm: 'soon' }, /--confirm takes a number of seconds/);
  await rejects({ bundle: b1, skip: ['bogus'] }, /--skip: unknown step bogus/);
});

test.run();
