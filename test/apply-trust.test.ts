// apply on a real (sandboxed) host refuses, before any change, a bundle for another gateway and, when the host trusts
// signers, an unsigned, foreign-signed or tampered bundle; every apply, confirm and rollback leaves an audit record.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES } from './helpers';
import { FIXTURE_ENV, fingerprint, fixtureBundle, openSandbox, prepareFixtureHost, Sandbox } from '../src/apply/sandbox';
import { command as applyCmd } from '../src/commands/apply';
import { command as confirmCmd } from '../src/commands/confirm';
import { command as rollbackCmd } from '../src/commands/rollback';
import { command as signCmd } from '../src/commands/sign';
import type { Command } from '../src/commands/common';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-trust-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

/** A fixture bundle for `gateway`, its manifest recording a source commit (as build writes it: before the tenants). */
function bundle(v: string, name: string, gateway = 'gw1'): string {
  const out = path.join(tmp, name);
  fixtureBundle(path.join(FIXTURES, 'apply', v), out);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  const { compiler, tenants, files, gatewayDigest } = m;
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ compiler, gateway, source: { commit: COMMIT, dirty: false }, gatewayDigest, tenants, files }, null, 2) + '\n');
  return out;
}

function keygen(name: string): string {
  const k = path.join(tmp, name);
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', k], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  return k;
}
const trusted = keygen('ci-key');
const stranger = keygen('other-key');

let sb: Sandbox;
const env = { ...process.env, ...FIXTURE_ENV, S2SGW_FAULTS: '', SUDO_USER: 'alice', S2SGW_ACTOR: '', GITHUB_ACTOR: '' };
async function cmd(c: Command, values: Record<string, unknown>, extraEnv: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const host = c === signCmd ? {} : { root: sb.root, netns: sb.ns, vici: sb.vici, skip: ['links,vrf,frr'] };
  const code = await c.run({ values: { ...host, ...values }, positionals: [] }, { out: (s) => (out += s), err: (s) => (err += s), color: false, env: { ...env, ...extraEnv }, cwd: tmp });
  return { code, out, err };
}
const audit = () =>
  fs
    .readFileSync(path.join(sb.root, 'var/log/s2sgw/audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const recorded = () => path.join(sb.root, 'var/lib/s2sgw/gateway');

test.before(async () => {
  sb = await openSandbox({ frr: false });
  prepareFixtureHost(sb);
});
test.after(async () => {
  await sb?.close();
});

test('a first apply takes the bundle for gateway --gateway names only; then the host records its name', async () => {
  const before = fingerprint(sb);
  const b1 = bundle('v1', 'v1');
  for (const dry of [true, false]) {
    const r = await cmd(applyCmd, { bundle: b1, gateway: 'gw2', 'dry-run': dry });
    assert.is(r.code, 1, r.err);
    assert.match(r.err, /step gateway: the bundle in .*\/v1 was built for gateway gw1, but this host is gw2 \(from --gateway\); refused, nothing was changed/);
  }
  assert.equal(fingerprint(sb), before);
  assert.not.ok(fs.existsSync(recorded()));
  const ok = await cmd(applyCmd, { bundle: b1, gateway: 'gw1' });
  assert.is(ok.code, 0, ok.err);
  // No trusted signers: the unsigned bundle is taken, with a warning; where it came from is printed.
  assert.match(ok.err, /warning: the bundle is not signed; accepted because this host trusts no signers \(\/etc\/s2sgw\/allowed_signers does not exist\)/);
  assert.match(ok.err, /bundle from gateway gw1, commit 0123456789ab, s2sgw fixture, unsigned/);
  assert.is(fs.readFileSync(recorded(), 'utf8'), 'gw1\n');
});

test("a bundle built for another gateway is refused before any change, naming both, by apply and by apply --dry-run", async () => {
  const before = fingerprint(sb);
  const other = bundle('v2', 'v2-gw2', 'gw2');
  for (const dry of [true, false]) {
    const r = await cmd(applyCmd, { bundle: other, 'dry-run': dry });
    assert.is(r.code, 1, r.err);
    assert.match(r.err, /step gateway: the bundle in .*\/v2-gw2 was built for gateway gw2, but this host is gw1 \(from \/var\/lib\/s2sgw\/gateway, recorded by the host's first apply\); refused, nothing was changed/);
  }
  const contra = await cmd(applyCmd, { bundle: other, gateway: 'gw2' });
  assert.match(contra.err, /--gateway gw2 contradicts this host's name gw1 .*to rename the host, write the new name to \/etc\/s2sgw\/gateway, or remove \/var\/lib\/s2sgw\/gateway/);
  // The operator's file wins over the record.
  fs.mkdirSync(path.join(sb.root, 'etc/s2sgw'), { recursive: true });
  fs.writeFileSync(path.join(sb.root, 'etc/s2sgw/gateway'), 'gw3\n');
  const etc = await cmd(applyCmd, { bundle: bundle('v2', 'v2-gw1') });
  assert.match(etc.err, /built for gateway gw1, but this host is gw3 \(from \/etc\/s2sgw\/gateway\)/);
  fs.rmSync(path.join(sb.root, 'etc/s2sgw/gateway'));
  assert.equal(fingerprint(sb), before);
  // Each refused apply (not the dry runs) is in the audit log with its reason.
  const refused = audit().filter((a) => a.outcome === 'refused');
  assert.is(refused.length, 4);
  assert.match(refused[1].error, /^gateway: the bundle .* was built for gateway gw2, but this host is gw1/);
  assert.equal([refused[1].gateway, refused[1].bundle, refused[1].release], ['gw2', other, null]);
});

test('with trusted signers: unsigned, foreign-signed, manifest-tampered and file-tampered bundles are refused; a signed one is applied', async () => {
  fs.writeFileSync(path.join(sb.root, 'etc/s2sgw/allowed_signers'), `ci@example.com namespaces="s2sgw-bundle" ${fs.readFileSync(trusted + '.pub', 'utf8')}`);
  const before = fingerprint(sb);
  const expectRefused = async (b: string, re: RegExp) => {
    for (const dry of [true, false]) {
      const r = await cmd(applyCmd, { bundle: b, 'dry-run': dry });
      assert.is(r.code, 1, r.err);
      assert.match(r.err, re);
    }
    assert.equal(fingerprint(sb), before);
  };
  const unsigned = bundle('v2', 'unsigned');
  await expectRefused(unsigned, /step signature: the bundle in .*\/unsigned is not signed \(no manifest\.json\.sig\), and this host accepts only bundles signed by a key in \/etc\/s2sgw\/allowed_signers; refused, nothing was changed/);

  const foreign = bundle('v2', 'foreign');
  assert.is((await cmd(signCmd, { bundle: foreign, key: stranger })).code, 0);
  await expectRefused(foreign, /step signature: signed by ED25519 SHA256:\S+, a key \/.*etc\/s2sgw\/allowed_signers does not trust; refused/);

  // The manifest changed after signing (a file and its sha256 both swapped: verify alone would pass it).
  const tampered = bundle('v2', 'tampered');
  assert.is((await cmd(signCmd, { bundle: tampered, key: trusted })).code, 0);
  const tc = path.join(tampered, 'tc/s2sgw.tc');
  fs.appendFileSync(tc, '# tampered\n');
  const m = fs.readFileSync(path.join(tampered, 'manifest.json'), 'utf8');
  const sha = require('node:crypto').createHash('sha256').update(fs.readFileSync(tc)).digest('hex');
  fs.writeFileSync(path.join(tampered, 'manifest.json'), m.replace(/("tc\/s2sgw\.tc": \{\s*"sha256": ")[0-9a-f]+/, `$1${sha}`));
  await expectRefused(tampered, /step signature: the signature by ci@example\.com \(ED25519 SHA256:\S+\) does not match manifest\.json: the manifest changed after it was signed/);

  // A file changed after signing, the manifest left alone: its sha256 no longer matches the signed manifest.
  const fileTampered = bundle('v2', 'file-tampered');
  assert.is((await cmd(signCmd, { bundle: fileTampered, key: trusted })).code, 0);
  fs.appendFileSync(path.join(fileTampered, 'tc/s2sgw.tc'), '# tampered\n');
  await expectRefused(fileTampered, /step verify: the bundle in .* does not match its manifest[\s\S]*tc\/s2sgw\.tc: sha256 .* does not match the manifest's/);

  const signed = bundle('v2', 'signed');
  assert.is((await cmd(signCmd, { bundle: signed, key: trusted })).code, 0);
  const dry = await cmd(applyCmd, { bundle: signed, 'dry-run': true });
  assert.is(dry.code, 0, dry.err);
  assert.match(dry.out, /bundle from gateway gw1, commit 0123456789ab, s2sgw fixture, signed by ci@example\.com \(ED25519 SHA256:\S+\)/);
  const ok = await cmd(applyCmd, { bundle: signed, actor: 'deploy job 42' });
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.err, /signed by ci@example\.com/);
  assert.not.equal(fingerprint(sb).current, before.current);
  const last = audit().at(-1);
  assert.equal(
    { command: last.command, user: last.user, actor: last.actor, gateway: last.gateway, commit: last.commit, dirty: last.dirty, signer: last.signer, outcome: last.outcome, bundle: last.bundle },
    { command: 'apply', user: 'alice', actor: 'deploy job 42', gateway: 'gw1', commit: COMMIT, dirty: false, signer: 'ci@example.com', outcome: 'ok', bundle: signed },
  );
  assert.is(last.release, fingerprint(sb).current);
  assert.match(last.key, /^ED25519 SHA256:/);
  assert.type(last.durationMs, 'number');
  // Refusals were recorded too, each with its reason; no dry run was.
  const refusals = audit().filter((a) => a.outcome === 'refused' && a.error.startsWith('signature'));
  assert.is(refusals.length, 3);
  assert.ok(audit().every((a) => a.command !== 'apply' || a.bundle));
});

test('confirm and rollback are audited with the release they kept or went back to, its commit and signer', async () => {
  const signed = bundle('v1', 'signed-v1');
  assert.is((await cmd(signCmd, { bundle: signed, key: trusted })).code, 0);
  const a = await cmd(applyCmd, { bundle: signed, confirm: '120' }, { GITHUB_ACTOR: 'octocat', GITHUB_RUN_ID: '77', GITHUB_REPOSITORY: 'acme/gateways' });
  assert.is(a.code, 0, a.err);
  const applied = audit().at(-1);
  assert.is(applied.actor, 'octocat (GitHub Actions acme/gateways run 77)');
  const c = await cmd(confirmCmd, {});
  assert.is(c.code, 0, c.err);
  const confirmed = audit().at(-1);
  assert.equal({ command: confirmed.command, release: confirmed.release, signer: confirmed.signer, commit: confirmed.commit, outcome: confirmed.outcome, user: confirmed.user }, { command: 'confirm', release: applied.release, signer: 'ci@example.com', commit: COMMIT, outcome: 'ok', user: 'alice' });
  const previous = audit().filter((x) => x.command === 'apply' && x.outcome === 'ok').at(-2);
  const r = await cmd(rollbackCmd, {}, { SUDO_USER: '', USER: 'bob' });
  assert.is(r.code, 0, r.err);
  const rolled = audit().at(-1);
  assert.equal({ command: rolled.command, release: rolled.release, signer: rolled.signer, gateway: rolled.gateway, commit: rolled.commit, outcome: rolled.outcome, user: rolled.user }, { command: 'rollback', release: previous.release, signer: 'ci@example.com', gateway: 'gw1', commit: COMMIT, outcome: 'ok', user: 'bob' });
  // A confirm with nothing to confirm is recorded as failed.
  const none = await cmd(confirmCmd, {});
  assert.is(none.code, 1);
  assert.is(audit().at(-1).outcome, 'failed');
  // The confirm timer's rollback is audited too, as the timer.
  const t = await cmd(applyCmd, { bundle: signed, confirm: '1' });
  assert.is(t.code, 0, t.err);
  const end = Date.now() + 60_000;
  while (Date.now() < end && audit().at(-1).command !== 'confirm-timeout') await new Promise((res) => setTimeout(res, 200));
  const timed = audit().at(-1);
  assert.equal({ command: timed.command, outcome: timed.outcome, release: timed.release }, { command: 'confirm-timeout', outcome: 'ok', release: previous.release });
  assert.match(timed.actor, /^confirm timer: no `s2sgw confirm` by \d{4}-/);
  // The log holds no secret.
  const text = fs.readFileSync(path.join(sb.root, 'var/log/s2sgw/audit.log'), 'utf8');
  assert.not.ok(text.includes(FIXTURE_ENV.CONTOSO_PSK));
  assert.is(fs.statSync(path.join(sb.root, 'var/log/s2sgw/audit.log')).mode & 0o777, 0o640);
});

test.run();
