// The host's checks before apply changes anything: the manifest's head, which gateway the host is, the signing key.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatManifest } from '../src/bundle/manifest';
import { layout } from '../src/apply/layout';
import { describeProvenance, hostGateway, manifestHead, recordGateway } from '../src/apply/trust';
import { signData, signatureKey } from '../src/apply/signature';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's2sgw-trust-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const base = { compiler: 's2sgw 0.1.0', gateway: 'gw1', gatewayDigest: 'd', tenants: {}, files: { 'a.conf': { sha256: 'x', mode: '0644' } } };

test('manifestHead reads gateway, source and compiler from the head, in any JSON layout; older manifests have no source', () => {
  const src = { commit: 'c'.repeat(40), dirty: true };
  assert.equal(manifestHead(Buffer.from(formatManifest({ ...base, source: src }))), { gateway: 'gw1', source: src, compiler: 's2sgw 0.1.0' });
  assert.equal(manifestHead(Buffer.from(formatManifest(base))), { gateway: 'gw1', source: null, compiler: 's2sgw 0.1.0' });
  assert.equal(manifestHead(Buffer.from(JSON.stringify({ compiler: 'old', gateway: 'g"2', tenants: {}, files: {} }, null, 2))), { gateway: 'g"2', source: undefined, compiler: 'old' });
  assert.equal(manifestHead(Buffer.from('not json')), { gateway: undefined, source: undefined, compiler: undefined });
  assert.is(describeProvenance({ gateway: 'gw1', source: undefined, signer: null }), 'gateway gw1, commit not recorded, compiler not recorded, unsigned');
  assert.is(describeProvenance({ gateway: 'gw1', source: null, compiler: 's2sgw 1', signer: null, key: 'ED25519 SHA256:k' }), 'gateway gw1, no commit (built outside Git), s2sgw 1, signature by ED25519 SHA256:k not checked');
});

test("the host's gateway: /etc/s2sgw/gateway, else the recorded name, else the current release's; recorded once, never over the operator's file", () => {
  const root = path.join(tmp, 'host');
  const host = (p: string) => path.join(root, p);
  const l = layout({ host });
  assert.is(hostGateway(l, host), undefined);
  // A host applied by an s2sgw that recorded no name: its current release says.
  fs.mkdirSync(path.join(l.releases, 'r1'), { recursive: true });
  fs.writeFileSync(path.join(l.releases, 'r1', 'manifest.json'), formatManifest({ ...base, gateway: 'gw9' }));
  fs.writeFileSync(l.stateFile, JSON.stringify({ current: 'r1', previous: null }));
  assert.equal(hostGateway(l, host), { name: 'gw9', from: 'its current release r1', rename: 'write the new name to /etc/s2sgw/gateway' });
  recordGateway(l, host, 'gw9');
  assert.is(fs.readFileSync(path.join(l.state, 'gateway'), 'utf8'), 'gw9\n');
  assert.is(hostGateway(l, host)!.name, 'gw9');
  assert.match(hostGateway(l, host)!.from, /^\/var\/lib\/s2sgw\/gateway, recorded by the host's first apply$/);
  fs.mkdirSync(host('/etc/s2sgw'), { recursive: true });
  fs.writeFileSync(host('/etc/s2sgw/gateway'), ' gw2\n');
  assert.equal(hostGateway(l, host), { name: 'gw2', from: '/etc/s2sgw/gateway', rename: 'change /etc/s2sgw/gateway' });
  recordGateway(l, host, 'gw2');
  assert.is(fs.readFileSync(path.join(l.state, 'gateway'), 'utf8'), 'gw9\n', 'the operator names the host: nothing recorded');
});

test("signatureKey reads the signing key's fingerprint from the signature as ssh-keygen -l prints it; not a signature: undefined", () => {
  for (const type of ['ed25519', 'ecdsa', 'rsa']) {
    const k = path.join(tmp, `key-${type}`);
    assert.is(spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', k]).status, 0);
    const sig = signData(Buffer.from('{}\n'), k);
    const l = spawnSync('ssh-keygen', ['-l', '-f', `${k}.pub`], { encoding: 'utf8' }).stdout;
    const [, fp, kind] = /^\d+ (SHA256:\S+) .*\((\w+)\)$/m.exec(l)!;
    assert.is(signatureKey(sig), `${kind} ${fp}`);
  }
  assert.is(signatureKey('-----BEGIN SSH SIGNATURE-----\nbm90IGEgc2lnbmF0dXJl\n-----END SSH SIGNATURE-----\n'), undefined);
  assert.is(signatureKey('hello'), undefined);
});

test.run();
