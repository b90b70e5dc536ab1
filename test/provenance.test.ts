// Where a bundle comes from: build records the source commit (and whether the inputs differed from it) in the manifest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli, tempCopy } from './helpers';

function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'out/gw1/manifest.json'), 'utf8'));

test('build records the commit, clean or dirty, and the s2sgw version; same commit, same bytes; no repository: null', async () => {
  const dir = tempCopy(ROOT);
  // Not in a repository: the source is null.
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.is(manifestOf(dir).source, null);
  assert.match(manifestOf(dir).compiler, /^s2sgw \d+\.\d+\.\d+/);
  git(dir, 'init', '-q');
  fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'config');
  const head = git(dir, 'rev-parse', 'HEAD');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  const first = fs.readFileSync(path.join(dir, 'out/gw1/manifest.json'));
  assert.equal(manifestOf(dir).source, { commit: head, dirty: false });
  assert.is(manifestOf(dir).gateway, 'gw1');
  // Built again from the same commit: the same bytes.
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.ok(fs.readFileSync(path.join(dir, 'out/gw1/manifest.json')).equals(first));
  // A tenant edited (not committed) makes the source dirty; so does an untracked tenant file.
  const t = path.join(dir, 'tenants', fs.readdirSync(path.join(dir, 'tenants'))[0]);
  fs.appendFileSync(t, '# edited\n');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.equal(manifestOf(dir).source, { commit: head, dirty: true });
  git(dir, 'checkout', '-q', '--', 'tenants');
  fs.writeFileSync(path.join(dir, 'tenants', 'notes.txt'), 'x\n');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.equal(manifestOf(dir).source, { commit: head, dirty: true });
  fs.rmSync(path.join(dir, 'tenants', 'notes.txt'));
  // A config folder Git ignores is not the commit's either.
  fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\ntenants/\n');
  git(dir, 'rm', '-rq', '--cached', 'tenants');
  git(dir, 'commit', '-qam', 'ignore tenants');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.equal(manifestOf(dir).source, { commit: git(dir, 'rev-parse', 'HEAD'), dirty: true });
  fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'tenants back');
  // A lock this build changes is not the commit's lock either.
  fs.rmSync(path.join(dir, 'allocations.lock.yaml'));
  git(dir, 'commit', '-q', '-a', '-m', 'no lock');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  assert.equal(manifestOf(dir).source, { commit: git(dir, 'rev-parse', 'HEAD'), dirty: true });
});

test('plan shows where each side comes from: commits (dirty), and a built base bundle\'s signing key; the signature is no file diff', async () => {
  const dir = tempCopy(ROOT);
  git(dir, 'init', '-q');
  fs.writeFileSync(path.join(dir, '.gitignore'), 'out/\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'config');
  const head = git(dir, 'rev-parse', 'HEAD');
  assert.is((await cli(['build', '--config', dir])).code, 0);
  const key = path.join(dir, 'signing-key');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const signed = await cli(['sign', '--bundle', path.join(dir, 'out/gw1'), '--key', key], dir);
  assert.is(signed.code, 0, signed.err);
  assert.match(signed.err, new RegExp(`signed out/gw1/manifest\\.json \\(gateway gw1, commit ${head.slice(0, 12)}, s2sgw \\S+\\) with ED25519 SHA256:\\S+: wrote out/gw1/manifest\\.json\\.sig`));
  // What ssh-keygen -Y verify accepts against an allowed_signers file.
  const allowed = path.join(dir, 'allowed_signers');
  fs.writeFileSync(allowed, `ops@example.com ${fs.readFileSync(key + '.pub', 'utf8')}`);
  const v = spawnSync('ssh-keygen', ['-Y', 'verify', '-n', 's2sgw-bundle', '-I', 'ops@example.com', '-f', allowed, '-s', path.join(dir, 'out/gw1/manifest.json.sig')], { input: fs.readFileSync(path.join(dir, 'out/gw1/manifest.json')), encoding: 'utf8' });
  assert.is(v.status, 0, v.stderr);
  assert.match(v.stdout, /Good "s2sgw-bundle" signature for ops@example\.com/);
  fs.appendFileSync(path.join(dir, 'tenants', fs.readdirSync(path.join(dir, 'tenants'))[0]), '# edited\n');
  const r = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out'), '--format', 'json']);
  const plan = JSON.parse(r.out);
  const g = plan.gateways.find((x: { gateway: string }) => x.gateway === 'gw1');
  assert.equal(g.source.before, { commit: head, dirty: false, compiler: g.source.before.compiler, signedWith: g.source.before.signedWith });
  assert.match(g.source.before.signedWith, /^ED25519 SHA256:/);
  assert.equal(g.source.after, { commit: head, dirty: true, compiler: g.source.before.compiler });
  assert.not.ok(g.files.some((f: { path: string }) => f.path.startsWith('manifest')));
  const text = await cli(['plan', '--config', dir, '--against', path.join(dir, 'out')]);
  assert.match(text.out, new RegExp(`gateway gw1: unchanged\\n  commit ${head.slice(0, 12)}, signed with ED25519 SHA256:\\S+ -> ${head.slice(0, 12)} \\(dirty\\)`));
  // Against a Git ref: that commit.
  git(dir, 'commit', '-q', '-a', '-m', 'edit');
  const ref = JSON.parse((await cli(['plan', '--config', dir, '--against', 'HEAD~1', '--format', 'json'])).out);
  assert.equal(ref.gateways[0].source.before.commit, head);
  assert.equal(ref.gateways[0].source.after, { commit: git(dir, 'rev-parse', 'HEAD'), dirty: false, compiler: g.source.before.compiler });
});

test('sign refuses a bundle whose files do not match its manifest, and a key that is not there', async () => {
  const dir = tempCopy(ROOT);
  assert.is((await cli(['build', '--config', dir])).code, 0);
  const key = path.join(dir, 'k');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  fs.appendFileSync(path.join(dir, 'out/gw1/frr/frr.conf'), '! edited\n');
  const r = await cli(['sign', '--bundle', path.join(dir, 'out/gw1'), '--key', key]);
  assert.is(r.code, 1);
  assert.match(r.err, /s2sgw sign: not signed: step verify: the bundle in .* does not match its manifest[\s\S]*frr\/frr\.conf: sha256/);
  assert.not.ok(fs.existsSync(path.join(dir, 'out/gw1/manifest.json.sig')));
  const nokey = await cli(['sign', '--bundle', path.join(dir, 'out/gw1'), '--key', path.join(dir, 'nope')]);
  assert.is(nokey.code, 2);
  assert.match(nokey.err, /--key .*nope: no such file/);
});

test.run();
