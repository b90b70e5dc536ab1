// apply with real charon, FRR and nft in a throwaway network namespace: verify, secrets, stage, switch, per-tenant reloads, dry-run, refusals.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, ROOT, compileDir } from './helpers';
import { writeTree } from '../src/bundle/write';
import { FIXTURE_ENV, FIXTURE_SCOPE, WOODGROVE_PSK, fingerprint, fixtureBundle, openSandbox, prepareFixtureHost, Sandbox } from '../src/apply/sandbox';
import { Runner, StepError, parseFaults } from '../src/apply/runner';
import { apply, describeError, rollback } from '../src/apply/engine';
import { contentOf, resolveSecrets, verifyBundle } from '../src/apply/release';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-apply-test-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const bundle = (v: string, name = v) => {
  const out = path.join(tmp, name);
  fixtureBundle(path.join(FIXTURES, 'apply', v), out);
  return out;
};
const SKIP = ['links', 'vrf'];

async function withHost(fn: (sb: Sandbox) => Promise<void>, frr = true): Promise<void> {
  const sb = await openSandbox({ frr });
  try {
    prepareFixtureHost(sb);
    await fn(sb);
  } finally {
    await sb.close();
  }
}

function run(sb: Sandbox, b: string, extra: { env?: NodeJS.ProcessEnv; dryRun?: boolean; full?: boolean } = {}) {
  const runner = new Runner(sb.runner({ skip: sb.pathspace ? SKIP : [...SKIP, 'frr'] }));
  runner.dryRun = !!extra.dryRun;
  const said: string[] = [];
  return apply(runner, { bundle: b, env: extra.env ?? FIXTURE_ENV, full: extra.full, say: (s) => said.push(s) }).then((out) => ({ out, runner, said: said.join('\n') }));
}

test('verify: a corrupted, an extra and a missing file are each refused, naming the file; so is a path that is not plain', () => {
  const b = bundle('v1', 'verify');
  assert.ok(verifyBundle(b).digest.match(/^[0-9a-f]{64}$/));
  fs.appendFileSync(path.join(b, 'frr/frr.conf'), '! tampered\n');
  fs.writeFileSync(path.join(b, 'extra.conf'), 'x\n');
  fs.rmSync(path.join(b, 'tc/s2sgw.tc'));
  const m = JSON.parse(fs.readFileSync(path.join(b, 'manifest.json'), 'utf8'));
  for (const p of ['../etc/passwd', 'a//b', 'sysctl/./x', '/abs']) m.files[p] = m.files['frr/frr.conf'];
  fs.writeFileSync(path.join(b, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  try {
    verifyBundle(b);
    assert.unreachable('verify should refuse');
  } catch (e) {
    assert.instance(e, StepError);
    const err = e as StepError;
    assert.is(err.step, 'verify');
    assert.match(err.tool!, /frr\/frr\.conf: sha256 .* does not match/);
    assert.match(err.tool!, /extra\.conf: not in the manifest/);
    assert.match(err.tool!, /tc\/s2sgw\.tc: listed in the manifest but missing/);
    for (const p of ['../etc/passwd', 'a//b', 'sysctl/./x', '/abs']) assert.ok(err.tool!.includes(`${p}: not a plain relative path`), p);
    assert.not.match(err.tool!, /frr\/frr\.conf: not a plain/);
  }
});

test('verify against the current release: an unchanged file is taken from the release, a changed one is read and checked', () => {
  const b = bundle('v1', 'verify-reuse');
  const rel = path.join(tmp, 'release-reuse');
  fs.cpSync(b, rel, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(rel, 'manifest.json'), 'utf8'));
  const reuse = { name: 'current', dir: rel, manifest };
  const good = fs.readFileSync(path.join(b, 'frr/frr.conf'));
  // The bundle's copy of a file the release holds unchanged is never read: the release's copy is what stage links.
  fs.appendFileSync(path.join(b, 'frr/frr.conf'), '! tampered\n');
  const v = verifyBundle(b, { reuse });
  assert.is(v.files.find((f) => f.path === 'frr/frr.conf')!.reused, path.join(rel, 'frr', 'frr.conf'));
  assert.equal(contentOf(v, 'frr/frr.conf'), good);
  // Should the release's copy be gone, the bundle's own is read then, and checked against the manifest.
  fs.rmSync(path.join(rel, 'frr/frr.conf'));
  assert.throws(() => contentOf(verifyBundle(b, { reuse }), 'frr/frr.conf'), (e: unknown) => e instanceof StepError && /frr\/frr\.conf: sha256 does not match/.test(e.message));
  // A file whose sha256 differs from the release's is read and hashed at verify, as without a release.
  manifest.files['frr/frr.conf'] = { ...manifest.files['frr/frr.conf'], sha256: '0'.repeat(64) };
  assert.throws(() => verifyBundle(b, { reuse }), (e: unknown) => e instanceof StepError && /frr\/frr\.conf: sha256 .* does not match/.test((e as StepError).tool ?? ''));
});

test('secrets: missing env, a group-readable file and a short PSK stop the apply, naming references, never values', () => {
  const root = fs.mkdtempSync(path.join(tmp, 'root-'));
  const host = { host: (p: string) => path.join(root, p) };
  fs.mkdirSync(path.join(root, 'etc/s2sgw/secrets'), { recursive: true });
  const secret = path.join(root, 'etc/s2sgw/secrets/woodgrove');
  fs.writeFileSync(secret, WOODGROVE_PSK, { mode: 0o640 });
  fs.chmodSync(secret, 0o640);
  const refs = fs.readFileSync(path.join(FIXTURES, 'apply/v1/swanctl/secrets.refs'), 'utf8');
  try {
    resolveSecrets(refs, { CONTOSO_PSK: 'too-short' }, host, FIXTURE_SCOPE);
    assert.unreachable();
  } catch (e) {
    const err = e as StepError;
    assert.is(err.step, 'secrets');
    assert.match(err.tool!, /env:CONTOSO_PSK \(psk of connection IfCe1, tenant contoso\): a PSK must be at least 20 characters/);
    assert.match(err.tool!, /file:\/etc\/s2sgw\/secrets\/woodgrove .*readable or writable by group or others \(mode 0640\)/);
    assert.not.match(err.tool! + err.message, /too-short|woodgrove-psk/);
  }
  try {
    resolveSecrets(refs, {}, host, FIXTURE_SCOPE);
    assert.unreachable();
  } catch (e) {
    assert.match((e as StepError).tool!, /env:CONTOSO_PSK .*: environment variable CONTOSO_PSK is not set/);
  }
  fs.chmodSync(secret, 0o600);
  const conf = resolveSecrets(refs, FIXTURE_ENV, host, FIXTURE_SCOPE);
  // base64 ("0s") so no byte of a secret can end the value; each connection's section is keyed by its name.
  assert.match(conf, /ike-IfCe1 \{\n {4}id-1 = "10\.99\.0\.1"\n {4}id-2 = "10\.99\.0\.2"\n {4}secret = "0s/);
  assert.ok(conf.includes(Buffer.from(WOODGROVE_PSK).toString('base64')));
});

test('apply v1 -> v2 -> v3 on real charon, FRR and nft: each switch reloads only what changed, removed connections lose their SAs', async () => {
  await withHost(async (sb) => {
    const a = await run(sb, bundle('v1'));
    assert.is(a.out.code, 0, a.out.error && describeError(a.out.error));
    let fp = fingerprint(sb);
    assert.is(fp.charon, 'IfCe1,IfWe1,IfWe2');
    assert.match(fp.nft, /iifname "IfWe2" counter accept/);
    assert.match(fp.frr, /vrf woodgrove\n ip route 10\.2\.0\.0\/16 blackhole 100/);
    assert.match(fp.tc, /dev IfWe2 root rate 1024Kbit/);
    assert.is(sb.sh('sysctl', ['-n', 'net.ipv4.ip_forward']).stdout.trim(), '1');
    // Release folder 0700, resolved secrets 0600 only there, never in a log.
    const rel = path.join(sb.root, 'var/lib/s2sgw/releases', fp.current);
    assert.is(fs.statSync(rel).mode & 0o777, 0o700);
    assert.is(fs.statSync(path.join(rel, 'swanctl/secrets.conf')).mode & 0o777, 0o600);
    const log = fs.readFileSync(path.join(sb.root, 'var/log/s2sgw/commands.log'), 'utf8');
    for (const s of [FIXTURE_ENV.CONTOSO_PSK, WOODGROVE_PSK, Buffer.from(WOODGROVE_PSK).toString('base64')]) {
      assert.not.ok(log.includes(s) || a.said.includes(s), 'a secret reached a log');
    }
    // The live files are the release's, written by rename.
    assert.is(fp['etc/frr/frr.conf'], fs.readFileSync(path.join(rel, 'frr/frr.conf'), 'utf8'));
    assert.match(fp['etc/swanctl/conf.d/s2sgw.conf'], /include .*\/var\/lib\/s2sgw\/current\/swanctl\/conf\.d\/\*\/\*\.conf/);

    const ikeBefore = sb.sh('swanctl', ['--list-conns', '--ike', 'IfCe1', '--uri', sb.vici]).stdout;
    const b = await run(sb, bundle('v2'));
    assert.is(b.out.code, 0, b.out.error && describeError(b.out.error));
    fp = fingerprint(sb);
    assert.is(fp.charon, 'IfCe1,IfWe1');
    assert.not.match(fp.nft, /IfWe2/);
    assert.match(fp.frr, /ip route 10\.2\.0\.0\/16 blackhole 50/);
    assert.is(sb.sh('swanctl', ['--list-conns', '--ike', 'IfCe1', '--uri', sb.vici]).stdout, ikeBefore);
    // The untouched tenant (contoso: VRF, network and connection) appears in no command the switch ran.
    const afterCheck = b.runner.log.filter((e) => e.step !== 'check' && e.step !== 'health');
    for (const e of afterCheck) assert.not.match(`${e.argv.join(' ')} ${e.input ?? ''}`, /contoso|IfCe1|IfCi1/, `${e.step}: ${e.argv.join(' ')}`);
    // The removed connection's SA is terminated; sysctl did not change, so it was not reloaded.
    assert.ok(b.runner.log.some((e) => e.step === 'reload-strongswan' && e.argv.includes('--terminate') && e.argv.includes('IfWe2')));
    assert.not.ok(b.runner.log.some((e) => e.step === 'reload-sysctl'));
    const tcInput = b.runner.log.find((e) => e.step === 'reload-tc')?.input ?? '';
    assert.is(tcInput, 'qdisc replace dev IfWe1 root tbf rate 1024kbit burst 16000 latency 50ms\n');

    const c = await run(sb, bundle('v3'));
    assert.is(c.out.code, 0, c.out.error && describeError(c.out.error));
    fp = fingerprint(sb);
    assert.is(fp.charon, 'IfCe1');
    assert.not.match(fp.frr, /woodgrove/);
    assert.ok(c.runner.log.some((e) => e.argv.includes('--terminate') && e.argv.includes('IfWe1')));

    // Same bundle again: nothing to do, no command after the checks.
    const d = await run(sb, bundle('v3', 'v3-again'));
    assert.is(d.out.code, 0);
    assert.match(d.said, /already applied/);
    assert.equal(d.runner.log.filter((e) => e.step !== 'check').length, 0);

    // rollback returns to v2.
    const r = await rollback(new Runner(sb.runner({ skip: SKIP })), { say: () => undefined });
    assert.is(r.code, 0, r.error && describeError(r.error));
    assert.is(fingerprint(sb).charon, 'IfCe1,IfWe1');
  });
});

test('a bundle whose nftables file nft -c rejects is refused before the host changes, mapped to the tenant line', async () => {
  await withHost(async (sb) => {
    assert.is((await run(sb, bundle('v1'))).out.code, 0);
    const before = fingerprint(sb);
    const bad = await run(sb, bundle('bad-nft'));
    assert.is(bad.out.code, 1);
    assert.is(bad.out.error!.step, 'check');
    assert.match(bad.out.error!.tool!, /nft -c rejected nftables\/s2sgw\.nft/);
    assert.match(bad.out.error!.where!, /tenant woodgrove, connection IfWe2 \(tenants\/woodgrove\.yaml:\d+\)/);
    assert.equal(fingerprint(sb), before);
    assert.not.ok(bad.runner.log.some((e) => e.step !== 'check'), 'nothing but the checks ran');
  });
});

test('--dry-run prints the ordered steps with their commands and changes nothing', async () => {
  await withHost(async (sb) => {
    const before = fingerprint(sb);
    const d = await run(sb, bundle('v1'), { dryRun: true });
    assert.is(d.out.code, 0, d.out.error && describeError(d.out.error));
    const order = ['switch', 'reload-sysctl', 'reload-links: skipped', 'reload-frr', 'reload-strongswan', 'reload-nftables', 'reload-tc', 'health'];
    let at = -1;
    for (const s of order) {
      const i = d.said.indexOf(`  ${s}`);
      assert.ok(i > at, `${s} in order in:\n${d.said}`);
      at = i;
    }
    // A first apply loads charon over VICI, pipelined (swanctl --load-all is for --full and recovery).
    assert.match(d.said, /vici --load-all --pipelined/);
    assert.match(d.said, /nft -f .*nftables\/s2sgw\.nft/);
    assert.equal(fingerprint(sb), before);
    assert.not.ok(fs.existsSync(path.join(sb.root, 'var/lib/s2sgw/releases')));
    assert.not.ok(fs.existsSync(path.join(sb.root, 'var/lib/s2sgw/baseline')));
  }, false);
});

/** Every path under `root` with its kind, mode and bytes (or link target): a dry run must leave it byte-identical. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const st = fs.lstatSync(p);
      const rel = path.relative(root, p);
      if (st.isSymbolicLink()) out.push(`${rel} -> ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/ ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else if (st.isSocket()) out.push(`${rel} socket`);
      else out.push(`${rel} ${(st.mode & 0o7777).toString(8)} ${require('node:crypto').createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(root);
  return out;
}

test('--dry-run leaves --root byte-identical (first apply and over a release, with the FRR checks): scratch files go to a temporary folder outside it', async () => {
  await withHost(async (sb) => {
    let before = tree(sb.root);
    const first = await run(sb, bundle('v2', 'v2-dry'), { dryRun: true });
    assert.is(first.out.code, 0, first.out.error && describeError(first.out.error));
    assert.ok(first.runner.log.some((e) => e.argv[0] === 'vtysh' && e.argv.includes('-C')), 'the dry run echoes the FRR check');
    assert.equal(tree(sb.root), before);
    assert.is((await run(sb, bundle('v1'))).out.code, 0);
    before = tree(sb.root);
    for (const full of [false, true]) {
      const d = await run(sb, bundle('v2', 'v2-dry'), { dryRun: true, full });
      assert.is(d.out.code, 0, d.out.error && describeError(d.out.error));
      assert.equal(tree(sb.root), before);
    }
    // The temporary folder is gone too.
    assert.not.ok(fs.readdirSync(os.tmpdir()).some((n) => n.startsWith('s2sgw-dry-run-')));
  });
});

test('a host whose frr.conf was empty or absent: a failed first apply rolls back to it, and so does a rollback to no release', async () => {
  for (const had of ['', undefined]) {
    await withHost(async (sb) => {
      const conf = path.join(sb.root, 'etc/frr/frr.conf');
      fs.mkdirSync(path.dirname(conf), { recursive: true });
      if (had !== undefined) fs.writeFileSync(conf, had);
      const frrBefore = fingerprint(sb).frr;
      const runner = new Runner({ ...sb.runner({ skip: SKIP }), faults: parseFaults('fail@reload-nftables') });
      const out = await apply(runner, { bundle: bundle('v1', `v1-frr-${had === undefined ? 'absent' : 'empty'}`), env: FIXTURE_ENV, say: () => undefined });
      assert.is(out.code, 1);
      assert.is(out.error!.message, 'nft -f nftables/s2sgw.nft exited 1', 'the rollback itself succeeded');
      assert.is(out.rolledBackTo, null);
      assert.is(fs.existsSync(conf) ? fs.readFileSync(conf, 'utf8') : undefined, had);
      assert.is(fingerprint(sb).frr, frrBefore);
      // Applied for real, then rolled back to no release: FRR holds none of the tenants' lines again.
      assert.is((await run(sb, bundle('v1'))).out.code, 0);
      assert.match(fingerprint(sb).frr, /vrf contoso/);
      const r = await rollback(new Runner(sb.runner({ skip: SKIP })), { say: () => undefined });
      assert.is(r.code, 0, r.error && describeError(r.error));
      assert.is(fs.existsSync(conf) ? fs.readFileSync(conf, 'utf8') : undefined, had);
      assert.is(fingerprint(sb).frr, frrBefore);
    });
  }
});

test('a full disk under the release folder stops apply at stage, leaving no partial release and an unchanged host', async () => {
  await withHost(async (sb) => {
    assert.is((await run(sb, bundle('v1'))).out.code, 0);
    const before = fingerprint(sb);
    const releases = path.join(sb.root, 'var/lib/s2sgw/releases');
    // A real full disk: a 64 KiB tmpfs over the releases folder (the v1 release stays reachable through `current` only by name, so move it in).
    const keep = fs.readdirSync(releases);
    const saved = path.join(sb.root, 'saved');
    fs.renameSync(releases, saved);
    fs.mkdirSync(releases);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', releases], { encoding: 'utf8' });
    assert.is(m.status, 0, `mount tmpfs: ${m.stderr}`);
    try {
      for (const k of keep) fs.cpSync(path.join(saved, k), path.join(releases, k), { recursive: true });
      const big = path.join(tmp, 'big');
      fixtureBundle(path.join(FIXTURES, 'apply', 'v2'), big);
      // Pad one file (and its manifest entry) so it cannot fit.
      const pad = 'x'.repeat(256 * 1024) + '\n';
      fs.appendFileSync(path.join(big, 'sysctl/90-s2sgw.conf'), `# ${pad}`);
      const man = JSON.parse(fs.readFileSync(path.join(big, 'manifest.json'), 'utf8'));
      man.files['sysctl/90-s2sgw.conf'].sha256 = require('node:crypto').createHash('sha256').update(fs.readFileSync(path.join(big, 'sysctl/90-s2sgw.conf'))).digest('hex');
      fs.writeFileSync(path.join(big, 'manifest.json'), JSON.stringify(man, null, 2) + '\n');
      const r = await run(sb, big);
      assert.is(r.out.code, 1);
      assert.is(r.out.error!.step, 'stage');
      assert.match(r.out.error!.message, /the disk is full/);
      assert.equal(fs.readdirSync(releases).sort(), keep.sort(), 'no partial release folder');
      assert.equal(fingerprint(sb), before);
      assert.not.ok(fs.existsSync(path.join(sb.root, 'var/lib/s2sgw/journal.json')));
    } finally {
      spawnSync('umount', [releases]);
    }
  }, false);
});

test('a secret that cannot be resolved stops apply before the host changes; the files staged meanwhile are removed', async () => {
  await withHost(async (sb) => {
    assert.is((await run(sb, bundle('v1'))).out.code, 0);
    const before = fingerprint(sb);
    const state = path.join(sb.root, 'var/lib/s2sgw');
    const listing = () => ['releases', 'shards'].map((d) => fs.readdirSync(path.join(state, d)).filter((x) => !x.startsWith('.trash-')).sort().join(' '));
    const had = listing();
    // v2 changes a connection file, so staging writes a new shard and a release folder while secrets resolve.
    const r = await run(sb, bundle('v2'), { env: {} });
    assert.is(r.out.code, 1);
    assert.is(r.out.error!.step, 'secrets');
    assert.equal(listing(), had, 'no staged release folder or shard left');
    assert.equal(fingerprint(sb), before);
  }, false);
});

test('the example repository, compiled by the real pipeline, applies to real charon, FRR and nft (devices and sysctls this kernel lacks skipped)', async () => {
  const r = compileDir(ROOT);
  assert.ok(r.ok, r.diagnostics.map((d) => d.message).join('\n'));
  const dir = path.join(tmp, 'example');
  writeTree(dir, r.bundles.find((b) => b.gateway === 'gw1')!.files);
  await withHost(async (sb) => {
    const env: NodeJS.ProcessEnv = {};
    for (const m of fs.readFileSync(path.join(dir, 'swanctl/secrets.refs'), 'utf8').matchAll(/ env:(\S+)/g)) env[m[1]] = `example-secret-for-${m[1]}`;
    const runner = new Runner(sb.runner({ skip: ['links', 'vrf', 'tc', 'sysctl'] }));
    const out = await apply(runner, { bundle: dir, env, say: () => undefined });
    assert.is(out.code, 0, out.error && describeError(out.error));
    const fp = fingerprint(sb);
    const want = Object.values(r.bundles[0].manifest.tenants).flatMap((t) => t.connections).sort().join(',');
    assert.is(fp.charon, want);
    assert.match(fp.nft, /table inet s2sgw/);
    assert.match(fp.frr, /router bgp \d+ vrf contoso/);
  });
});

test.run();
