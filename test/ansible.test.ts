// The Ansible collection (ansible/): its sandbox rollout to three simulated gateways on this machine (each its own
// network namespace, charon, FRR and --root; ansible/examples/sandbox/setup.sh, started once for every case):
// check mode, waves, idempotence, a failed health gate rolled back, refused bundles; ansible-doc and the galaxy build.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers';
import { verifyBundle } from '../src/apply/release';

const SANDBOX = path.join(ROOT, 'ansible', 'examples', 'sandbox');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-ansible-test-'));
const state = path.join(tmp, 'sandbox');
const GATEWAYS = ['gw-a', 'gw-b', 'gw-c'];
const env = {
  ...process.env,
  S2SGW_SANDBOX: state,
  ANSIBLE_COLLECTIONS_PATH: path.join(state, 'collections'),
  ANSIBLE_CONFIG: path.join(SANDBOX, 'ansible.cfg'),
  ANSIBLE_PIPELINING: '1',
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_FORCE_COLOR: '0',
  ANSIBLE_LOCAL_TEMP: path.join(tmp, 'ansible-local'),
  ANSIBLE_REMOTE_TEMP: path.join(tmp, 'ansible-remote'),
};
const t0 = Date.now();
const timings: string[] = [];

function sh(cmd: string, args: string[], cwd = SANDBOX): { code: number; out: string } {
  const t = Date.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  timings.push(`${path.basename(cmd)} ${args.filter((a) => !a.startsWith('{')).slice(0, 3).join(' ')}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** ansible-playbook rollout.yml with the bundles of `bundles` (a folder under the sandbox's bundles/). */
function rollout(bundles: string, extra: string[] = [], vars: Record<string, unknown> = {}) {
  const r = sh('ansible-playbook', ['-i', 'inventory.yml', 'rollout.yml', ...extra, '-e', JSON.stringify({ s2sgw_bundles: path.join(state, 'bundles', bundles), ...vars })]);
  const recap: Record<string, { ok: number; changed: number; failed: number }> = {};
  for (const m of r.out.matchAll(/^(gw-\w)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/gm)) recap[m[1]] = { ok: Number(m[2]), changed: Number(m[3]), failed: Number(m[4]) };
  return { ...r, recap };
}

const read = (p: string) => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '(absent)';
  }
};
/** What a host runs: its state file (release), a pending confirm, its live files, the connections charon holds. */
function host(g: string) {
  const root = path.join(state, g, 'root');
  const ns = read(path.join(state, g, 'netns')).trim();
  const conns = spawnSync('ip', ['netns', 'exec', ns, 'swanctl', '--list-conns', '--uri', `unix://${root}/run/charon.vici`], { encoding: 'utf8' }).stdout;
  return {
    release: read(path.join(root, 'var/lib/s2sgw/state.json')) === '(absent)' ? null : (JSON.parse(read(path.join(root, 'var/lib/s2sgw/state.json'))).current as string),
    pending: read(path.join(root, 'var/lib/s2sgw/pending-confirm.json')),
    frr: read(path.join(root, 'etc/frr/frr.conf')),
    swanctl: read(path.join(root, 'etc/swanctl/conf.d/s2sgw.conf')),
    conns: [...conns.matchAll(/^(\S+): IKEv/gm)].map((m) => m[1]).sort().join(','),
  };
}
const hosts = () => Object.fromEntries(GATEWAYS.map((g) => [g, host(g)]));
const release = (v: string, g: string) => verifyBundle(path.join(state, 'bundles', v, g), { allowExtra: ['manifest.json.sig'] }).digest;

test.before(() => {
  // uvu does not print a failed hook's error: say it here, so a broken sandbox is not a silent 0 / 7.
  try {
    const r = sh('bash', [path.join(SANDBOX, 'setup.sh')]);
    assert.is(r.code, 0, r.out);
    for (const g of GATEWAYS) assert.is(host(g).release, release('v1', g), `${g} starts on v1`);
  } catch (e) {
    process.stderr.write(`ansible.test: the sandbox did not start: ${(e as Error).message}\n`);
    throw e;
  }
});
test.after(() => {
  sh('bash', [path.join(SANDBOX, 'teardown.sh')]);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(`\nansible.test: ${((Date.now() - t0) / 1000).toFixed(1)} s in all\n  ${timings.join('\n  ')}\n`);
});

test('install role: /etc/s2sgw with the secrets folder 0700 and its files 0600, the host identity, the trusted signers', () => {
  for (const g of GATEWAYS) {
    const etc = path.join(state, g, 'root', 'etc', 's2sgw');
    assert.is(fs.statSync(path.join(etc, 'secrets')).mode & 0o777, 0o700);
    assert.is(fs.statSync(path.join(etc, 'secrets', 'woodgrove')).mode & 0o777, 0o600);
    assert.is(read(path.join(etc, 'gateway')), `${g}\n`);
    assert.match(read(path.join(etc, 'allowed_signers')), /^ci@sandbox namespaces="s2sgw-bundle" ssh-ed25519 \S+/);
  }
});

test('--check --diff shows each host its change (per tenant) and changes nothing', () => {
  const before = hosts();
  const r = rollout('v2', ['--check', '--diff']);
  assert.is(r.code, 0, r.out);
  for (const g of GATEWAYS) assert.equal(r.recap[g], { ...r.recap[g], changed: 1, failed: 0 }, `${g}: ${JSON.stringify(r.recap)}`);
  // v1 -> v2 drops woodgrove's IfWe2: each host's diff says so, under the tenant's header.
  assert.is([...r.out.matchAll(/^\+\+\+ after: tenant woodgrove \(bundle [0-9a-f]{12}, changed\)$/gm)].length, 3, r.out);
  assert.is([...r.out.matchAll(/^-      IfWe2 \{$/gm)].length, 3);
  assert.equal(hosts(), before);
});

test('a real run changes every host, one wave after another, and confirms each', () => {
  const r = rollout('v2');
  assert.is(r.code, 0, r.out);
  for (const g of GATEWAYS) {
    assert.ok(r.recap[g].changed >= 1, g);
    const h = host(g);
    assert.is(h.release, release('v2', g), g);
    assert.is(h.pending, '(absent)', `${g} confirmed`);
    assert.is(h.conns, 'IfCe1,IfWe1');
  }
  // Three batches (serial 1, 50%, rest), each one host, in inventory order: gw-a's apply and confirm before gw-b's play starts.
  const plays = r.out.split(/^PLAY RECAP/m)[0].split(/^PLAY \[Roll out s2sgw bundles\]/m).slice(1);
  assert.is(plays.length, 3);
  plays.forEach((p, i) => {
    assert.match(p, new RegExp(`TASK \\[s2sgw\\.gateway\\.rollout : Apply the bundle \\(to be confirmed\\)\\][^\\n]*\\n+changed: \\[${GATEWAYS[i]}\\]`));
    assert.match(p, new RegExp(`Confirm the release\\][^\\n]*\\n+changed: \\[${GATEWAYS[i]}\\]`));
    for (const other of GATEWAYS.filter((_, j) => j !== i)) assert.not.ok(p.includes(`[${other}]`), `${other} in wave ${i}`);
  });
});

test('a second real run reports no change, and so does check mode after it', () => {
  const before = hosts();
  for (const extra of [[], ['--check', '--diff']]) {
    const r = rollout('v2', extra);
    assert.is(r.code, 0, r.out);
    for (const g of GATEWAYS) assert.equal(r.recap[g], { ...r.recap[g], changed: 0, failed: 0 }, `${extra.join(' ')} ${g}: ${JSON.stringify(r.recap)}`);
  }
  assert.equal(hosts(), before);
});

test('a failed health gate rolls that host back and stops the rollout before the next wave', () => {
  const ns = read(path.join(state, 'gw-b', 'netns')).trim();
  // The fault: after gw-b's apply, someone loads charon's connections from an empty file, so contoso's IfCe1 (loaded
  // before the apply) is gone: the gate must see it. (swanctl --load-conns unloads what the file does not hold.)
  const empty = path.join(tmp, 'empty-swanctl.conf');
  fs.writeFileSync(empty, '');
  const fault = ['ip', 'netns', 'exec', ns, 'swanctl', '--load-conns', '--file', empty, '--uri', `unix://${path.join(state, 'gw-b', 'root', 'run', 'charon.vici')}`];
  const r = rollout('v3', [], { s2sgw_inject_fault_host: 'gw-b', s2sgw_inject_fault_command: fault });
  assert.is.not(r.code, 0, r.out);
  assert.match(r.out, /health gate failed on gw-b: healthy before, not now: connection:IfCe1/, r.out);
  assert.match(r.out, new RegExp(`rolled back to release ${release('v2', 'gw-b').slice(0, 12)}`));
  assert.is(host('gw-a').release, release('v3', 'gw-a'), 'the canary went ahead');
  assert.is(host('gw-b').release, release('v2', 'gw-b'), 'gw-b rolled back');
  assert.is(host('gw-b').pending, '(absent)');
  assert.is(host('gw-c').release, release('v2', 'gw-c'), 'the next wave stays on the old release');
  // Only the wave check (before the rollout's plays) saw gw-c.
  const rollouts = r.out.split(/^PLAY RECAP/m)[0].split(/^PLAY \[Roll out s2sgw bundles\]/m).slice(1);
  assert.is(rollouts.length, 2, 'two waves ran');
  assert.not.ok(rollouts.join('').includes('[gw-c]'), 'gw-c never started');
  assert.equal(r.recap['gw-b'], { ...r.recap['gw-b'], failed: 1 });
});

test('a bundle for the wrong gateway or with a bad signature fails on that host before any change', () => {
  const bad = path.join(state, 'bundles', 'bad');
  fs.mkdirSync(bad);
  // gw-a gets gw-b's bundle (signed, but for another gateway); gw-b its own, signed by a key it does not trust.
  assert.is(spawnSync('tar', ['-C', path.join(state, 'bundles', 'v3'), '-czf', path.join(bad, 'gw-a.tar.gz'), 'gw-b']).status, 0);
  fs.cpSync(path.join(state, 'bundles', 'v3', 'gw-b'), path.join(bad, 'gw-b'), { recursive: true });
  fs.rmSync(path.join(bad, 'gw-b', 'manifest.json.sig'));
  const key = path.join(tmp, 'stranger');
  assert.is(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', key]).status, 0);
  const s = sh(process.execPath, [path.join(ROOT, 'bin', 's2sgw.js'), 'sign', '--bundle', path.join(bad, 'gw-b'), '--key', key]);
  assert.is(s.code, 0, s.out);
  assert.is(spawnSync('tar', ['-C', bad, '-czf', path.join(bad, 'gw-b.tar.gz'), 'gw-b']).status, 0);
  const before = hosts();
  const r = rollout('bad', ['--limit', 'gw-a,gw-b'], { s2sgw_waves: ['100%'] });
  assert.is.not(r.code, 0, r.out);
  assert.equal(r.recap['gw-a'], { ...r.recap['gw-a'], changed: 0, failed: 1 });
  assert.equal(r.recap['gw-b'], { ...r.recap['gw-b'], changed: 0, failed: 1 });
  // s2sgw's own words, no Python traceback.
  assert.match(r.out, /step gateway: the bundle in \S+ was built for gateway gw-b, but this host is gw-a \(from --gateway\); refused, nothing was changed/);
  assert.match(r.out, /step signature: [^\n]*a key \S*\/etc\/s2sgw\/allowed_signers does not trust/);
  assert.not.match(r.out, /Traceback/);
  assert.equal(hosts(), before);
});

/** A bundles folder like v3, but each gateway's manifest with the rollout wave `waves[g]` (no wave when null). */
function bundlesWithWaves(name: string, waves: Record<string, number | null>): void {
  const dir = path.join(state, 'bundles', name);
  for (const g of GATEWAYS) {
    fs.cpSync(path.join(state, 'bundles', 'v3', g), path.join(dir, g), { recursive: true });
    const file = path.join(dir, g, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (waves[g] === null) delete m.rollout;
    else m.rollout = { wave: waves[g] };
    fs.writeFileSync(file, JSON.stringify(m, null, 2) + '\n');
    assert.is(spawnSync('tar', ['-C', dir, '-czf', path.join(dir, `${g}.tar.gz`), g]).status, 0);
  }
}

test("an inventory wave that is not the gateway file's (the bundle's rollout.wave) stops the rollout before any host changes", () => {
  assert.match(read(path.join(state, 'bundles', 'v3', 'gw-b', 'manifest.json')), /"rollout": \{\s*"wave": 1\s*\}/, 'the sandbox bundles carry their wave');
  bundlesWithWaves('wave-mismatch', { 'gw-a': 0, 'gw-b': 2, 'gw-c': 2 });
  const before = hosts();
  const r = rollout('wave-mismatch');
  assert.is.not(r.code, 0, r.out);
  assert.match(r.out, /gw-b: the inventory puts it in wave 1 \(s2sgw_wave\), but the gateway file of gw-b says rollout\.wave 2 \(its bundle's manifest\.json\); make them agree\. Nothing was applied\./, r.out);
  assert.not.match(r.out, /PLAY \[Roll out s2sgw bundles\]/, 'no host was rolled out');
  assert.equal(hosts(), before);
});

test("hosts without s2sgw_wave take the gateway file's wave (from the bundle) for the order check", () => {
  // The inventory without s2sgw_wave; the bundles say gw-b is in wave 2 and gw-c in wave 1: listed out of order.
  const inventory = path.join(tmp, 'inventory-no-waves.yml');
  fs.writeFileSync(inventory, read(path.join(SANDBOX, 'inventory.yml')).replace(/^ {6}s2sgw_wave: \d+\n/gm, ''));
  assert.not.match(read(inventory), /s2sgw_wave:/);
  bundlesWithWaves('wave-order', { 'gw-a': 0, 'gw-b': 2, 'gw-c': 1 });
  const before = hosts();
  const run = (bundles: string) => sh('ansible-playbook', ['-i', inventory, 'rollout.yml', '--check', '-e', JSON.stringify({ s2sgw_bundles: path.join(state, 'bundles', bundles) })]);
  const r = run('wave-order');
  assert.is.not(r.code, 0, r.out);
  assert.match(r.out, /hosts must be listed in wave order \(s2sgw_wave, else the gateway file's rollout\.wave\): \[\('gw-a', 0\), \('gw-b', 2\), \('gw-c', 1\)\]/, r.out);
  assert.not.match(r.out, /PLAY \[Roll out s2sgw bundles\]/);
  // The sandbox's own bundles (waves 0, 1, 2) pass the same check; the check-mode rollout then runs.
  const ok = run('v3');
  assert.is(ok.code, 0, ok.out);
  assert.equal(hosts(), before);
});

test('ansible-lint (production profile) passes over the collection', () => {
  const r = sh('bash', [path.join(ROOT, 'ansible', 'lint.sh')], path.join(ROOT, 'ansible'));
  assert.is(r.code, 0, r.out);
  assert.match(r.out.replace(/\x1b\[[0-9;]*m/g, ''), /Passed with production profile/);
});

test('ansible-doc documents every module; ansible-galaxy builds the collection', () => {
  for (const m of ['apply', 'status', 'confirm', 'rollback', 'bundle_info']) {
    const r = sh('ansible-doc', [`s2sgw.gateway.${m}`]);
    assert.is(r.code, 0, r.out);
    assert.match(r.out, /EXAMPLES:/);
    assert.match(r.out, /RETURN VALUES:/);
  }
  const out = path.join(tmp, 'galaxy');
  const r = sh('ansible-galaxy', ['collection', 'build', path.join(ROOT, 'ansible'), '--output-path', out]);
  assert.is(r.code, 0, r.out);
  const version = /^version: (\S+)$/m.exec(fs.readFileSync(path.join(ROOT, 'ansible', 'galaxy.yml'), 'utf8'))![1];
  const tarball = path.join(out, `s2sgw-gateway-${version}.tar.gz`);
  const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
  for (const f of ['MANIFEST.json', 'FILES.json', 'plugins/modules/apply.py', 'plugins/modules/status.py', 'plugins/modules/bundle_info.py', 'roles/rollout/tasks/wave.yml', 'roles/rollout/tasks/main.yml', 'roles/install/tasks/main.yml', 'playbooks/rollout.yml']) {
    assert.ok(list.includes(f), `${f} in ${tarball}`);
  }
  assert.not.ok(list.some((f) => f.startsWith('examples/sandbox/state')), 'no sandbox state in the collection');
});

test.run();
