// `apply --peer-first SECONDS` (and its old spelling S2SGW_MBB_PEER_MS): parsed and refused as usage errors, and
// carried to the strongSwan step's make-before-break of a rekey-class change (test/apply-mbb.test.ts runs that
// against two charons). Here: a real apply of a release, then dry runs of a proposal change, which say the wait.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, cli } from './helpers';
import { FIXTURE_ENV, fixtureBundle, openSandbox, prepareFixtureHost, Sandbox } from '../src/apply/sandbox';
import { command as applyCmd } from '../src/commands/apply';
import { peerFirstMs, PEER_FIRST_MAX_SECONDS } from '../src/apply/options';
import { UsageError } from '../src/util/usage';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-peer-first-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** The v1 fixture with Contoso NY's child trapping (`connect: on-demand`), and optionally new proposals. */
function variant(name: string, rekey: boolean): string {
  const src = path.join(tmp, `${name}-src`);
  fs.cpSync(path.join(FIXTURES, 'apply', 'v1'), src, { recursive: true });
  const conf = path.join(src, 'swanctl/conf.d/contoso.conf');
  let text = fs.readFileSync(conf, 'utf8').replace('start_action = none', 'start_action = trap');
  if (rekey) text = text.replace('    local_addrs', '    proposals = aes128gcm16-prfsha256-ecp256\n    local_addrs').replace('        start_action = trap', '        esp_proposals = aes128gcm16-ecp256\n        start_action = trap');
  fs.writeFileSync(conf, text);
  if (rekey) {
    const f = path.join(src, 'tenants.json');
    const t = JSON.parse(fs.readFileSync(f, 'utf8'));
    t.contoso.connections.IfCe1.ike = { proposals: ['aes128gcm16-prfsha256-ecp256'], lifetime: '8h' };
    t.contoso.connections.IfCe1.esp = { proposals: ['aes128gcm16-ecp256'], lifetime: '1h' };
    fs.writeFileSync(f, JSON.stringify(t));
  }
  const out = path.join(tmp, name);
  fixtureBundle(src, out);
  return out;
}
const base = variant('base', false);
const rekeyed = variant('rekeyed', true);

test('peerFirstMs: --peer-first in seconds, else S2SGW_MBB_PEER_MS in ms, else 0; anything else is a usage error', () => {
  assert.is(peerFirstMs({}, {}), 0);
  assert.is(peerFirstMs({ 'peer-first': '0' }, {}), 0);
  assert.is(peerFirstMs({ 'peer-first': '30' }, {}), 30_000);
  assert.is(peerFirstMs({ 'peer-first': String(PEER_FIRST_MAX_SECONDS) }, {}), PEER_FIRST_MAX_SECONDS * 1000);
  assert.is(peerFirstMs({}, { S2SGW_MBB_PEER_MS: '30000' }), 30_000);
  assert.is(peerFirstMs({}, { S2SGW_MBB_PEER_MS: '' }), 0, 'empty: unset');
  assert.is(peerFirstMs({ 'peer-first': '0' }, { S2SGW_MBB_PEER_MS: '30000' }), 0, 'the option wins over the old spelling');
  for (const v of ['soon', '-1', '1.5', '30s', '', String(PEER_FIRST_MAX_SECONDS + 1), '1e3'])
    assert.throws(() => peerFirstMs({ 'peer-first': v }, {}), (e: unknown) => e instanceof UsageError && /--peer-first takes the seconds the peer has/.test((e as Error).message), v);
  for (const v of ['x', '-5', '2.5', String(PEER_FIRST_MAX_SECONDS * 1000 + 1)])
    assert.throws(() => peerFirstMs({}, { S2SGW_MBB_PEER_MS: v }), (e: unknown) => e instanceof UsageError && /S2SGW_MBB_PEER_MS \(the old spelling of --peer-first, in milliseconds\)/.test((e as Error).message), v);
});

test('s2sgw apply --peer-first with a bad value: usage error, exit 2, before anything is read', async () => {
  const r = await cli(['apply', '--bundle', path.join(tmp, 'none'), '--root', path.join(tmp, 'no-root'), '--peer-first', 'soon']);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /--peer-first takes the seconds the peer has to initiate a rekey-class change \(0 to 3600; 0: off\), got "soon"/);
  const e = await cli(['apply', '--bundle', path.join(tmp, 'none'), '--root', path.join(tmp, 'no-root')], undefined, { ...process.env, S2SGW_MBB_PEER_MS: '30s' });
  assert.is(e.code, 2, e.err);
  assert.match(e.err, /S2SGW_MBB_PEER_MS .* must be a whole number from 0 to 3600000, got "30s"/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'no-root')));
});

let sb: Sandbox;
async function apply(values: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await applyCmd.run(
    { values: { root: sb.root, netns: sb.ns, vici: sb.vici, skip: ['links,vrf,frr'], ...values }, positionals: [] },
    { out: (s) => (out += s), err: (s) => (err += s), color: false, env: { PATH: process.env.PATH, ...FIXTURE_ENV, ...env }, cwd: tmp },
  );
  return { code, out, err };
}

test('--peer-first reaches the strongSwan step: a dry run of a proposal change of an on-demand connection says the peer\'s turn', async () => {
  sb = await openSandbox({ frr: false });
  try {
    prepareFixtureHost(sb);
    const a = await apply({ bundle: base });
    assert.is(a.code, 0, a.err);
    const line = (s: number) => `  reload-strongswan: IfCe1: new proposals; if its IKE_SA is up: make-before-break, the peer given ${s} s to initiate its new connection (--peer-first)`;
    const d = await apply({ bundle: rekeyed, 'dry-run': true, 'peer-first': '20' });
    assert.is(d.code, 0, d.err);
    assert.ok(d.out.split('\n').includes(line(20)), d.out);
    // The old spelling, in milliseconds.
    const o = await apply({ bundle: rekeyed, 'dry-run': true }, { S2SGW_MBB_PEER_MS: '7000' });
    assert.ok(o.out.split('\n').includes(line(7)), o.out);
    // Off (the default, or 0): no peer's turn.
    for (const v of [{}, { 'peer-first': '0' }]) {
      const n = await apply({ bundle: rekeyed, 'dry-run': true, ...v });
      assert.is(n.code, 0, n.err);
      assert.not.match(n.out, /peer given/);
      assert.match(n.out, /vici --load-conn IfCe1/);
    }
  } finally {
    await sb.close();
  }
});

test.run();
